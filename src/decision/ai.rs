//! Applying an AI review to the gates' decision. The gates are the floor: the model can raise
//! the risk, lower or raise the confidence the thresholds see, and add findings, but the
//! result is never less strict than what the gates alone proposed.
//!
//! - risk = max(gate risk, AI risk); confidence = the AI's (ThothCTL's `confidence_min` then
//!   means "the AI must be this confident");
//! - the thresholds are applied to that risk and confidence, and the stricter of that and the
//!   gates' proposal is proposed;
//! - AI findings of high or critical severity ask for changes only when the server opts in
//!   (`[ai] ai_findings_block = true`).

use super::config::DecisionConfig;
use super::{Decision, DecisionKind};
use crate::ai::AiAnswer;
use crate::finding::Severity;

/// How strict a proposal is: approve < comment < request changes < reject.
fn strictness(k: DecisionKind) -> u8 {
    match k {
        DecisionKind::Approve => 0,
        DecisionKind::Comment => 1,
        DecisionKind::RequestChanges => 2,
        DecisionKind::Reject => 3,
    }
}

/// Whether the answer has findings that block under `ai_findings_block`.
pub fn blocking_findings(ai: &AiAnswer) -> usize {
    ai.findings
        .iter()
        .filter(|f| matches!(f.severity, Severity::Critical | Severity::High))
        .count()
}

/// The decision after the AI review. `gates` is the engine's decision on the gate findings.
pub fn tighten(
    gates: Decision,
    ai: &AiAnswer,
    cfg: &DecisionConfig,
    ai_findings_block: bool,
) -> Decision {
    let risk = gates.risk.max(ai.risk_score.min(100));
    let confidence = ai.confidence.clamp(0.0, 1.0);
    let (approve, reject) = (&cfg.approve_thresholds, &cfg.reject_thresholds);
    let mut reasons = Vec::new();
    let mut ai_kind = if risk >= reject.risk_score_min && confidence >= reject.confidence_min {
        reasons.push(format!(
            "AI review: risk score {risk} >= reject threshold {} (AI confidence {confidence:.2} >= {:.2})",
            reject.risk_score_min, reject.confidence_min
        ));
        DecisionKind::Reject
    } else if risk <= approve.risk_score_max && confidence >= approve.confidence_min {
        DecisionKind::Approve
    } else {
        if risk > approve.risk_score_max {
            reasons.push(format!(
                "AI review: risk score {risk} > approve limit {}",
                approve.risk_score_max
            ));
        }
        if confidence < approve.confidence_min {
            reasons.push(format!(
                "AI review: confidence {confidence:.2} < approve minimum {:.2}",
                approve.confidence_min
            ));
        }
        DecisionKind::RequestChanges
    };
    let blocking = blocking_findings(ai);
    if ai_findings_block && blocking > 0 && strictness(ai_kind) < 2 {
        reasons.push(format!(
            "AI review: {blocking} high or critical AI finding(s) (ai_findings_block is on)"
        ));
        ai_kind = DecisionKind::RequestChanges;
    }
    let proposed = if strictness(ai_kind) > strictness(gates.proposed) {
        ai_kind
    } else {
        gates.proposed
    };
    let mut all = gates.reasons;
    if proposed != gates.proposed {
        // The deciding reasons first.
        let mut first = reasons;
        first.append(&mut all);
        all = first;
    }
    all.push(format!(
        "AI review: risk {}/100, confidence {confidence:.2}, {} finding(s); decision risk is the larger of gates ({}) and AI",
        ai.risk_score,
        ai.findings.len(),
        gates.risk
    ));
    Decision {
        kind: proposed,
        proposed,
        risk,
        confidence,
        reasons: all,
        downgrade: None,
        ..gates
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ai::AiFinding;
    use crate::decision::evaluate;
    use crate::finding::{CheckReport, Finding, Gate, GateReport, Level};

    fn answer(risk: u8, confidence: f64, severities: &[Severity]) -> AiAnswer {
        AiAnswer {
            risk_score: risk,
            confidence,
            findings: severities
                .iter()
                .map(|s| AiFinding {
                    file: "main.tf".into(),
                    line: Some(1),
                    severity: *s,
                    title: "t".into(),
                    explanation: "e".into(),
                })
                .collect(),
            recommendations: vec![],
            fixes: vec![],
        }
    }

    fn clean() -> Decision {
        evaluate(
            &CheckReport::new(
                Gate::ALL
                    .iter()
                    .map(|g| GateReport::new(*g, 1, vec![]))
                    .collect(),
            ),
            &DecisionConfig::default(),
        )
    }

    fn failing() -> Decision {
        let f = Finding::new(Gate::Rego, "R", Level::Failure, Severity::Medium, "m");
        let mut gates: Vec<GateReport> = Gate::ALL
            .iter()
            .map(|g| GateReport::new(*g, 1, vec![]))
            .collect();
        gates[1] = GateReport::new(gates[1].gate, 1, vec![f.clone(), f.clone(), f.clone()]);
        evaluate(&CheckReport::new(gates), &DecisionConfig::default())
    }

    #[test]
    fn an_approving_model_never_loosens_the_gates() {
        let cfg = DecisionConfig::default();
        let gates = failing();
        assert_eq!(gates.proposed, DecisionKind::RequestChanges);
        let d = tighten(gates.clone(), &answer(0, 1.0, &[]), &cfg, false);
        assert_eq!(d.proposed, DecisionKind::RequestChanges);
        assert_eq!(d.risk, gates.risk);
    }

    #[test]
    fn the_model_raises_risk_and_its_confidence_counts() {
        let cfg = DecisionConfig::default();
        assert_eq!(clean().proposed, DecisionKind::Approve);
        let d = tighten(clean(), &answer(90, 0.9, &[]), &cfg, false);
        assert_eq!((d.proposed, d.risk), (DecisionKind::Reject, 90));
        let d = tighten(clean(), &answer(5, 0.5, &[]), &cfg, false);
        assert_eq!(d.proposed, DecisionKind::RequestChanges);
        assert!(d.reasons[0].contains("confidence 0.50"), "{:?}", d.reasons);
        let d = tighten(clean(), &answer(5, 0.95, &[]), &cfg, false);
        assert_eq!((d.proposed, d.confidence), (DecisionKind::Approve, 0.95));
    }

    #[test]
    fn ai_findings_block_only_when_opted_in() {
        let cfg = DecisionConfig::default();
        let a = answer(5, 0.95, &[Severity::High, Severity::Low]);
        assert_eq!(
            tighten(clean(), &a, &cfg, false).proposed,
            DecisionKind::Approve
        );
        assert_eq!(
            tighten(clean(), &a, &cfg, true).proposed,
            DecisionKind::RequestChanges
        );
        let low = answer(5, 0.95, &[Severity::Low]);
        assert_eq!(
            tighten(clean(), &low, &cfg, true).proposed,
            DecisionKind::Approve
        );
    }
}
