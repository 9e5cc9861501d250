//! The one reply a comment gets: every command's result in order, under hidden markers.
//!
//! The reply's own marker hashes the markers of the commands it answers, so a retried job finds
//! its reply again (and a later edit with other commands gets a new one). Each answered
//! command's marker is listed at the top, before any text that a length cap could cut, so
//! Azure DevOps (whose edit deliveries repeat every command) can tell which already ran.

use sha2::{Digest, Sha256};

use crate::command::{MAX_COMMANDS, ParsedLine};

/// GitHub refuses comments over 65,536 characters; Azure DevOps allows more.
const MAX_REPLY_BYTES: usize = 60_000;

/// One command's result (or a note about the comment as a whole).
pub(super) struct Section {
    /// The command's hidden marker, `None` for notes.
    pub marker: Option<String>,
    pub text: String,
    /// Whether this result must be posted; `false` when a reaction already said it.
    pub needs_reply: bool,
}

/// The reply's marker and body, or `None` when no result needs a reply.
pub(super) fn compose(reply_key: &str, sections: &[Section]) -> Option<(String, String)> {
    if !sections.iter().any(|s| s.needs_reply) {
        return None;
    }
    let markers: Vec<&str> = sections
        .iter()
        .filter_map(|s| s.marker.as_deref())
        .collect();
    let mut hasher = Sha256::new();
    for m in &markers {
        hasher.update(m.as_bytes());
        hasher.update(b"\n");
    }
    for s in sections.iter().filter(|s| s.marker.is_none()) {
        hasher.update(s.text.as_bytes());
    }
    let hash = hasher.finalize();
    let short: String = hash[..6].iter().map(|b| format!("{b:02x}")).collect();
    let marker = format!("<!-- thoth-bot:reply:{reply_key}:{short} -->");
    let mut body = format!("{marker}\n{}\n", markers.join(""));
    let texts: Vec<&str> = sections.iter().map(|s| s.text.as_str()).collect();
    body.push_str(&texts.join("\n\n---\n\n"));
    Some((marker, crate::forge::cap_markdown(body, MAX_REPLY_BYTES)))
}

/// The note for commands beyond [`MAX_COMMANDS`].
pub(super) fn over_limit(refused: &[ParsedLine]) -> String {
    let mut out = format!(
        "A comment runs at most {MAX_COMMANDS} commands; these {} were not run:\n",
        refused.len()
    );
    for p in refused.iter().take(MAX_COMMANDS) {
        let line: String = p.line.chars().take(100).collect();
        out.push_str(&format!("\n> {}\n", line.replace('`', "'")));
    }
    if refused.len() > MAX_COMMANDS {
        out.push_str(&format!("\nand {} more.", refused.len() - MAX_COMMANDS));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(marker: Option<&str>, text: &str, needs_reply: bool) -> Section {
        Section {
            marker: marker.map(str::to_string),
            text: text.into(),
            needs_reply,
        }
    }

    #[test]
    fn one_reply_lists_every_result_with_markers_first() {
        assert!(compose("5", &[section(Some("<!--a-->"), "rerun", false)]).is_none());
        let sections = [
            section(Some("<!--a-->"), "rerun started", false),
            section(Some("<!--b-->"), "help text", true),
        ];
        let (marker, body) = compose("5", &sections).unwrap();
        assert!(marker.starts_with("<!-- thoth-bot:reply:5:"), "{marker}");
        assert!(
            body.starts_with(&format!("{marker}\n<!--a--><!--b-->\n")),
            "{body}"
        );
        assert!(body.contains("rerun started\n\n---\n\nhelp text"), "{body}");
        // The same results give the same marker (a retried job finds its reply).
        assert_eq!(compose("5", &sections).unwrap().0, marker);
        let other = [section(Some("<!--c-->"), "help text", true)];
        assert_ne!(compose("5", &other).unwrap().0, marker);
    }
}
