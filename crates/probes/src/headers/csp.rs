//! Content-Security-Policy: parsing a policy and judging it as a defence against script
//! injection (the `csp` rule) and framing (`frame-ancestors`).

use std::sync::OnceLock;

use regex::Regex;

/// One content security policy: directives in order, the first of a name wins (as browsers do).
#[derive(Debug, Clone, Default)]
pub(super) struct Policy {
    directives: Vec<(String, Vec<String>)>,
}

impl Policy {
    /// Every policy in the given header values (a value can hold several, comma-separated).
    pub fn parse_all(values: &[&str]) -> Vec<Policy> {
        values
            .iter()
            .flat_map(|v| v.split(','))
            .map(Policy::parse)
            .filter(|p| !p.directives.is_empty())
            .collect()
    }

    fn parse(text: &str) -> Policy {
        let mut directives: Vec<(String, Vec<String>)> = Vec::new();
        for part in text.split(';') {
            let mut tokens = part.split_ascii_whitespace();
            let Some(name) = tokens.next() else { continue };
            let name = name.to_ascii_lowercase();
            if directives.iter().any(|(n, _)| *n == name) {
                continue;
            }
            directives.push((name, tokens.map(str::to_string).collect()));
        }
        Policy { directives }
    }

    pub fn get(&self, name: &str) -> Option<&[String]> {
        self.directives
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s.as_slice())
    }

    /// script-src, else default-src.
    fn script_sources(&self) -> Option<&[String]> {
        self.get("script-src").or_else(|| self.get("default-src"))
    }

    /// Problems with this policy as a defence against script injection: (code, message).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        match self.script_sources() {
            None => out.push((
                "csp-script-unrestricted",
                "expected script-src or default-src in the CSP, saw neither".to_string(),
            )),
            Some(sources) => {
                let lower: Vec<String> = sources.iter().map(|s| s.to_ascii_lowercase()).collect();
                let has = |k: &str| lower.iter().any(|s| s == k);
                let nonce_or_hash = lower.iter().any(|s| {
                    ["'nonce-", "'sha256-", "'sha384-", "'sha512-"]
                        .iter()
                        .any(|p| s.starts_with(p))
                });
                let strict_dynamic = has("'strict-dynamic'");
                if strict_dynamic && !nonce_or_hash {
                    out.push((
                        "csp-invalid",
                        "expected a nonce or hash next to 'strict-dynamic' in script-src, saw none"
                            .to_string(),
                    ));
                }
                if has("'unsafe-inline'") && !nonce_or_hash {
                    out.push((
                        "csp-unsafe-inline",
                        format!(
                            "expected no 'unsafe-inline' in script-src, saw {:?}",
                            sources.join(" ")
                        ),
                    ));
                }
                if has("'unsafe-eval'") {
                    out.push((
                        "csp-unsafe-eval",
                        format!(
                            "expected no 'unsafe-eval' in script-src, saw {:?}",
                            sources.join(" ")
                        ),
                    ));
                }
                // With 'strict-dynamic' and a nonce or hash, CSP3 browsers ignore host and
                // scheme sources, so they do not widen the policy.
                if !(strict_dynamic && nonce_or_hash)
                    && let Some(broad) = sources.iter().find(|s| is_broad(s))
                {
                    out.push((
                        "csp-broad-source",
                        format!("expected no wildcard or scheme-only source in script-src, saw {broad:?}"),
                    ));
                }
            }
        }
        match self.get("object-src").or_else(|| self.get("default-src")) {
            None => out.push((
                "csp-object-unrestricted",
                "expected object-src or default-src in the CSP, saw neither".to_string(),
            )),
            Some(sources) => {
                if let Some(broad) = sources.iter().find(|s| is_broad(s)) {
                    out.push((
                        "csp-broad-source",
                        format!("expected no wildcard or scheme-only source in object-src, saw {broad:?}"),
                    ));
                }
            }
        }
        out
    }
}

/// `*` or a scheme-only source such as `https:` or `data:`.
pub(super) fn is_broad(source: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r"^[A-Za-z][A-Za-z0-9+.\-]*:$").expect("static regex"));
    source == "*" || re.is_match(source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_neutralises_unsafe_inline_but_not_unsafe_eval() {
        let p = Policy::parse(
            "script-src 'nonce-abc' 'unsafe-inline' 'unsafe-eval'; object-src 'none'",
        );
        let codes: Vec<_> = p.problems().into_iter().map(|(c, _)| c).collect();
        assert_eq!(codes, ["csp-unsafe-eval"]);
    }

    #[test]
    fn default_src_is_the_fallback_and_data_is_broad() {
        let p = Policy::parse("default-src 'self' data:");
        let codes: Vec<_> = p.problems().into_iter().map(|(c, _)| c).collect();
        assert_eq!(codes, ["csp-broad-source", "csp-broad-source"]);
        assert!(Policy::parse("default-src 'none'").problems().is_empty());
    }

    #[test]
    fn strict_dynamic_ignores_scheme_sources() {
        let p = Policy::parse(
            "script-src 'nonce-x' 'strict-dynamic' https: 'unsafe-inline'; object-src 'none'",
        );
        assert!(p.problems().is_empty());
    }
}
