//! "Did you mean ...?" for misspelt keys and ids.

/// Similarity (Jaro-Winkler) above which a candidate is offered as a suggestion.
const SUGGEST: f64 = 0.8;

/// The candidate most similar to `word`, when it is similar enough to be what was meant.
pub fn did_you_mean<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    best(word, candidates, SUGGEST)
}

/// The candidate `word` is almost certainly a typo of: one letter added, dropped, changed
/// or two swapped. Used to tell a misspelt gate key from a probe parameter, where a false
/// positive would reject a legitimate parameter (`secret` is not `secret_env`), so it is
/// stricter than [`did_you_mean`] and ignores keys shorter than four letters (`cmd` is not
/// `cwd`).
pub(crate) fn typo_of<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let lower = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .find(|c| c.len() >= 4 && *c != word && strsim::osa_distance(&lower, c) <= 1)
}

fn best<'a, I>(word: &str, candidates: I, threshold: f64) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let lower = word.to_ascii_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        if c == word {
            continue;
        }
        let mut score = strsim::jaro_winkler(&lower, c);
        // Jaro-Winkler undervalues a swap in a short word (`rnu` for `run`).
        if lower.len() >= 3 && strsim::osa_distance(&lower, c) <= 1 {
            score = score.max(threshold);
        }
        // Strictly greater: on a tie the earlier candidate (in file order) wins.
        if score >= threshold && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}

/// `help` text for a suggestion.
pub(crate) fn help(suggestion: Option<&str>) -> Option<String> {
    suggestion.map(|s| format!("did you mean `{s}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::check::GATE_KEYS;

    #[test]
    fn suggests_close_words_only() {
        assert_eq!(
            did_you_mean("timout", GATE_KEYS.iter().copied()),
            Some("timeout")
        );
        assert_eq!(
            did_you_mean("neds", GATE_KEYS.iter().copied()),
            Some("needs")
        );
        assert_eq!(
            did_you_mean("retry", GATE_KEYS.iter().copied()),
            Some("retries")
        );
        assert_eq!(
            did_you_mean("Title", GATE_KEYS.iter().copied()),
            Some("title")
        );
        assert_eq!(did_you_mean("zebra", GATE_KEYS.iter().copied()), None);
    }

    #[test]
    fn typical_probe_parameters_are_not_typos_of_gate_keys() {
        for param in [
            "path",
            "secret",
            "expect",
            "method",
            "headers",
            "status",
            "origin",
            "origins",
            "roles",
            "url",
            "port",
            "body",
            "json",
            "rps",
            "duration",
            "p95_ms",
            "threshold",
            "allow",
            "deny",
            "families",
            "command",
            "within",
            "targets",
            "header",
            "cookies",
            "matrix",
            "burst",
            "rate",
            "limit",
            "endpoint",
            "database",
            "restore",
            "fault",
            "max_ms",
            "requests",
            "concurrency",
            "allowlist",
            "files",
            "paths",
            "service_url",
            "cmd",
            "servers",
            "retry",
        ] {
            assert_eq!(typo_of(param, GATE_KEYS.iter().copied()), None, "{param}");
        }
        for typo in [
            "timout",
            "neds",
            "retires",
            "blockng",
            "fresh-for",
            "inptus",
            "titel",
        ] {
            assert!(typo_of(typo, GATE_KEYS.iter().copied()).is_some(), "{typo}");
        }
    }
}
