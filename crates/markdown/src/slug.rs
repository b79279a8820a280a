//! Readable ASCII ids from headings and items, unique within their kind.

use std::collections::BTreeSet;

/// Longest id an item or heading gives.
pub(crate) const MAX_ID: usize = 40;

/// Lowercase ASCII letters and digits of `text`, every other run of characters turned into
/// one `-`, cut at a `-` to at most `max` bytes. Markdown link targets are left out, so
/// that `[PR](https://…)` gives `pr`. Empty when the text has no ASCII letter or digit.
pub(crate) fn slug(text: &str, max: usize) -> String {
    let text = without_link_targets(text);
    let mut out = String::new();
    let mut pending_dash = false;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            if pending_dash && !out.is_empty() {
                out.push('-');
            }
            pending_dash = false;
            out.push(c.to_ascii_lowercase());
        } else if c != '\'' && c != '’' {
            // An apostrophe joins ("we'll" → "well") rather than splitting.
            pending_dash = true;
        }
    }
    cut(&out, max).to_owned()
}

/// A heading's id: its [`slug`] without a leading enumeration (`4)`, `2.`) and without
/// parenthesised asides (`(P0)`, `(Days 61-90)`), unless nothing would be left.
pub(crate) fn heading_slug(text: &str) -> String {
    let trimmed = text.trim_start();
    let digits = trimmed.len()
        - trimmed
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .len();
    let rest = &trimmed[digits..];
    let unnumbered = match rest.chars().next() {
        Some(')' | '.') if digits > 0 => &rest[1..],
        _ => trimmed,
    };
    let plain = slug(&without_parentheses(unnumbered), MAX_ID);
    if plain.is_empty() {
        slug(text, MAX_ID)
    } else {
        plain
    }
}

/// Whether `text` is written mostly (more than half) in ASCII letters, so that a slug of it reads as the
/// text does; otherwise (Persian, Arabic, Chinese...) ids are numbered instead. Code spans
/// do not count: a Persian item quoting an English command is Persian.
pub(crate) fn is_mostly_ascii(text: &str) -> bool {
    let mut in_code = false;
    let (ascii, other) = text
        .chars()
        .filter(|&c| {
            if c == '`' {
                in_code = !in_code;
            }
            !in_code && c.is_alphabetic()
        })
        .fold((0usize, 0usize), |(a, o), c| {
            if c.is_ascii() { (a + 1, o) } else { (a, o + 1) }
        });
    ascii > other
}

/// Cuts a slug to at most `max` bytes at a `-` (or hard, when its first word is longer).
fn cut(slug: &str, max: usize) -> &str {
    if slug.len() <= max {
        return slug;
    }
    let head = &slug[..max];
    match head.rfind('-') {
        Some(0) | None => head,
        Some(dash) => &head[..dash],
    }
}

fn without_link_targets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        out.push_str(&rest[..at]);
        rest = &rest[at + 2..];
        rest = match rest.find(')') {
            Some(close) => &rest[close + 1..],
            None => "",
        };
    }
    out.push_str(rest);
    out
}

fn without_parentheses(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Hands out ids that have not been handed out before: `base`, then `base-2`, `base-3`...
/// each at most [`MAX_ID`] bytes.
#[derive(Debug, Default)]
pub(crate) struct Ids {
    taken: BTreeSet<String>,
}

impl Ids {
    /// A unique id made from `base` (which must be a non-empty slug).
    pub(crate) fn unique(&mut self, base: &str) -> String {
        let mut n = 1usize;
        loop {
            let id = if n == 1 {
                cut(base, MAX_ID).to_owned()
            } else {
                let suffix = format!("-{n}");
                let head = cut(base, MAX_ID - suffix.len()).trim_end_matches('-');
                format!("{head}{suffix}")
            };
            if self.taken.insert(id.clone()) {
                return id;
            }
            n += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug("M1 Security Baseline", MAX_ID), "m1-security-baseline");
        assert_eq!(
            slug("`npm run test:security` clean; CSP hardened", MAX_ID),
            "npm-run-test-security-clean-csp-hardened"
        );
        assert_eq!(
            slug("see [PR](https://x.invalid/1) now", MAX_ID),
            "see-pr-now"
        );
        assert_eq!(slug("How We’ll Use This", MAX_ID), "how-well-use-this");
        assert_eq!(slug("فاز ۱", MAX_ID), "");
        let long = slug(
            "Under N req/s, p95 < X ms, error rate < Y% (targets defined); load tests available",
            MAX_ID,
        );
        assert!(long.len() <= MAX_ID, "{long}");
        assert_eq!(long, "under-n-req-s-p95-x-ms-error-rate-y");
    }

    #[test]
    fn heading_slugs() {
        assert_eq!(heading_slug("Phase 3 (Days 61-90)"), "phase-3");
        assert_eq!(
            heading_slug("Week 1: Security Hardening (P0)"),
            "week-1-security-hardening"
        );
        assert_eq!(heading_slug("4) Rollout"), "rollout");
        assert_eq!(heading_slug("(P0)"), "p0");
    }

    #[test]
    fn mostly_ascii() {
        assert!(is_mostly_ascii("M1 Security"));
        assert!(!is_mostly_ascii("فاز ۱: اجرای `pnpm -w smoke:security`"));
        assert!(!is_mostly_ascii("۱۲۳"));
    }

    #[test]
    fn unique_ids_stay_short() {
        let mut ids = Ids::default();
        let base = "a".repeat(20) + "-" + &"b".repeat(19);
        assert_eq!(base.len(), MAX_ID);
        assert_eq!(ids.unique(&base), base);
        let second = ids.unique(&base);
        assert_eq!(second, format!("{}-2", "a".repeat(20)));
        assert_eq!(ids.unique("x"), "x");
        assert_eq!(ids.unique("x"), "x-2");
        assert_eq!(ids.unique("x"), "x-3");
    }
}
