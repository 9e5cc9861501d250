use super::*;

fn cmds(body: &str) -> Vec<Result<Command, CommandError>> {
    parse_comment(body).into_iter().map(|p| p.result).collect()
}

fn ok(body: &str) -> Vec<Command> {
    cmds(body)
        .into_iter()
        .map(|r| r.expect("valid command"))
        .collect()
}

#[test]
fn simple_commands() {
    assert_eq!(ok("/thoth help"), vec![Command::Help]);
    assert_eq!(ok("  /thoth rerun  "), vec![Command::Rerun]);
    assert_eq!(
        ok("/thoth explain THOTH-AWS-S3-001"),
        vec![Command::Explain {
            rule_id: "THOTH-AWS-S3-001".into()
        }]
    );
    assert_eq!(ok("/THOTH HELP").len(), 0, "the prefix is case sensitive");
    assert_eq!(ok("/thoth HELP"), vec![Command::Help]);
}

#[test]
fn override_reasons_quoted_or_rest_of_line() {
    let expect = |d, r: &str| Command::Override {
        decision: d,
        reason: r.into(),
    };
    assert_eq!(
        ok(r#"/thoth override approve --reason "accepted risk, ticket SEC-12""#),
        vec![expect(
            OverrideDecision::Approve,
            "accepted risk, ticket SEC-12"
        )]
    );
    assert_eq!(
        ok("/thoth override reject --reason the module is deprecated"),
        vec![expect(OverrideDecision::Reject, "the module is deprecated")]
    );
    assert_eq!(
        ok("/thoth override request-changes --reason='needs tags'"),
        vec![expect(OverrideDecision::RequestChanges, "needs tags")]
    );
    assert_eq!(
        ok("/thoth override approve --reason “smart quotes”"),
        vec![expect(OverrideDecision::Approve, "smart quotes")]
    );
}

#[test]
fn bad_arguments_say_what_is_wrong_and_show_the_usage() {
    let cases = [
        ("/thoth override approve", "reason is required"),
        ("/thoth override approve --reason", "must not be empty"),
        ("/thoth override approve --reason \"\"", "must not be empty"),
        ("/thoth override approve --reason \"open", "not closed"),
        (
            "/thoth override approve --reason \"x\" extra",
            "unexpected text",
        ),
        ("/thoth override approve --reasons x", "reason is required"),
        ("/thoth override merge --reason x", "not a decision"),
        ("/thoth override", "say which decision"),
        ("/thoth explain", "rule id is required"),
        ("/thoth explain a b", "one rule id"),
        ("/thoth explain <script>", "not a rule id"),
        ("/thoth rerun now", "takes no arguments"),
    ];
    for (line, wanted) in cases {
        let r = cmds(line);
        assert_eq!(r.len(), 1, "{line}");
        let e = r[0].clone().expect_err(line);
        assert!(e.message.contains(wanted), "{line}: {}", e.message);
        let reply = e.reply();
        assert!(reply.starts_with(&format!("> {line}")), "{reply}");
        assert!(reply.contains("Usage: `/thoth "), "{reply}");
    }
}

#[test]
fn unknown_command_replies_with_the_full_help() {
    let r = cmds("/thoth deploy prod");
    let e = r[0].clone().unwrap_err();
    assert!(e.message.contains("unknown command `deploy`"));
    assert!(e.reply().contains(&help_text()));
    let e = cmds("/thoth").remove(0).unwrap_err();
    assert!(e.message.contains("no command"));
}

#[test]
fn only_lines_that_start_with_the_prefix_count() {
    assert!(cmds("please /thoth rerun").is_empty());
    assert!(cmds("/thothrerun").is_empty());
    assert!(cmds("/thoth-bot rerun").is_empty());
    assert!(cmds("").is_empty());
}

#[test]
fn code_blocks_and_quotes_are_ignored() {
    let body = "Try this:\n\n```\n/thoth override approve --reason x\n```\n\n~~~~md\n/thoth rerun\n~~~~\n\n    /thoth rerun\n\n> /thoth override approve --reason quoted\n>/thoth help\n\n/thoth help\n";
    assert_eq!(ok(body), vec![Command::Help]);
    // An unclosed fence hides everything after it, as GitHub renders it.
    assert!(cmds("```\n/thoth rerun").is_empty());
    // A shorter fence does not close a longer one.
    assert!(cmds("````\n```\n/thoth rerun\n````").is_empty());
    // Indented right after a paragraph line: a continuation, not code.
    assert_eq!(ok("text\n    /thoth rerun"), vec![Command::Rerun]);
    // HTML comments hide what they hold, on one line or several.
    assert!(cmds("<!-- /thoth rerun -->").is_empty());
    assert!(cmds("<!--\n/thoth override approve --reason hidden\n-->").is_empty());
    assert_eq!(
        ok("<!-- a note -->\n\n/thoth rerun\r\n"),
        vec![Command::Rerun]
    );
    // A quote inside a list item, and a fence inside a quote, stay hidden.
    assert!(cmds("- item\n\n  > /thoth rerun").is_empty());
    assert!(cmds("> ```\n> /thoth rerun\n> ```").is_empty());
    // A command in a list item is a command.
    assert_eq!(ok("- /thoth help"), Vec::<Command>::new());
}

#[test]
fn several_commands_run_in_order() {
    let body = "/thoth rerun\nsome words\n/thoth explain R1\r\n/thoth nope\n/thoth help";
    let r = cmds(body);
    assert_eq!(r.len(), 4);
    assert_eq!(r[0], Ok(Command::Rerun));
    assert_eq!(
        r[1],
        Ok(Command::Explain {
            rule_id: "R1".into()
        })
    );
    assert!(r[2].is_err());
    assert_eq!(r[3], Ok(Command::Help));
}

#[test]
fn edits_run_only_new_commands() {
    let before = "/thoth rerun\n/thoth help";
    let after = "/thoth rerun\n/thoth help\n/thoth explain X\n/thoth rerun";
    let new: Vec<String> = new_commands(after, Some(before))
        .into_iter()
        .map(|p| p.line)
        .collect();
    // Repeating `/thoth rerun` in the edit does not run it again.
    assert_eq!(new, vec!["/thoth explain X"]);
    assert_eq!(new_commands(before, Some(before)), vec![]);
    assert_eq!(new_commands(before, None).len(), 2);
}

#[test]
fn identical_lines_run_once_and_a_comment_runs_at_most_ten() {
    let body = "/thoth rerun\n/thoth help\n/thoth rerun\n  /thoth rerun  \n/thoth help";
    let lines: Vec<String> = new_commands(body, None)
        .into_iter()
        .map(|p| p.line)
        .collect();
    assert_eq!(lines, vec!["/thoth rerun", "/thoth help"]);

    let flood: String = (0..25).map(|i| format!("/thoth explain R{i}\n")).collect();
    let (run, refused) = limit_commands(new_commands(&flood, None));
    assert_eq!(run.len(), MAX_COMMANDS);
    assert_eq!(run[9].line, "/thoth explain R9");
    assert_eq!(refused.len(), 15);
    assert_eq!(refused[0].line, "/thoth explain R10");
    let (run, refused) = limit_commands(new_commands("/thoth help", None));
    assert_eq!((run.len(), refused.len()), (1, 0));
}

#[test]
fn help_lists_every_command_with_its_usage() {
    let help = help_text_for(true);
    for kind in CommandKind::ALL {
        assert!(help.contains(&kind.usage()), "{kind:?}");
    }
    // `review` only where a model is configured.
    assert!(!help_text().contains("/thoth review"));
    // Every kind in the table is reachable through the parser.
    let samples = [
        "/thoth help",
        "/thoth rerun",
        "/thoth override approve --reason r",
        "/thoth explain R",
        "/thoth review",
    ];
    let kinds: Vec<CommandKind> = samples
        .iter()
        .map(|s| parse_line(s).unwrap().kind())
        .collect();
    assert_eq!(kinds, CommandKind::ALL.to_vec());
}

/// A small deterministic generator (xorshift) so the fuzz run is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn the_parser_never_panics_on_random_input() {
    const PIECES: &[&str] = &[
        "/thoth",
        " ",
        "\n",
        "\r\n",
        "\t",
        "    ",
        "help",
        "rerun",
        "override",
        "explain",
        "approve",
        "reject",
        "request-changes",
        "--reason",
        "--reason=",
        "\"",
        "'",
        "“",
        "”",
        "```",
        "~~~",
        ">",
        "`",
        "é",
        "💥",
        "\u{0}",
        "\u{200b}",
        "x",
        "THOTH-1",
        "=",
        "-",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut commands = 0usize;
    for _ in 0..20_000 {
        let n = rng.below(24);
        let mut body = String::new();
        if rng.below(3) == 0 {
            // Start from a valid command so mutations explore the success paths too.
            const VALID: &[&str] = &[
                "/thoth help\n",
                "/thoth rerun\n",
                "/thoth explain THOTH-AWS-S3-001\n",
                "/thoth override approve --reason \"ok\"\n",
                "/thoth override reject --reason because\n",
            ];
            body.push_str(VALID[rng.below(VALID.len())]);
        }
        for _ in 0..n {
            if rng.below(8) == 0 {
                // Raw random unicode scalar values too.
                let c = char::from_u32(rng.next() as u32 % 0x11_0000).unwrap_or('?');
                body.push(c);
            } else {
                body.push_str(PIECES[rng.below(PIECES.len())]);
            }
        }
        let parsed = parse_comment(&body);
        for p in &parsed {
            assert!(p.line.starts_with(PREFIX));
            if let Err(e) = &p.result {
                let _ = e.reply();
            } else {
                commands += 1;
            }
        }
        let half: String = body.chars().take(body.chars().count() / 2).collect();
        let _ = new_commands(&body, Some(&half)).len();
    }
    // The generator does produce valid commands, so the property covers the success paths.
    assert!(commands > 100, "only {commands} valid commands generated");
}
