//! Nesting pre-scanners: how deep a file nests, found in one linear pass before any recursive
//! parser sees it.
//!
//! hcl-edit parses recursively with no depth limit, so `x = [[[[...` fifty thousand levels deep
//! overflows the stack and aborts the process; no hcl crate offers a limit, hence this scanner.
//! It tokenises just enough HCL to be exact about what nests: brackets, braces and parentheses,
//! quoted strings and heredocs (whose brackets are text), comments, `${` / `%{` template
//! interpolations (which nest code inside strings inside code), `%{ if }` / `%{ for }`
//! directives, and operator chains, which hcl-edit also parses by recursion (`1+1+1+...`,
//! `!!!!x`, `a ? b : c ? ...`). Operators are over-counted rather than under-counted (`&&` counts
//! twice): the limit sits far above anything a real configuration writes.
//!
//! JSON gets the same treatment so its finding reads like the others (serde_json would stop at
//! the same depth on its own).

/// Where a file first reaches the nesting limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooDeep {
    /// 1-based line of the token that reached the limit.
    pub line: u32,
}

/// Checks that HCL `text` nests less than `limit` levels.
pub fn check_hcl(text: &str, limit: usize) -> Result<(), TooDeep> {
    HclScanner {
        bytes: text.as_bytes(),
        i: 0,
        line: 1,
        stack: vec![Frame::Code { close: 0, ops: 0 }],
        depth: 0,
        limit,
    }
    .run()
}

/// Checks that JSON `text` nests less than `limit` arrays and objects.
pub fn check_json(text: &str, limit: usize) -> Result<(), TooDeep> {
    let mut depth = 0usize;
    let mut line = 1u32;
    let mut in_string = false;
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        match (in_string, b) {
            (_, b'\n') => line += 1,
            (true, b'\\') => {
                bytes.next();
            }
            (true, b'"') | (false, b'"') => in_string = !in_string,
            (false, b'[' | b'{') => {
                depth += 1;
                if depth >= limit {
                    return Err(TooDeep { line });
                }
            }
            (false, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Checks that YAML `text` nests less than `limit` flow collections (`[`, `{`).
///
/// saphyr's scanner looks ahead across every open flow collection for a possible implicit key,
/// so fifty thousand `[` cost it minutes before its first event; this bound comes first. Quotes
/// are not tracked (YAML's `'` also appears in plain scalars), so brackets inside strings and
/// block scalars count too: a false refusal needs 128 unclosed brackets in one string.
pub fn check_yaml_flow(text: &str, limit: usize) -> Result<(), TooDeep> {
    let mut depth = 0usize;
    for (i, line) in text.lines().enumerate() {
        let mut prev = b' ';
        for b in line.bytes() {
            match b {
                b'#' if prev == b' ' || prev == b'\t' => break,
                b'[' | b'{' => {
                    depth += 1;
                    if depth >= limit {
                        return Err(TooDeep { line: i as u32 + 1 });
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
            prev = b;
        }
    }
    Ok(())
}

enum Frame {
    /// Expression code closed by `close` (`}`, `]`, `)`; 0 for the file's top level), with the
    /// operators met since the current expression started.
    Code { close: u8, ops: usize },
    /// A quoted string template, with its open `%{ if }` / `%{ for }` directives.
    Quoted { directives: usize },
    /// A heredoc template ending at a line holding only `text[ident]`.
    Heredoc {
        ident: std::ops::Range<usize>,
        directives: usize,
    },
}

struct HclScanner<'a> {
    bytes: &'a [u8],
    i: usize,
    line: u32,
    stack: Vec<Frame>,
    /// Frames above the top level, plus every frame's operators and directives.
    depth: usize,
    limit: usize,
}

impl HclScanner<'_> {
    fn run(mut self) -> Result<(), TooDeep> {
        while self.i < self.bytes.len() {
            match self.stack.last() {
                Some(Frame::Code { .. }) | None => self.code()?,
                Some(Frame::Quoted { .. }) => self.template(false)?,
                Some(Frame::Heredoc { .. }) => self.template(true)?,
            }
        }
        Ok(())
    }

    fn at(&self, offset: usize) -> u8 {
        self.bytes.get(self.i + offset).copied().unwrap_or(0)
    }

    fn deeper(&mut self, n: usize) -> Result<(), TooDeep> {
        self.depth += n;
        if self.depth >= self.limit {
            return Err(TooDeep { line: self.line });
        }
        Ok(())
    }

    fn push(&mut self, frame: Frame) -> Result<(), TooDeep> {
        self.stack.push(frame);
        self.deeper(1)
    }

    fn pop(&mut self) {
        if self.stack.len() > 1
            && let Some(frame) = self.stack.pop()
        {
            let extra = match frame {
                Frame::Code { ops, .. } => ops,
                Frame::Quoted { directives } | Frame::Heredoc { directives, .. } => directives,
            };
            self.depth -= 1 + extra;
        }
    }

    fn reset_ops(&mut self) {
        if let Some(Frame::Code { ops, .. }) = self.stack.last_mut() {
            self.depth -= *ops;
            *ops = 0;
        }
    }

    fn operator(&mut self) -> Result<(), TooDeep> {
        if let Some(Frame::Code { ops, .. }) = self.stack.last_mut() {
            *ops += 1;
        }
        self.deeper(1)
    }

    fn skip_to_eol(&mut self) {
        while self.i < self.bytes.len() && self.bytes[self.i] != b'\n' {
            self.i += 1;
        }
    }

    fn code(&mut self) -> Result<(), TooDeep> {
        let Some(Frame::Code { close, .. }) = self.stack.last() else {
            return Ok(());
        };
        let close = *close;
        let b = self.at(0);
        self.i += 1;
        match b {
            b'\n' => {
                self.line += 1;
                // Newlines end an expression in a body or an object, not inside `[` or `(`.
                if close == 0 || close == b'}' {
                    self.reset_ops();
                }
            }
            b',' => self.reset_ops(),
            b'#' => self.skip_to_eol(),
            b'/' if self.at(0) == b'/' => self.skip_to_eol(),
            b'/' if self.at(0) == b'*' => {
                self.i += 1;
                while self.i < self.bytes.len() && !(self.at(0) == b'*' && self.at(1) == b'/') {
                    if self.at(0) == b'\n' {
                        self.line += 1;
                    }
                    self.i += 1;
                }
                self.i += 2;
            }
            b'"' => self.push(Frame::Quoted { directives: 0 })?,
            b'<' if self.at(0) == b'<' => {
                if let Some(frame) = self.heredoc_start() {
                    self.push(frame)?;
                } else {
                    self.operator()?;
                }
            }
            b'{' => self.push(Frame::Code {
                close: b'}',
                ops: 0,
            })?,
            b'[' => self.push(Frame::Code {
                close: b']',
                ops: 0,
            })?,
            b'(' => self.push(Frame::Code {
                close: b')',
                ops: 0,
            })?,
            b'}' | b']' | b')' if b == close => self.pop(),
            // `==` is an operator, `=` an assignment, `=>` a for-expression arrow.
            b'=' if self.at(0) == b'=' => {
                self.i += 1;
                self.operator()?;
            }
            // A `-` right after a letter is part of an identifier (`my-name`).
            b'-' if self.i >= 2 && is_ident_start(self.bytes[self.i - 2]) => {}
            b'!' | b'?' | b'+' | b'-' | b'*' | b'/' | b'%' | b'<' | b'>' | b'&' | b'|' => {
                self.operator()?;
            }
            _ => {}
        }
        Ok(())
    }

    /// After `<<`: `-`? IDENT newline opens a heredoc; the cursor then sits on its first line.
    fn heredoc_start(&mut self) -> Option<Frame> {
        let mut j = self.i + 1;
        if self.bytes.get(j) == Some(&b'-') {
            j += 1;
        }
        let start = j;
        if !self.bytes.get(j).is_some_and(|b| is_ident_start(*b)) {
            return None;
        }
        while self.bytes.get(j).is_some_and(|b| is_ident(*b)) {
            j += 1;
        }
        let ident = start..j;
        if self.bytes.get(j) == Some(&b'\r') {
            j += 1;
        }
        if self.bytes.get(j) != Some(&b'\n') {
            return None;
        }
        self.i = j + 1;
        self.line += 1;
        Some(Frame::Heredoc {
            ident,
            directives: 0,
        })
    }

    fn template(&mut self, heredoc: bool) -> Result<(), TooDeep> {
        if heredoc && self.heredoc_ends() {
            self.skip_to_eol();
            self.pop();
            return Ok(());
        }
        let b = self.at(0);
        self.i += 1;
        match b {
            b'\n' => {
                self.line += 1;
                // A quoted string cannot span lines: what follows is code again.
                if !heredoc {
                    self.pop();
                }
            }
            b'\\' if !heredoc => {
                if self.at(0) == b'\n' {
                    self.line += 1;
                }
                self.i += 1;
            }
            b'"' if !heredoc => self.pop(),
            // `$${` and `%%{` are escaped, literal text.
            b'$' | b'%' if self.at(0) == b && self.at(1) == b'{' => self.i += 2,
            b'$' if self.at(0) == b'{' => {
                self.i += 1;
                self.push(Frame::Code {
                    close: b'}',
                    ops: 0,
                })?;
            }
            b'%' if self.at(0) == b'{' => {
                self.i += 1;
                self.directive()?;
                self.push(Frame::Code {
                    close: b'}',
                    ops: 0,
                })?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Whether the cursor is at the start of the line that closes the innermost heredoc.
    fn heredoc_ends(&self) -> bool {
        let Some(Frame::Heredoc { ident, .. }) = self.stack.last() else {
            return false;
        };
        if self.i > 0 && self.bytes[self.i - 1] != b'\n' {
            return false;
        }
        let end = self.bytes[self.i..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(self.bytes.len(), |p| self.i + p);
        self.bytes[self.i..end].trim_ascii() == &self.bytes[ident.clone()]
    }

    /// After `%{`: `if` and `for` open a nested template body, `endif` and `endfor` close one.
    fn directive(&mut self) -> Result<(), TooDeep> {
        let mut j = self.i;
        while self
            .bytes
            .get(j)
            .is_some_and(|b| *b == b'~' || b.is_ascii_whitespace())
        {
            j += 1;
        }
        let word_end = (j..self.bytes.len())
            .find(|k| !is_ident(self.bytes[*k]))
            .unwrap_or(self.bytes.len());
        let delta: isize = match &self.bytes[j..word_end] {
            b"if" | b"for" => 1,
            b"endif" | b"endfor" => -1,
            _ => 0,
        };
        let Some(Frame::Quoted { directives } | Frame::Heredoc { directives, .. }) =
            self.stack.last_mut()
        else {
            return Ok(());
        };
        match delta {
            1 => {
                *directives += 1;
                self.deeper(1)?;
            }
            -1 if *directives > 0 => {
                *directives -= 1;
                self.depth -= 1;
            }
            _ => {}
        }
        Ok(())
    }
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_ok(text: &str, limit: usize) -> bool {
        check_hcl(text, limit).is_ok()
    }

    #[test]
    fn brackets_nest_and_close() {
        assert!(depth_ok("x = [[[1]]]\ny = [[[2]]]\n", 4));
        assert!(!depth_ok("x = [[[[1]]]]\n", 4));
        assert_eq!(
            check_hcl("a = 1\nb = 2\nx = [[[[1]]]]\n", 4),
            Err(TooDeep { line: 3 })
        );
    }

    #[test]
    fn brackets_in_strings_comments_and_heredocs_are_text() {
        let text = "# [[[[[[\n// {{{{{{\n/* ((((((\n */\nx = \"[[[[[[\\\"[[[[\"\ny = <<-EOT\n  [[[[[[[[\n  EOT\nz = [1]\n";
        assert!(depth_ok(text, 3));
    }

    #[test]
    fn interpolations_and_directives_nest() {
        assert!(!depth_ok("x = \"${[[[[1]]]]}\"\n", 5));
        assert!(depth_ok("x = \"$${[[[[[[\"\n", 3));
        assert!(!depth_ok("x = \"%{if a}%{if b}%{if c}%{if d}\"\n", 6));
        assert!(depth_ok(
            "x = \"%{if a}1%{endif}%{if b}2%{endif}%{if c}3%{endif}\"\n",
            5
        ));
        assert!(!depth_ok("x = <<EOT\n${[[[[[1]]]]]}\nEOT\n", 6));
        let nested = format!("x = {}1{}\n", "\"${".repeat(10), "}\"".repeat(10));
        assert!(!depth_ok(&nested, 20));
        assert!(depth_ok(&nested, 21));
    }

    #[test]
    fn operator_chains_count() {
        assert!(!depth_ok(&format!("x = 1{}\n", "+1".repeat(10)), 10));
        assert!(!depth_ok(&format!("x = {}true\n", "!".repeat(10)), 10));
        // Separate attributes and list items are separate expressions.
        assert!(depth_ok(&"x = 1 + 1\n".repeat(50), 3));
        assert!(depth_ok(&format!("x = [{}]\n", "1 + 1, ".repeat(50)), 4));
        assert!(depth_ok(
            "name = my-long-dashed-identifier-with-many-dashes\n",
            3
        ));
    }

    #[test]
    fn json_depth() {
        assert!(check_json("[[[1]]]", 4).is_ok());
        assert_eq!(check_json("\n[[[[1]]]]", 4), Err(TooDeep { line: 2 }));
        assert!(check_json(r#"{"a": "[[[[[[\"[[["}"#, 2).is_ok());
    }
}
