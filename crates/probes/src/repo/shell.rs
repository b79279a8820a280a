//! Just enough of the POSIX shell grammar to see commands and the operators between them:
//! quotes, escapes, comments, `$(...)` and backticks, line continuations and here-documents.
//!
//! Hand-written because the crates that exist either split one command line into words
//! (`shlex`, `shell-words`: no operators, no comments, no line numbers) or are full
//! interpreters (`brush-parser`, `conch-parser`, unmaintained or heavy for this). What the
//! probes need is small: which words form a command, on which line, and whether `||`, `;`
//! or a brace group sits before it, so that `|| true` inside a quoted string or a comment
//! is never taken for the operator.

/// What stands before a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Op {
    /// The start of the script or of a line.
    #[default]
    Start,
    /// `;` on the same line.
    Semi,
    /// `&&`.
    And,
    /// `||`.
    Or,
    /// `|`.
    Pipe,
    /// `&` (the previous command runs in the background).
    Amp,
}

/// One simple command: its words with quotes removed, redirections and leading
/// `VAR=value` assignments dropped, and shell keywords (`if`, `then`, `!` ...) stripped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Command {
    pub words: Vec<String>,
    /// 0-based line of the command's first word within the parsed text.
    pub line: usize,
    pub op: Op,
    /// Opens a `{ ...; }` group (its first command) or a `( ... )` subshell.
    pub group: bool,
    /// Index of the group this command belongs to (the index of its first command), if any.
    pub in_group: Option<usize>,
}

const KEYWORDS: &[&str] = &[
    "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "time",
];

#[derive(Default)]
struct Builder {
    commands: Vec<Command>,
    words: Vec<String>,
    word: Option<String>,
    line: usize,
    first_line: Option<usize>,
    op: Op,
    group: bool,
    groups: Vec<usize>,
    /// The next word is the target of a redirection and is dropped.
    redirect_target: bool,
}

impl Builder {
    fn push_char(&mut self, c: char) {
        if self.word.is_none() && self.first_line.is_none() {
            self.first_line = Some(self.line);
        }
        self.word.get_or_insert_with(String::new).push(c);
    }

    fn start_word(&mut self) {
        if self.first_line.is_none() {
            self.first_line = Some(self.line);
        }
        self.word.get_or_insert_with(String::new);
    }

    fn end_word(&mut self) {
        let Some(w) = self.word.take() else { return };
        if std::mem::take(&mut self.redirect_target) {
            return;
        }
        if let Some(rest) = w
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .strip_prefix(['>', '<'])
        {
            // `>file` carries its target; `>`, `2>` and `>>` take the next word.
            let rest = rest.trim_start_matches(['>', '<', '&', '|']);
            self.redirect_target = rest.is_empty();
            return;
        }
        if self.words.is_empty() {
            if w == "{" || w == "(" {
                self.group = true;
                return;
            }
            if KEYWORDS.contains(&w.as_str()) || is_assignment(&w) {
                return;
            }
        }
        if w == "}" && self.words.is_empty() {
            self.groups.pop();
            return;
        }
        self.words.push(w);
    }

    fn end_command(&mut self, next: Op) {
        self.end_word();
        let group = std::mem::take(&mut self.group);
        if !self.words.is_empty() {
            let index = self.commands.len();
            self.commands.push(Command {
                words: std::mem::take(&mut self.words),
                line: self.first_line.unwrap_or(self.line),
                op: self.op,
                group,
                in_group: if group {
                    Some(index)
                } else {
                    self.groups.last().copied()
                },
            });
            if group {
                self.groups.push(index);
            }
        }
        self.first_line = None;
        self.redirect_target = false;
        self.op = next;
    }
}

fn is_assignment(w: &str) -> bool {
    match w.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => false,
    }
}

/// The commands of `text`, in order.
pub(crate) fn parse(text: &str) -> Vec<Command> {
    let chars: Vec<char> = text.chars().collect();
    let mut b = Builder::default();
    let mut heredocs: Vec<(String, bool)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if chars.get(i + 1) == Some(&'\n') => {
                b.line += 1;
                i += 2;
                continue;
            }
            '\\' => {
                if let Some(&n) = chars.get(i + 1) {
                    b.push_char(n);
                }
                i += 2;
                continue;
            }
            '\'' => {
                b.start_word();
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    b.line += usize::from(chars[i] == '\n');
                    b.push_char(chars[i]);
                    i += 1;
                }
            }
            '"' => {
                b.start_word();
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        i += 1;
                    }
                    b.line += usize::from(chars[i] == '\n');
                    b.push_char(chars[i]);
                    i += 1;
                }
            }
            '`' => {
                let end = skip_backticks(&chars, i);
                copy(&mut b, &chars[i..end]);
                i = end;
                continue;
            }
            '$' if chars.get(i + 1) == Some(&'(') || chars.get(i + 1) == Some(&'{') => {
                let end = skip_nested(&chars, i + 1);
                copy(&mut b, &chars[i..end]);
                i = end;
                continue;
            }
            '#' if b.word.is_none() => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '<' if b.word.is_none()
                && chars.get(i + 1) == Some(&'<')
                && chars.get(i + 2) != Some(&'<') =>
            {
                // A here-document: its body, after this line, is data, not commands.
                i += 2;
                let strip_tabs = chars.get(i) == Some(&'-');
                i += usize::from(strip_tabs);
                while chars.get(i).is_some_and(|c| *c == ' ' || *c == '\t') {
                    i += 1;
                }
                let mut delim = String::new();
                while let Some(&c) = chars.get(i) {
                    if c.is_whitespace() || ";|&<>()".contains(c) {
                        break;
                    }
                    if c != '\'' && c != '"' && c != '\\' {
                        delim.push(c);
                    }
                    i += 1;
                }
                heredocs.push((delim, strip_tabs));
                continue;
            }
            '\n' => {
                b.end_command(Op::Start);
                b.line += 1;
                i += 1;
                for (delim, strip_tabs) in heredocs.drain(..) {
                    while i < chars.len() {
                        let end = chars[i..]
                            .iter()
                            .position(|c| *c == '\n')
                            .map_or(chars.len(), |p| i + p);
                        let line: String = chars[i..end].iter().collect();
                        let line = if strip_tabs {
                            line.trim_start_matches('\t')
                        } else {
                            &line
                        };
                        i = (end + 1).min(chars.len());
                        b.line += 1;
                        if line == delim {
                            break;
                        }
                    }
                }
                continue;
            }
            ';' => b.end_command(Op::Semi),
            '&' if chars.get(i + 1) == Some(&'&') => {
                b.end_command(Op::And);
                i += 1;
            }
            '&' if b.word.as_deref().is_some_and(|w| w.ends_with(['>', '<'])) => b.push_char('&'),
            '&' => b.end_command(Op::Amp),
            '|' if chars.get(i + 1) == Some(&'|') => {
                b.end_command(Op::Or);
                i += 1;
            }
            '|' => b.end_command(Op::Pipe),
            '(' if b.word.is_none() => {
                b.end_command(b.op);
                b.group = true;
            }
            // `$(...)` was consumed whole above: a bare `)` closes a subshell.
            ')' => {
                b.end_command(Op::Semi);
                b.groups.pop();
            }
            c if c == ' ' || c == '\t' || c == '\r' => b.end_word(),
            c => b.push_char(c),
        }
        i += 1;
    }
    b.end_command(Op::Start);
    b.commands
}

fn copy(b: &mut Builder, chars: &[char]) {
    for &c in chars {
        b.line += usize::from(c == '\n');
        b.push_char(c);
    }
}

fn skip_backticks(chars: &[char], start: usize) -> usize {
    let mut i = start + 1;
    while i < chars.len() && chars[i] != '`' {
        i += if chars[i] == '\\' { 2 } else { 1 };
    }
    (i + 1).min(chars.len())
}

/// The end of the `(...)` or `{...}` opening at `open`, quotes inside respected.
fn skip_nested(chars: &[char], open: usize) -> usize {
    let (o, c) = if chars[open] == '(' {
        ('(', ')')
    } else {
        ('{', '}')
    };
    let mut depth = 0usize;
    let mut i = open;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '\'' => {
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
            }
            '"' => {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
            }
            x if x == o => depth += 1,
            x if x == c => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    chars.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<(Op, Vec<&str>, usize)> {
        let cmds = parse(text);
        let leaked: &'static [Command] = Box::leak(cmds.into_boxed_slice());
        leaked
            .iter()
            .map(|c| (c.op, c.words.iter().map(String::as_str).collect(), c.line))
            .collect()
    }

    #[test]
    fn operators_split_commands_and_quotes_do_not() {
        assert_eq!(
            words("cargo test || true; echo 'a || b' \"c; d\"  # x || true\nmake"),
            [
                (Op::Start, vec!["cargo", "test"], 0),
                (Op::Or, vec!["true"], 0),
                (Op::Semi, vec!["echo", "a || b", "c; d"], 0),
                (Op::Start, vec!["make"], 1),
            ]
        );
    }

    #[test]
    fn redirections_assignments_and_keywords_are_dropped() {
        assert_eq!(
            words("if FOO=1 cargo test 2>&1 > out.log; then exit 0; fi"),
            [
                (Op::Start, vec!["cargo", "test"], 0),
                (Op::Semi, vec!["exit", "0"], 0),
            ]
        );
    }

    #[test]
    fn heredocs_substitutions_and_continuations() {
        let text = "cat <<'EOF'\nx || true\nEOF\necho $(a || true) \\\n  `b || true`\nlast";
        assert_eq!(
            words(text),
            [
                (Op::Start, vec!["cat"], 0),
                (Op::Start, vec!["echo", "$(a || true)", "`b || true`"], 3),
                (Op::Start, vec!["last"], 5),
            ]
        );
    }

    #[test]
    fn groups_are_marked() {
        let cmds = parse("lint || { echo failed; exit 1; }\nnext");
        assert_eq!(cmds[1].words, ["echo", "failed"]);
        assert!(cmds[1].group);
        assert_eq!(cmds[1].op, Op::Or);
        assert_eq!(cmds[2].in_group, Some(1));
        assert_eq!(cmds[3].in_group, None);
    }
}
