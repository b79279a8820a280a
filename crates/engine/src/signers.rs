//! OpenSSH's allowed-signers file (`ssh-keygen -Y verify -f FILE`): who holds which key.
//!
//! Each line: principals (comma-separated patterns with `*` and `?`, `!` to exclude),
//! optional comma-separated options (`namespaces="..."`, `valid-after`, `valid-before`,
//! `cert-authority`), then the public key. Hand-written: a small line format, and ssh-key
//! reads the keys themselves.

use std::path::Path;

use ssh_key::{HashAlg, PublicKey};

use crate::Error;

/// One line of the file.
#[derive(Debug, Clone)]
struct Line {
    principals: Vec<String>,
    namespaces: Option<Vec<String>>,
    key: PublicKey,
}

/// The allowed signers of a roadmap.
#[derive(Debug, Clone, Default)]
pub struct AllowedSigners {
    lines: Vec<Line>,
}

impl AllowedSigners {
    /// Reads and parses the file at `path`; a malformed line is an error naming it.
    pub fn read(path: &Path) -> Result<AllowedSigners, Error> {
        let text = std::fs::read_to_string(path).map_err(Error::io(format!(
            "cannot read the allowed-signers file `{}`",
            path.display()
        )))?;
        Self::parse(&text).map_err(|(line, why)| {
            Error::usage(
                format!("{}:{line}: {why}", path.display()),
                "each line is `PRINCIPALS [OPTIONS] KEYTYPE BASE64KEY [COMMENT]`, as \
                 `ssh-keygen -Y verify` reads it",
            )
        })
    }

    /// Parses the file's text; an error names the 1-based line and what is wrong.
    pub fn parse(text: &str) -> Result<AllowedSigners, (usize, String)> {
        let mut lines = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let raw = raw.trim();
            if raw.is_empty() || raw.starts_with('#') {
                continue;
            }
            lines.push(parse_line(raw).map_err(|why| (n + 1, why))?);
        }
        Ok(AllowedSigners { lines })
    }

    /// The principals `key` may sign as for phasegate (its namespace), in file order.
    pub fn principals_of(&self, key: &PublicKey) -> Vec<&str> {
        self.lines
            .iter()
            .filter(|l| l.key.key_data() == key.key_data() && l.allows_phasegate())
            .flat_map(|l| l.principals.iter().map(String::as_str))
            .filter(|p| !p.starts_with('!') && !p.contains(['*', '?']))
            .collect()
    }

    /// Whether `principal` may sign with `key` for phasegate.
    pub fn allows(&self, principal: &str, key: &PublicKey) -> bool {
        self.lines.iter().any(|l| {
            l.key.key_data() == key.key_data() && l.allows_phasegate() && l.matches(principal)
        })
    }

    /// The key whose SHA-256 fingerprint is `fingerprint` (`SHA256:...`), if listed.
    pub fn key(&self, fingerprint: &str) -> Option<&PublicKey> {
        self.lines
            .iter()
            .map(|l| &l.key)
            .find(|k| k.fingerprint(HashAlg::Sha256).to_string() == fingerprint)
    }

    /// The keys `principal` may sign with for phasegate.
    pub fn keys_of<'a>(&'a self, principal: &'a str) -> impl Iterator<Item = &'a PublicKey> {
        self.lines
            .iter()
            .filter(move |l| l.allows_phasegate() && l.matches(principal))
            .map(|l| &l.key)
    }
}

impl Line {
    fn allows_phasegate(&self) -> bool {
        self.namespaces.as_ref().is_none_or(|ns| {
            ns.iter()
                .any(|n| pattern_matches(n, phasegate_model::STATEMENT_NAMESPACE))
        })
    }

    /// OpenSSH's rule: a principal matches when a pattern matches it and no negated one does.
    fn matches(&self, principal: &str) -> bool {
        let mut hit = false;
        for p in &self.principals {
            match p.strip_prefix('!') {
                Some(neg) if pattern_matches(neg, principal) => return false,
                Some(_) => {}
                None => hit |= pattern_matches(p, principal),
            }
        }
        hit
    }
}

fn parse_line(raw: &str) -> Result<Line, String> {
    let tokens = tokens(raw)?;
    let mut it = tokens.iter().map(String::as_str);
    let principals: Vec<String> = it
        .next()
        .ok_or("no principals")?
        .split(',')
        .map(str::to_owned)
        .collect();
    let mut next = it.next().ok_or("no public key")?;
    let mut namespaces = None;
    if !is_key_type(next) {
        for opt in split_options(next) {
            let (name, value) = opt.split_once('=').unwrap_or((opt.as_str(), ""));
            match name.to_ascii_lowercase().as_str() {
                "namespaces" => {
                    namespaces = Some(
                        value
                            .trim_matches('"')
                            .split(',')
                            .map(str::to_owned)
                            .collect(),
                    )
                }
                // Validity windows bound when a key may sign; phasegate records the time of
                // each statement, so a window is honoured by refusing the key altogether.
                "valid-after" | "valid-before" => {
                    return Err(format!("option `{name}` is not supported by phasegate"));
                }
                "cert-authority" => return Err("certificate authorities are not supported".into()),
                other => return Err(format!("unknown option `{other}`")),
            }
        }
        next = it.next().ok_or("no public key after the options")?;
    }
    let blob = it.next().ok_or("the public key has no base64 part")?;
    let key = PublicKey::from_openssh(&format!("{next} {blob}"))
        .map_err(|e| format!("invalid public key: {e}"))?;
    Ok(Line {
        principals,
        namespaces,
        key,
    })
}

fn is_key_type(token: &str) -> bool {
    token.starts_with("ssh-") || token.starts_with("ecdsa-") || token.starts_with("sk-")
}

/// Whitespace-separated tokens; double quotes keep spaces inside a token.
fn tokens(raw: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in raw.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if quoted {
        return Err("unterminated quote".into());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

/// Comma-separated options, commas inside quotes kept.
fn split_options(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// OpenSSH's wildcard match: `*` any run of characters, `?` any one.
fn pattern_matches(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINEW70ocHCLVJeCKnLUVGfdcYyox8WlF/FSEGknP9Fh2";

    #[test]
    fn lines_with_options_comments_and_patterns() {
        let text = format!(
            "# team\n\nalice@example.com,bob@example.com {ED} alice laptop\n*@ci.example.com namespaces=\"git,phasegate\" {ED}\nmallory@example.com namespaces=\"git\" {ED}\n"
        );
        let s = AllowedSigners::parse(&text).unwrap();
        let key = PublicKey::from_openssh(ED).unwrap();
        assert_eq!(
            s.principals_of(&key),
            ["alice@example.com", "bob@example.com"]
        );
        assert!(s.allows("runner@ci.example.com", &key));
        assert!(!s.allows("mallory@example.com", &key), "namespace git only");
        assert!(!s.allows("eve@example.com", &key));
        let fp = key.fingerprint(HashAlg::Sha256).to_string();
        assert!(s.key(&fp).is_some());
        assert_eq!(s.keys_of("bob@example.com").count(), 1);
    }

    #[test]
    fn a_negated_pattern_excludes() {
        let s = AllowedSigners::parse(&format!("*@example.com,!eve@example.com {ED}")).unwrap();
        let key = PublicKey::from_openssh(ED).unwrap();
        assert!(s.allows("alice@example.com", &key));
        assert!(!s.allows("eve@example.com", &key));
    }

    #[test]
    fn malformed_lines_name_their_line() {
        assert_eq!(AllowedSigners::parse("\nalice").unwrap_err().0, 2);
        let e = AllowedSigners::parse("alice ssh-ed25519 !!!").unwrap_err();
        assert!(e.1.contains("invalid public key"), "{e:?}");
        let e = AllowedSigners::parse(&format!("alice cert-authority {ED}")).unwrap_err();
        assert!(e.1.contains("certificate"), "{e:?}");
    }

    #[test]
    fn wildcards() {
        assert!(pattern_matches("*@x.com", "a@x.com"));
        assert!(pattern_matches("a?c", "abc"));
        assert!(!pattern_matches("a?c", "abbc"));
        assert!(pattern_matches("*", ""));
        assert!(!pattern_matches("a*", "b"));
    }
}
