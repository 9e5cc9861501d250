//! The Rego gate over policy levels: one [`PolicySet`] (engine and `data` tree) per input
//! format, each loaded from the sources of every level that judge that format, so `hcl/` and
//! `cloudformation/` policies and their `config.yaml` never meet. Formats whose sources are the
//! same share one set; each input document is evaluated by exactly one set.

use std::collections::BTreeSet;

use super::levels::{PolicyLevel, sources_for};
use super::policy::{LoadOptions, PackageRules, PolicySet, PolicySource};
use crate::finding::{Finding, Gate, GateReport};
use crate::inputs::{InputDoc, InputFormat, Inputs};

/// The policy sets of a run, one per distinct list of sources.
#[derive(Debug, Clone)]
pub struct LayeredPolicies {
    /// The loaded sets.
    pub sets: Vec<PolicySet>,
    /// Index into `sets` of the set judging each format of [`InputFormat::ALL`].
    route: [usize; 3],
}

impl LayeredPolicies {
    /// Loads `levels` (in resolution order) into one set per input format. Never fails:
    /// problems are error findings of the sets.
    pub fn load(levels: &[PolicyLevel], opts: &LoadOptions) -> Self {
        // Which (level, folder) pairs each format sees: equal lists share one set.
        let key = |format: InputFormat| -> Vec<(usize, Option<&'static str>)> {
            levels
                .iter()
                .enumerate()
                .filter(|(_, l)| l.source_for(format).is_some())
                .map(|(i, l)| {
                    (
                        i,
                        format.folder().filter(|_| !l.format_folders().is_empty()),
                    )
                })
                .collect()
        };
        let mut keys: Vec<Vec<(usize, Option<&'static str>)>> = Vec::new();
        let mut sets = Vec::new();
        let mut route = [0; 3];
        for (n, format) in InputFormat::ALL.into_iter().enumerate() {
            let k = key(format);
            route[n] = match keys.iter().position(|existing| *existing == k) {
                Some(i) => i,
                None => {
                    keys.push(k);
                    sets.push(PolicySet::load(&sources_for(levels, format), opts.clone()));
                    sets.len() - 1
                }
            };
        }
        LayeredPolicies { sets, route }
    }

    /// The set judging inputs of `format`.
    pub fn for_format(&self, format: InputFormat) -> &PolicySet {
        &self.sets[self.set_index(format)]
    }

    fn set_index(&self, format: InputFormat) -> usize {
        let n = InputFormat::ALL
            .iter()
            .position(|f| *f == format)
            .unwrap_or(0);
        self.route[n]
    }

    /// Broken policies and data of every set, each once (a level shared by several sets
    /// reports its problems once).
    pub fn errors(&self) -> Vec<Finding> {
        dedup(self.sets.iter().flat_map(|s| s.errors.iter()))
    }

    /// Policies that can never report anything, each once.
    pub fn warnings(&self) -> Vec<Finding> {
        dedup(self.sets.iter().flat_map(|s| s.warnings.iter()))
    }

    /// Keeps only the packages `keep` accepts, in every set.
    pub fn retain_packages(&mut self, keep: impl Fn(&PackageRules) -> bool) {
        for s in &mut self.sets {
            s.packages.retain(|p| keep(p));
        }
    }

    /// The packages with reported rules that will run, over all sets (`x.y`, sorted).
    pub fn namespaces(&self) -> Vec<String> {
        self.sets
            .iter()
            .flat_map(|s| s.packages.iter())
            .filter(|p| !p.rules.is_empty())
            .map(|p| p.package.trim_start_matches("data.").to_string())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// Each level that loaded policies, named with its rule count (`org shared (3 rules)`): the
    /// distinct `deny` / `warn` / `violation` rule names of each of its files, summed.
    pub fn policy_sets(&self, levels: &[PolicyLevel]) -> Vec<String> {
        let mut files: Vec<&super::policy::PolicyFile> = Vec::new();
        for f in self.sets.iter().flat_map(|s| s.files.iter()) {
            if !files.iter().any(|seen| seen.path == f.path) {
                files.push(f);
            }
        }
        levels
            .iter()
            .filter_map(|level| {
                let prefix = match &level.source {
                    PolicySource::Embedded(_) => "builtin:".to_string(),
                    PolicySource::Dir { label, .. } => format!("{}/", label.trim_end_matches('/')),
                    PolicySource::Data { .. } => return None,
                };
                let rules: usize = files
                    .iter()
                    .filter(|f| f.path.starts_with(&prefix))
                    .map(|f| super::policy::rule_heads(&f.source).0.len())
                    .sum();
                let plural = if rules == 1 { "rule" } else { "rules" };
                Some(format!("{} ({rules} {plural})", level.name()))
            })
            .collect()
    }

    /// Runs every set over the documents of its formats. `inputs.errors` (parse errors) are
    /// reported too. Any broken policy fails the whole gate closed, as one set would.
    pub fn run(&self, inputs: &Inputs) -> GateReport {
        let errors = self.errors();
        let mut findings = errors.clone();
        findings.extend(self.warnings());
        findings.extend(inputs.errors.iter().cloned());
        let mut checked = 0;
        for (i, set) in self.sets.iter().enumerate() {
            let docs: Vec<&InputDoc> = inputs
                .docs
                .iter()
                .filter(|d| self.set_index(d.format()) == i)
                .collect();
            checked += docs.len() * set.packages.len();
            if errors.is_empty() && !set.packages.is_empty() && !docs.is_empty() {
                tracing::debug!(set = i, docs = docs.len(), "evaluating policy set");
                findings.extend(super::evaluate_all(set, &docs));
            }
        }
        GateReport::new(Gate::Rego, checked, findings)
    }
}

fn dedup<'a>(all: impl Iterator<Item = &'a Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for f in all {
        if !out.contains(f) {
            out.push(f.clone());
        }
    }
    out
}
