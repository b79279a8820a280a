//! The scan: one Aho-Corasick pass over a file for every rule's keywords, then each rule's
//! regex only in the windows around its keywords' hits; then the filters.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use aho_corasick::AhoCorasick;
use regex::bytes::{Regex, RegexBuilder};
use sha2::{Digest, Sha256};

use crate::allow::Candidate;
use crate::rule::{self, Rule};
use crate::{Config, Error, Finding, Stats, filter};

/// How a scan walks and reads.
#[derive(Debug, Clone)]
pub struct Options {
    /// Files larger than this are skipped (and counted).
    pub max_file_size: u64,
    /// Threads walking and scanning (0: one per CPU).
    pub threads: usize,
    /// Set to stop the scan between files.
    pub stop: Option<Arc<AtomicBool>>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            max_file_size: 10_000_000,
            threads: 0,
            stop: None,
        }
    }
}

impl Options {
    pub(crate) fn stopped(&self) -> bool {
        self.stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::Relaxed))
    }
}

/// The result of a scan: findings sorted by file, line and column, and what was read.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Scan {
    pub findings: Vec<Finding>,
    pub stats: Stats,
}

impl Scan {
    pub(crate) fn sort(&mut self) {
        self.findings.sort_by(|a, b| {
            (&a.file, a.line, a.column, &a.rule).cmp(&(&b.file, b.line, b.column, &b.rule))
        });
    }
}

struct Compiled {
    rule: Rule,
    regex: Option<Regex>,
    path: Option<Regex>,
}

/// Compiled rules, ready to scan any number of files from any number of threads.
pub struct Scanner {
    rules: Vec<Compiled>,
    keywords: AhoCorasick,
    /// For each keyword pattern, the rules it selects.
    keyword_rules: Vec<Vec<usize>>,
    /// Rules without keywords: their regex runs on the whole file.
    unconditional: Vec<usize>,
    allow: Vec<crate::Allowlist>,
}

/// A match before it becomes a finding.
struct Hit {
    rule: usize,
    start: usize,
    end: usize,
    whole_start: usize,
}

/// Files whose first 4 KiB say so are test fixtures, not findings. Spelled in two halves so
/// that this file is not one.
const FIXTURE_MARKER: &[u8] = concat!("phasegate", ":fixture").as_bytes();

impl Scanner {
    /// Compiles `config`'s rules into one keyword automaton and one regex per rule.
    pub fn new(config: Config) -> Result<Scanner, Error> {
        let mut words: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        let mut unconditional = Vec::new();
        let mut rules = Vec::new();
        for (i, r) in config.rules.into_iter().enumerate() {
            let regex = match &r.regex {
                Some(re) => Some(
                    RegexBuilder::new(re)
                        .size_limit(50 << 20)
                        .build()
                        .map_err(|e| invalid(&r.id, &e.to_string()))?,
                ),
                None => None,
            };
            let path = match &r.path {
                Some(p) => Some(Regex::new(p).map_err(|e| invalid(&r.id, &e.to_string()))?),
                None => None,
            };
            if r.keywords.is_empty() {
                unconditional.push(i);
            }
            for k in &r.keywords {
                let k = k.to_ascii_lowercase();
                match words.iter().position(|w| *w == k) {
                    Some(at) => keyword_rules[at].push(i),
                    None => {
                        words.push(k);
                        keyword_rules.push(vec![i]);
                    }
                }
            }
            rules.push(Compiled {
                rule: r,
                regex,
                path,
            });
        }
        let keywords = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&words)
            .map_err(|e| invalid("keywords", &e.to_string()))?;
        Ok(Scanner {
            rules,
            keywords,
            keyword_rules,
            unconditional,
            allow: config.allow,
        })
    }

    /// The rules, in order.
    pub fn rules(&self) -> Vec<&Rule> {
        self.rules.iter().map(|c| &c.rule).collect()
    }

    /// Adds an allowlist (after construction: the probe's and command's `allow` globs).
    pub fn allow(&mut self, list: crate::Allowlist) {
        self.allow.push(list);
    }

    /// Whether an allowlist excludes the whole file at `path`.
    pub(crate) fn path_allowed(&self, path: &str) -> bool {
        self.allow.iter().any(|a| a.allows_path(path))
    }

    /// Scans one file's bytes; `path` is how findings name it (and what path rules and
    /// allowlists match).
    pub fn scan_bytes(&self, path: &str, data: &[u8], stats: &mut Stats) -> Vec<Finding> {
        if self.path_allowed(path) {
            stats.allowlisted += 1;
            return Vec::new();
        }
        let Some(text) = decode(data) else {
            stats.skipped_binary += 1;
            return Vec::new();
        };
        if memchr::memmem::find(&text[..text.len().min(4096)], FIXTURE_MARKER).is_some() {
            stats.skipped_fixture += 1;
            return Vec::new();
        }
        stats.files += 1;
        stats.bytes += data.len() as u64;
        let hits = self.search(path, &text);
        self.judge(path, &text, hits, stats)
    }

    /// Every regex match in the windows around its rule's keywords.
    fn search(&self, path: &str, text: &[u8]) -> Vec<Hit> {
        let mut windows: Vec<Vec<(usize, usize)>> = vec![Vec::new(); self.rules.len()];
        for m in self.keywords.find_overlapping_iter(text) {
            for &r in &self.keyword_rules[m.pattern().as_usize()] {
                let reach = self.rules[r].rule.reach;
                let (s, e) = (
                    m.start().saturating_sub(reach),
                    (m.end() + reach).min(text.len()),
                );
                let w = &mut windows[r];
                match w.last_mut() {
                    Some(last) if s <= last.1 => last.1 = last.1.max(e),
                    _ => w.push((s, e)),
                }
            }
        }
        for &r in &self.unconditional {
            windows[r] = vec![(0, text.len())];
        }
        let mut hits = Vec::new();
        for (r, ws) in windows.iter().enumerate() {
            let c = &self.rules[r];
            if ws.is_empty()
                || c.path
                    .as_ref()
                    .is_some_and(|p| !p.is_match(path.as_bytes()))
            {
                continue;
            }
            let Some(regex) = &c.regex else {
                // A path-only rule: the file itself is the finding.
                hits.push(Hit {
                    rule: r,
                    start: 0,
                    end: 0,
                    whole_start: 0,
                });
                continue;
            };
            for &(s, e) in ws {
                for caps in regex.captures_iter(&text[s..e]) {
                    let whole = caps.get(0).expect("group 0 always matches");
                    let secret = match c.rule.secret_group {
                        Some(g) => caps.get(g),
                        None => caps.iter().skip(1).flatten().next(),
                    }
                    .unwrap_or(whole);
                    hits.push(Hit {
                        rule: r,
                        start: s + secret.start(),
                        end: s + secret.end(),
                        whole_start: s + whole.start(),
                    });
                }
            }
        }
        // A regex may match the same secret from two merged windows' overlap only once, but
        // the same span can be reached from two keywords of one rule.
        hits.sort_by_key(|h| (h.start, h.rule));
        hits.dedup_by_key(|h| (h.start, h.rule));
        // A provider's rule is more precise than a generic one on the same secret.
        let specific: Vec<(usize, usize)> = hits
            .iter()
            .filter(|h| !self.rules[h.rule].rule.generic)
            .map(|h| (h.start, h.end))
            .collect();
        hits.retain(|h| {
            !self.rules[h.rule].rule.generic
                || !specific.iter().any(|&(s, e)| s < h.end && h.start < e)
        });
        hits
    }

    fn judge(&self, path: &str, text: &[u8], hits: Vec<Hit>, stats: &mut Stats) -> Vec<Finding> {
        let mut kept: Vec<(Hit, String)> = Vec::new();
        for h in hits {
            let rule = &self.rules[h.rule].rule;
            let secret = &text[h.start..h.end];
            let (line_start, line_end) = line_bounds(text, h.start);
            let line = &text[line_start..line_end];
            let previous = (line_start > 0).then(|| {
                let (s, e) = line_bounds(text, line_start - 1);
                &text[s..e]
            });
            let quoted = h.start > 0 && matches!(text[h.start - 1], b'"' | b'\'' | b'`');
            let real = rule::passes(rule.check, secret)
                && rule.entropy.is_none_or(|min| rule::entropy(secret) >= min)
                && !filter::is_noise(secret)
                && !(rule.generic
                    && ((!quoted && filter::is_code(path))
                        || filter::is_not_random(secret, &text[h.whole_start..h.start])));
            if !real && rule.regex.is_some() {
                stats.noise += 1;
                continue;
            }
            if filter::ignored_inline(line, previous) {
                stats.inline_ignored += 1;
                continue;
            }
            let fingerprint = fingerprint(&rule.id, path, secret);
            let candidate = Candidate {
                rule: &rule.id,
                path,
                secret,
                whole: &text[h.whole_start..h.end],
                line,
                fingerprint: &fingerprint,
            };
            if self
                .allow
                .iter()
                .chain(&rule.allow)
                .any(|a| a.allows(&candidate))
            {
                stats.allowlisted += 1;
                continue;
            }
            kept.push((h, fingerprint));
        }
        let spans: Vec<(usize, usize)> = kept.iter().map(|(h, _)| (h.start, h.end)).collect();
        kept.into_iter()
            .map(|(h, fingerprint)| {
                let rule = &self.rules[h.rule].rule;
                let (line, column) = position(text, h.start);
                let (end_line, end_column) = position(text, h.end);
                Finding {
                    file: path.to_owned(),
                    line,
                    column,
                    end_line,
                    end_column,
                    rule: rule.id.clone(),
                    description: rule.description.clone(),
                    redacted: redact(&text[h.start..h.end]),
                    excerpt: excerpt(text, h.start, &spans),
                    fingerprint,
                    commit: None,
                }
            })
            .collect()
    }

    /// Scans the tree under `root` as git sees it (`.gitignore`, `.ignore` and
    /// `.git/info/exclude` apply, in a repository or not; hidden files are scanned; `.git`
    /// is not), in parallel. Paths in findings are relative to `root`.
    pub fn scan_tree(&self, root: &Path, options: &Options) -> Result<Scan, Error> {
        let meta = std::fs::metadata(root).map_err(|source| Error::Io {
            path: root.to_owned(),
            source,
        })?;
        let base: PathBuf = if meta.is_file() {
            root.parent().map(Path::to_owned).unwrap_or_default()
        } else {
            root.to_owned()
        };
        let out = Mutex::new(Scan::default());
        let walker = ignore::WalkBuilder::new(root)
            .hidden(false)
            .require_git(false)
            .threads(options.threads)
            .filter_entry(|e| e.file_name() != ".git")
            .build_parallel();
        let base = &base;
        walker.run(|| {
            let mut local = Local {
                out: &out,
                scan: Scan::default(),
            };
            let mut buf = Vec::new();
            Box::new(move |entry| {
                if options.stopped() {
                    return ignore::WalkState::Quit;
                }
                let Ok(entry) = entry else {
                    local.scan.stats.unreadable += 1;
                    return ignore::WalkState::Continue;
                };
                if !entry.file_type().is_some_and(|t| t.is_file()) {
                    return ignore::WalkState::Continue;
                }
                let rel = relative(entry.path(), base);
                self.scan_file(entry.path(), &rel, options, &mut buf, &mut local.scan);
                ignore::WalkState::Continue
            })
        });
        if options.stopped() {
            return Err(Error::Stopped);
        }
        let mut scan = out
            .into_inner()
            .expect("no thread panicked holding the lock");
        scan.sort();
        Ok(scan)
    }

    fn scan_file(
        &self,
        path: &Path,
        rel: &str,
        options: &Options,
        buf: &mut Vec<u8>,
        scan: &mut Scan,
    ) {
        use std::io::Read as _;
        if self.path_allowed(rel) {
            scan.stats.allowlisted += 1;
            return;
        }
        let file = std::fs::File::open(path).and_then(|f| f.metadata().map(|m| (f, m.len())));
        let Ok((file, len)) = file else {
            scan.stats.unreadable += 1;
            return;
        };
        if len > options.max_file_size {
            scan.stats.skipped_large += 1;
            return;
        }
        buf.clear();
        if file
            .take(options.max_file_size + 1)
            .read_to_end(buf)
            .is_err()
        {
            scan.stats.unreadable += 1;
            return;
        }
        let found = self.scan_bytes(rel, buf, &mut scan.stats);
        scan.findings.extend(found);
    }
}

/// A thread's share of a parallel scan, merged into the whole when the thread ends.
struct Local<'a> {
    out: &'a Mutex<Scan>,
    scan: Scan,
}

impl Drop for Local<'_> {
    fn drop(&mut self) {
        let mut out = self
            .out
            .lock()
            .expect("no thread panicked holding the lock");
        out.findings.append(&mut self.scan.findings);
        out.stats.add(&self.scan.stats);
    }
}

fn invalid(rule: &str, message: &str) -> Error {
    Error::Config {
        file: PathBuf::from(format!("rule `{rule}`")),
        line: 1,
        column: 1,
        message: message.to_owned(),
    }
}

pub(crate) fn relative(path: &Path, base: &Path) -> String {
    let rel = path.strip_prefix(base).unwrap_or(path);
    let s = rel.to_string_lossy();
    if std::path::MAIN_SEPARATOR == '/' {
        s.into_owned()
    } else {
        s.replace(std::path::MAIN_SEPARATOR, "/")
    }
}

/// The text to search: UTF-16 (with a byte order mark) decoded to UTF-8, anything else as it
/// is; `None` for a binary file (a NUL in its first 8 KiB, as git decides).
fn decode(data: &[u8]) -> Option<Cow<'_, [u8]>> {
    let utf16 = |le: bool| {
        let units = data[2..].chunks_exact(2).map(|c| {
            if le {
                u16::from_le_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], c[1]])
            }
        });
        let s: String = char::decode_utf16(units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect();
        Some(Cow::Owned(s.into_bytes()))
    };
    match data {
        [0xFF, 0xFE, ..] => utf16(true),
        [0xFE, 0xFF, ..] => utf16(false),
        _ if memchr::memchr(0, &data[..data.len().min(8192)]).is_some() => None,
        _ => Some(Cow::Borrowed(data)),
    }
}

fn line_bounds(text: &[u8], at: usize) -> (usize, usize) {
    let start = memchr::memrchr(b'\n', &text[..at]).map_or(0, |i| i + 1);
    let end = memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |i| at + i);
    let end = if end > start && text[end - 1] == b'\r' {
        end - 1
    } else {
        end
    };
    (start, end)
}

/// 1-based line and column (in code points) of byte `at`.
fn position(text: &[u8], at: usize) -> (u32, u32) {
    let line = memchr::memchr_iter(b'\n', &text[..at]).count() + 1;
    let start = memchr::memrchr(b'\n', &text[..at]).map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&text[start..at]).chars().count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

/// Hex SHA-256 of rule, path and secret, cut to 128 bits: stable when lines move, different
/// for the same secret in another file.
pub(crate) fn fingerprint(rule: &str, path: &str, secret: &[u8]) -> String {
    let mut h = Sha256::new();
    for part in [rule.as_bytes(), path.as_bytes(), secret] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    hex::encode(&h.finalize()[..16])
}

/// The first few characters (a provider's prefix says which key it is, never enough to use
/// it) and the length.
pub(crate) fn redact(secret: &[u8]) -> String {
    let s = String::from_utf8_lossy(secret);
    let n = s.chars().count();
    let keep = (n / 5).min(4);
    let head: String = s.chars().take(keep).collect();
    format!("{head}****({n})")
}

/// The secret's line with every secret on it redacted, at most ~100 characters around it.
fn excerpt(text: &[u8], at: usize, spans: &[(usize, usize)]) -> String {
    const WIDTH: usize = 48;
    let (ls, le) = line_bounds(text, at);
    let from = ls.max(at.saturating_sub(WIDTH));
    let mut out = String::new();
    if from > ls {
        out.push('…');
    }
    let mut i = from;
    let mut budget = 2 * WIDTH;
    while i < le && budget > 0 {
        if let Some(&(s, e)) = spans.iter().find(|(s, e)| *s <= i && i < *e) {
            out.push_str(&redact(&text[s..e]));
            i = e;
            continue;
        }
        let next = spans
            .iter()
            .map(|(s, _)| *s)
            .filter(|s| *s > i)
            .min()
            .unwrap_or(le)
            .min(le)
            .min(i + budget);
        let chunk = String::from_utf8_lossy(&text[i..next]);
        budget = budget.saturating_sub(next - i);
        out.push_str(chunk.trim_start_matches(|c: char| i == ls && c.is_whitespace()));
        i = next;
    }
    if i < le {
        out.push('…');
    }
    out.trim().to_owned()
}
