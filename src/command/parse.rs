//! The `/thoth` comment command grammar (design §4), platform-neutral.
//!
//! A command is a line of a comment that starts with `/thoth` (leading spaces allowed). Lines in
//! fenced or indented code blocks, `>` quotes and HTML (comments included) are ignored, as the
//! forge renders them, so quoting someone's command never runs it again. Several commands in one comment run in order, at most
//! [`MAX_COMMANDS`] of them, and a line repeated in a comment runs once: a comment is not a way
//! to flood the bot. For an edited comment only commands that are new in the edit run
//! ([`new_commands`]).
//!
//! The help text and the usage lines are generated from [`CommandKind::ALL`], the same table the
//! parser dispatches on, so a command cannot exist without being documented (and vice versa).

/// The word that starts every command.
pub const PREFIX: &str = "/thoth";

/// A comment line longer than this is not parsed (a reply quotes at most this much).
const MAX_LINE: usize = 2_000;

/// Commands one comment may run; the rest are refused in the reply.
pub const MAX_COMMANDS: usize = 10;

pub use crate::decision::human::OverrideDecision;

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    Rerun,
    Review,
    Override {
        decision: OverrideDecision,
        reason: String,
    },
    Explain {
        rule_id: String,
    },
}

/// The commands there are; the parser and the help text both read this table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandKind {
    Help,
    Rerun,
    Override,
    Explain,
    Review,
}

impl CommandKind {
    pub const ALL: [CommandKind; 5] = [
        CommandKind::Help,
        CommandKind::Rerun,
        CommandKind::Override,
        CommandKind::Explain,
        CommandKind::Review,
    ];

    /// The word after `/thoth`.
    pub fn name(self) -> &'static str {
        match self {
            CommandKind::Help => "help",
            CommandKind::Rerun => "rerun",
            CommandKind::Override => "override",
            CommandKind::Explain => "explain",
            CommandKind::Review => "review",
        }
    }

    /// Arguments, as shown in the usage.
    fn args(self) -> String {
        match self {
            CommandKind::Help | CommandKind::Rerun | CommandKind::Review => String::new(),
            CommandKind::Override => {
                let decisions: Vec<&str> =
                    OverrideDecision::ALL.iter().map(|d| d.as_str()).collect();
                format!(" {} --reason \"why\"", decisions.join("|"))
            }
            CommandKind::Explain => " RULE_ID".into(),
        }
    }

    fn summary(self) -> &'static str {
        match self {
            CommandKind::Help => "show this list",
            CommandKind::Rerun => "evaluate the pull request's head again now",
            CommandKind::Override => {
                "replace the bot's decision for the head you saw (repository writers or configured users, not the PR's authors; the reason is required and recorded). A push ends it unless the server keeps overrides while the failing findings stay the same"
            }
            CommandKind::Explain => "what a rule checks and how to fix a finding of it",
            CommandKind::Review => {
                "evaluate the head again now with the AI review, within the AI budget (a repository with `ai_review: false` is never sent to the model)"
            }
        }
    }

    /// `/thoth override approve|reject|request-changes --reason "why"`
    pub fn usage(self) -> String {
        format!("{PREFIX} {}{}", self.name(), self.args())
    }

    fn of(cmd: &Command) -> CommandKind {
        match cmd {
            Command::Help => CommandKind::Help,
            Command::Rerun => CommandKind::Rerun,
            Command::Override { .. } => CommandKind::Override,
            Command::Explain { .. } => CommandKind::Explain,
            Command::Review => CommandKind::Review,
        }
    }
}

impl Command {
    pub fn kind(&self) -> CommandKind {
        CommandKind::of(self)
    }
}

/// The markdown help text of a server without an AI model.
pub fn help_text() -> String {
    help_text_for(false)
}

/// The markdown help text; `review` is listed only when the server has an AI model.
pub fn help_text_for(ai: bool) -> String {
    let mut out =
        String::from("**thoth-bot commands** (one per line, at the start of a line):\n\n");
    for kind in CommandKind::ALL
        .into_iter()
        .filter(|k| ai || *k != CommandKind::Review)
    {
        out.push_str(&format!("- `{}`: {}\n", kind.usage(), kind.summary()));
    }
    out
}

/// A `/thoth` line that is not a valid command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    /// The offending line, trimmed and capped.
    pub line: String,
    pub message: String,
    /// The usage of the command that was meant, when known.
    pub kind: Option<CommandKind>,
}

impl CommandError {
    /// The reply: the line quoted, what is wrong, the usage.
    pub fn reply(&self) -> String {
        let usage = match self.kind {
            Some(k) => format!("Usage: `{}`", k.usage()),
            None => help_text(),
        };
        format!(
            "> {}\n\n{}\n\n{}",
            self.line.replace('\n', " "),
            self.message,
            usage
        )
    }
}

/// One `/thoth` line of a comment, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedLine {
    /// The line as written (trimmed), for replies and edit comparison.
    pub line: String,
    /// How many identical lines come before this one in the comment: `(line, occurrence)`
    /// names a command stably across edits that add or move other lines.
    pub occurrence: usize,
    pub result: Result<Command, CommandError>,
}

/// The `/thoth` lines of a comment outside code blocks, quotes and HTML (comments included),
/// in order. A CommonMark parser decides what is code or quoted, exactly as the forge renders
/// it, so a command shown in a code block or quoted from someone else never runs.
pub fn command_lines(body: &str) -> Vec<String> {
    use pulldown_cmark::{Event, Options, Parser, Tag};
    // Byte ranges of the comment that are code, quotes or HTML.
    let mut hidden: Vec<std::ops::Range<usize>> = Vec::new();
    for (event, range) in Parser::new_ext(body, Options::empty()).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(_) | Tag::BlockQuote(_) | Tag::HtmlBlock)
            | Event::Html(_)
            | Event::InlineHtml(_)
            | Event::Code(_) => hidden.push(range),
            _ => {}
        }
    }
    let mut out = Vec::new();
    let mut offset = 0;
    for raw in body.split_inclusive('\n') {
        let start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim_start_matches([' ', '\t']);
        if !is_command_line(trimmed) {
            continue;
        }
        let at = start + (line.len() - trimmed.len());
        if hidden.iter().any(|r| r.contains(&at)) {
            continue;
        }
        out.push(trimmed.trim_end().to_string());
    }
    out
}

fn is_command_line(trimmed: &str) -> bool {
    trimmed
        .strip_prefix(PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace))
}

/// Parses every command of a comment, in order.
pub fn parse_comment(body: &str) -> Vec<ParsedLine> {
    let lines = command_lines(body);
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| ParsedLine {
            result: parse_line(line),
            occurrence: lines[..i].iter().filter(|l| *l == line).count(),
            line: line.clone(),
        })
        .collect()
}

/// The commands of a comment to run: those whose line was not in its previous body (for an
/// edit), each distinct line once, in order. Repeating a line, in the comment or by editing it
/// in again, does not run it again.
pub fn new_commands(body: &str, previous: Option<&str>) -> Vec<ParsedLine> {
    let old = previous.map(command_lines).unwrap_or_default();
    let mut seen: Vec<String> = Vec::new();
    parse_comment(body)
        .into_iter()
        .filter(|p| {
            if old.contains(&p.line) || seen.contains(&p.line) {
                return false;
            }
            seen.push(p.line.clone());
            true
        })
        .collect()
}

/// Splits commands into those that run (the first [`MAX_COMMANDS`]) and those refused.
pub fn limit_commands(mut commands: Vec<ParsedLine>) -> (Vec<ParsedLine>, Vec<ParsedLine>) {
    let refused = commands.split_off(commands.len().min(MAX_COMMANDS));
    (commands, refused)
}

/// Parses one line that starts with `/thoth`.
pub fn parse_line(line: &str) -> Result<Command, CommandError> {
    let shown: String = line.chars().take(200).collect();
    let err = |message: String, kind: Option<CommandKind>| CommandError {
        line: shown.clone(),
        message,
        kind,
    };
    if line.len() > MAX_LINE {
        return Err(err(
            format!("the command line is longer than {MAX_LINE} bytes"),
            None,
        ));
    }
    let rest = line.trim().strip_prefix(PREFIX).unwrap_or("").trim();
    let (word, args) = match rest.find(char::is_whitespace) {
        Some(i) => (&rest[..i], rest[i..].trim()),
        None => (rest, ""),
    };
    if word.is_empty() {
        return Err(err("no command given.".into(), None));
    }
    let Some(kind) = CommandKind::ALL
        .into_iter()
        .find(|k| k.name().eq_ignore_ascii_case(word))
    else {
        return Err(err(format!("unknown command `{}`.", clip(word)), None));
    };
    let bad = |m: String| Err(err(m, Some(kind)));
    match kind {
        CommandKind::Help | CommandKind::Rerun | CommandKind::Review => {
            if !args.is_empty() {
                return bad(format!("`{}` takes no arguments.", kind.name()));
            }
            Ok(match kind {
                CommandKind::Help => Command::Help,
                CommandKind::Rerun => Command::Rerun,
                _ => Command::Review,
            })
        }
        CommandKind::Explain => {
            let mut parts = args.split_whitespace();
            match (parts.next(), parts.next()) {
                (Some(id), None) if valid_rule_id(id) => Ok(Command::Explain {
                    rule_id: id.to_string(),
                }),
                (Some(id), None) => bad(format!("`{}` is not a rule id.", clip(id))),
                (None, _) => bad("a rule id is required.".into()),
                (Some(_), Some(_)) => bad("give one rule id.".into()),
            }
        }
        CommandKind::Override => parse_override(args).map_err(|m| err(m, Some(kind))),
    }
}

fn parse_override(args: &str) -> Result<Command, String> {
    let (word, rest) = match args.find(char::is_whitespace) {
        Some(i) => (&args[..i], args[i..].trim_start()),
        None => (args, ""),
    };
    if word.is_empty() {
        return Err("say which decision: approve, reject or request-changes.".into());
    }
    let Some(decision) = OverrideDecision::parse(word) else {
        return Err(format!(
            "`{}` is not a decision: use approve, reject or request-changes.",
            clip(word)
        ));
    };
    let Some(after) = rest.strip_prefix("--reason") else {
        return Err("a reason is required: `--reason \"why\"`.".into());
    };
    // `--reason=...`, `--reason "..."`, `--reason rest of line`; not `--reasons`.
    let after = match after.strip_prefix('=') {
        Some(a) => a,
        None if after.is_empty() || after.starts_with(char::is_whitespace) => after,
        None => return Err("a reason is required: `--reason \"why\"`.".into()),
    };
    let after = after.trim();
    let reason = match after.chars().next() {
        Some(q @ ('"' | '\'' | '“')) => {
            let close = if q == '“' { '”' } else { q };
            let inner = &after[q.len_utf8()..];
            match inner.find(close) {
                Some(end) => {
                    let trailing = inner[end + close.len_utf8()..].trim();
                    if !trailing.is_empty() {
                        return Err(format!(
                            "unexpected text after the quoted reason: `{}`.",
                            clip(trailing)
                        ));
                    }
                    inner[..end].trim().to_string()
                }
                None => return Err("the reason's quote is not closed.".into()),
            }
        }
        _ => after.to_string(),
    };
    if reason.is_empty() {
        return Err("the reason must not be empty.".into());
    }
    Ok(Command::Override { decision, reason })
}

/// Rule ids are words with `-`, `_`, `.`, `:` and `/` (`THOTH-AWS-S3-001`, `thoth.s3.deny`).
fn valid_rule_id(id: &str) -> bool {
    id.len() <= 200
        && id
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/'))
}

fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(60).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out.replace('`', "'")
}

#[cfg(test)]
mod tests;
