//! Blocking patterns: which configured pattern (`hardcoded_secrets`, `public_s3_buckets`, ...) a
//! failing finding stands for, from its `pattern` metadata, its rule id, or a keyword table.

use crate::finding::Finding;

/// Keyword fallback from rule-id words to blocking patterns: the rule id's words (split on
/// separators and camelCase, lowercased) must contain one word of every space-separated group.
/// Deliberately conservative (`secret` alone is not enough: `kms_secret_rotation`), because a
/// match rejects the pull request.
pub const KEYWORD_PATTERNS: &[(&str, &[&str])] = &[
    (
        "hardcoded_secrets",
        &[
            "hardcoded hardcode plaintext cleartext exposed leaked embedded detected",
            "secret secrets password passwords passwd credential credentials token tokens apikey \
             key keys",
        ],
    ),
    ("public_s3_buckets", &["s3 bucket buckets", "public"]),
    (
        "unencrypted_databases",
        &[
            "unencrypted encryption encrypted encrypt",
            "db database databases rds aurora dynamodb redshift docdb documentdb neptune sql \
             mysql postgres postgresql",
        ],
    ),
    (
        "overly_permissive_iam",
        &[
            "iam rbac",
            "wildcard star admin administrator permissive overly privileged full",
        ],
    ),
    (
        "unrestricted_security_groups",
        &[
            "sg security ingress nsg firewall",
            "unrestricted open world anywhere",
        ],
    ),
    (
        "admin_access_keys",
        &["admin root", "accesskey accesskeys key keys"],
    ),
];

/// The configured blocking pattern a finding maps to, if any (see the module doc).
pub fn blocking_pattern<'a>(f: &Finding, patterns: &'a [String]) -> Option<&'a str> {
    if !f.level.is_blocking() {
        return None;
    }
    if let Some(p) = &f.pattern {
        let p = compact(p);
        return patterns
            .iter()
            .find(|c| compact(c) == p)
            .map(String::as_str);
    }
    let rule = compact(&f.rule_id);
    if let Some(p) = patterns.iter().find(|p| {
        let p = compact(p);
        !p.is_empty() && rule.contains(&p)
    }) {
        return Some(p);
    }
    let words = words(&f.rule_id);
    KEYWORD_PATTERNS
        .iter()
        .filter(|(_, groups)| {
            groups.iter().all(|group| {
                group
                    .split_whitespace()
                    .any(|w| words.iter().any(|x| x == w))
            })
        })
        .find_map(|(name, _)| {
            patterns
                .iter()
                .find(|p| compact(p) == compact(name))
                .map(String::as_str)
        })
}

/// Lowercase alphanumerics only: `Public-S3_Buckets` => `publics3buckets`.
fn compact(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Lowercase words split on non-alphanumerics and camelCase humps: `denyPublic_s3` =>
/// `[deny, public, s3]`.
pub(super) fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in s.chars() {
        if (!c.is_alphanumeric() || (c.is_uppercase() && prev_lower)) && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        if c.is_alphanumeric() {
            cur.extend(c.to_lowercase());
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}
