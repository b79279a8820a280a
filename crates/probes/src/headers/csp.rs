//! Content-Security-Policy: parsing policies as CSP3 does and judging them as a defence against
//! script injection (the `csp` rule) and framing (`frame-ancestors`).
//!
//! Each problem names the *aspect* it weakens (external scripts, inline event handlers, eval,
//! plugins, `<base>`, forms). A response enforces every policy it carries, so an aspect is weak
//! only when every policy leaves it weak: one policy's `script-src 'self'` is not undone by
//! another's `script-src *`.

use std::sync::OnceLock;

use regex::Regex;

/// One content security policy: directives in order, the first of a name wins (CSP3 §2.2.1
/// "parse a serialized CSP", step 2.4: a repeated directive is ignored).
#[derive(Debug, Clone, Default)]
pub(super) struct Policy {
    directives: Vec<(String, Vec<String>)>,
}

/// What a policy is judged for.
#[derive(Debug, Clone, Copy)]
pub(super) struct Scope {
    /// The site is served over https: `http://` sources let a network attacker in.
    pub https: bool,
    /// The response is an HTML document: forms exist only there.
    pub document: bool,
}

/// A weakness of one policy: (finding code, aspect, message).
pub(super) type Problem = (&'static str, &'static str, String);

impl Policy {
    /// Every policy in the `Content-Security-Policy` header values: CSP3 §4.1 parses each
    /// comma-separated token of the combined header list as its own policy.
    pub fn parse_header(values: &[&str]) -> Vec<Policy> {
        values
            .iter()
            .flat_map(|v| v.split(','))
            .map(Policy::parse)
            .filter(|p| !p.directives.is_empty())
            .collect()
    }

    /// The policy of a `<meta http-equiv="Content-Security-Policy">`: the whole content is one
    /// policy (no comma splitting), and HTML's "content security policy state" removes
    /// `report-uri`, `frame-ancestors` and `sandbox` before enforcing it.
    pub fn parse_meta(content: &str) -> Option<Policy> {
        let mut policy = Policy::parse(content);
        policy
            .directives
            .retain(|(n, _)| !matches!(n.as_str(), "report-uri" | "frame-ancestors" | "sandbox"));
        (!policy.directives.is_empty()).then_some(policy)
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

    /// The sources of directive `name`, `'none'` dropped when other sources stand next to it
    /// (CSP3 §2.3.1: "'none'" only means something alone; browsers ignore it otherwise).
    pub fn get(&self, name: &str) -> Option<Vec<String>> {
        let sources = &self.directives.iter().find(|(n, _)| n == name)?.1;
        let none = |s: &String| s.eq_ignore_ascii_case("'none'");
        if sources.len() > 1 {
            Some(sources.iter().filter(|s| !none(s)).cloned().collect())
        } else {
            Some(sources.clone())
        }
    }

    /// The first of `names` present: CSP3's effective-directive fallback lists (§6.8.3).
    fn first_of(&self, names: &[&'static str]) -> Option<(&'static str, Vec<String>)> {
        names
            .iter()
            .find_map(|n| self.get(n).map(|sources| (*n, sources)))
    }

    /// This policy's weaknesses as a defence against script injection, plugins, `<base>` and
    /// form hijacking.
    pub fn problems(&self, scope: Scope) -> Vec<Problem> {
        let mut out = Vec::new();
        // CSP3 §6.8.3: <script> elements use script-src-elem, inline handlers script-src-attr,
        // each falling back to script-src then default-src; eval checks script-src then
        // default-src only (§4.4 "EnsureCSPDoesNotBlockStringCompilation").
        let elem = self.first_of(&["script-src-elem", "script-src", "default-src"]);
        let attr = self.first_of(&["script-src-attr", "script-src", "default-src"]);
        let eval = self.first_of(&["script-src", "default-src"]);
        let mut nonce_based = false;
        match &elem {
            None => out.push((
                "csp-script-unrestricted",
                "script",
                "expected script-src or default-src in the CSP, saw neither".to_string(),
            )),
            Some((name, sources)) => {
                let s = Sources::of(sources);
                nonce_based = s.nonce || (s.hash && s.strict_dynamic);
                if s.strict_dynamic && !s.nonce_or_hash() {
                    out.push((
                        "csp-invalid",
                        "script",
                        format!(
                            "expected a nonce or hash next to 'strict-dynamic' in {name}, saw none"
                        ),
                    ));
                }
                if s.allows_all_inline() {
                    out.push((
                        "csp-unsafe-inline",
                        "script",
                        format!("expected no 'unsafe-inline' (or a valid nonce or hash next to it) in {name}, saw {:?}", sources.join(" ")),
                    ));
                }
                // CSP3 §8.2: with 'strict-dynamic', host and scheme sources are ignored.
                if !s.strict_dynamic {
                    host_problems(name, sources, "script", scope, &mut out);
                }
            }
        }
        match &attr {
            // Only script-src-elem is set: inline event handlers run unchecked.
            None if elem.is_some() => out.push((
                "csp-script-unrestricted",
                "script-attr",
                "expected script-src-attr, script-src or default-src next to script-src-elem, saw none (inline event handlers run unchecked)".to_string(),
            )),
            // The same directive as <script> elements: already judged above.
            Some((name, _)) if elem.as_ref().is_some_and(|(e, _)| e == name) => {}
            Some((name, sources)) if Sources::of(sources).allows_all_inline() => {
                out.push((
                    "csp-unsafe-inline",
                    "script-attr",
                    format!("expected no 'unsafe-inline' in {name} (inline event handlers), saw {:?}", sources.join(" ")),
                ));
            }
            _ => {}
        }
        match &eval {
            None if elem.is_some() => out.push((
                "csp-unsafe-eval",
                "eval",
                "expected script-src or default-src next to script-src-elem, saw neither (eval runs unchecked)".to_string(),
            )),
            Some((name, sources)) if sources.iter().any(|s| s.eq_ignore_ascii_case("'unsafe-eval'")) => {
                out.push((
                    "csp-unsafe-eval",
                    "eval",
                    format!("expected no 'unsafe-eval' in {name}, saw {:?}", sources.join(" ")),
                ));
            }
            _ => {}
        }
        match self.first_of(&["object-src", "default-src"]) {
            None => out.push((
                "csp-object-unrestricted",
                "object",
                "expected object-src or default-src in the CSP, saw neither".to_string(),
            )),
            Some((name, sources)) => host_problems(name, &sources, "object", scope, &mut out),
        }
        // base-uri has no fallback. An injected <base> moves the relative URL of a nonced
        // script to the attacker's host and the nonce still admits it; an allow-list needs no
        // base-uri, as the moved URL must still match it (CSP Evaluator's rule too).
        if nonce_based {
            match self.get("base-uri") {
                None => out.push((
                    "csp-base-uri-missing",
                    "base",
                    "expected base-uri 'none' or 'self' in a nonce-based CSP, saw no base-uri (an injected <base> redirects nonced relative scripts)".to_string(),
                )),
                Some(sources) => {
                    if let Some(broad) = sources.iter().find(|s| is_broad(s)) {
                        out.push((
                            "csp-base-uri-unsafe",
                            "base",
                            format!("expected base-uri 'none', 'self' or an allow-list, saw {broad:?}"),
                        ));
                    }
                }
            }
        }
        // form-action has no fallback either; forms exist only in documents.
        if scope.document {
            match self.get("form-action") {
                None => out.push((
                    "csp-form-action-missing",
                    "form",
                    "expected form-action in the CSP of an HTML page, saw none (an injected form can post anywhere)".to_string(),
                )),
                Some(sources) => {
                    if let Some(broad) = sources.iter().find(|s| is_broad(s)) {
                        out.push((
                            "csp-form-action-unsafe",
                            "form",
                            format!("expected form-action 'self', 'none' or an allow-list, saw {broad:?}"),
                        ));
                    }
                }
            }
        }
        out
    }
}

/// Broad and insecure host or scheme sources in a fetch directive.
fn host_problems(
    name: &str,
    sources: &[String],
    aspect: &'static str,
    scope: Scope,
    out: &mut Vec<Problem>,
) {
    if let Some(broad) = sources.iter().find(|s| is_broad(s)) {
        out.push((
            "csp-broad-source",
            aspect,
            format!("expected no wildcard or scheme-only source in {name}, saw {broad:?}"),
        ));
    } else if scope.https
        && let Some(insecure) = sources
            .iter()
            .find(|s| s.to_ascii_lowercase().starts_with("http://"))
    {
        out.push((
            "csp-insecure-source",
            aspect,
            format!("expected only https sources in {name} of an https site, saw {insecure:?} (a network attacker can replace what it serves)"),
        ));
    }
}

/// The keyword, nonce and hash sources of a script source list.
struct Sources {
    nonce: bool,
    hash: bool,
    strict_dynamic: bool,
    unsafe_inline: bool,
}

impl Sources {
    fn of(sources: &[String]) -> Sources {
        static NONCE: OnceLock<Regex> = OnceLock::new();
        static HASH: OnceLock<Regex> = OnceLock::new();
        // CSP3 §2.3.1: nonce-source = "'nonce-" base64-value "'", hash-source = "'"
        // hash-algorithm "-" base64-value "'", base64-value = 1*( ALPHA / DIGIT / "+" / "/" /
        // "-" / "_" ) *2( "=" ); keywords match case-insensitively. Anything else is not a
        // nonce or hash and does not switch 'unsafe-inline' off.
        let nonce = NONCE.get_or_init(|| {
            Regex::new(r"^'(?i:nonce)-[A-Za-z0-9+/_-]+={0,2}'$").expect("static regex")
        });
        let hash = HASH.get_or_init(|| {
            Regex::new(r"^'(?i:sha256|sha384|sha512)-[A-Za-z0-9+/_-]+={0,2}'$")
                .expect("static regex")
        });
        let has = |k: &str| sources.iter().any(|s| s.eq_ignore_ascii_case(k));
        Sources {
            nonce: sources.iter().any(|s| nonce.is_match(s)),
            hash: sources.iter().any(|s| hash.is_match(s)),
            strict_dynamic: has("'strict-dynamic'"),
            unsafe_inline: has("'unsafe-inline'"),
        }
    }

    fn nonce_or_hash(&self) -> bool {
        self.nonce || self.hash
    }

    /// CSP3 §6.7.3.3 "Does a source list allow all inline behavior": a nonce, a hash or
    /// 'strict-dynamic' switches 'unsafe-inline' off.
    fn allows_all_inline(&self) -> bool {
        self.unsafe_inline && !self.nonce_or_hash() && !self.strict_dynamic
    }
}

/// A source that admits (nearly) any origin: `*`, a scheme-only source (`https:`, `data:`), or
/// a host wildcard on no real domain (`https://*`, `*:443`, `*.*`, `*.com`).
pub(super) fn is_broad(source: &str) -> bool {
    static SCHEME: OnceLock<Regex> = OnceLock::new();
    let scheme =
        SCHEME.get_or_init(|| Regex::new(r"^[A-Za-z][A-Za-z0-9+.\-]*:$").expect("static regex"));
    if source.starts_with('\'') {
        return false;
    }
    if source == "*" || scheme.is_match(source) {
        return true;
    }
    let rest = source.split_once("://").map_or(source, |(_, r)| r);
    let host = rest.split(['/', ':']).next().unwrap_or_default();
    match host.strip_prefix("*.") {
        _ if host == "*" => true,
        // `*.example.com` names a domain; `*.com` and `*.*` name none.
        Some(domain) => !domain.contains('.') || domain.contains('*'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCOPE: Scope = Scope {
        https: true,
        document: false,
    };

    fn codes(csp: &str) -> Vec<&'static str> {
        Policy::parse(csp)
            .problems(SCOPE)
            .into_iter()
            .map(|(c, _, _)| c)
            .collect()
    }

    #[test]
    fn nonce_neutralises_unsafe_inline_but_not_unsafe_eval() {
        assert_eq!(
            codes(
                "script-src 'nonce-abc' 'unsafe-inline' 'unsafe-eval'; object-src 'none'; base-uri 'none'"
            ),
            ["csp-unsafe-eval"]
        );
    }

    #[test]
    fn default_src_is_the_fallback_and_data_is_broad() {
        assert_eq!(
            codes("default-src 'self' data:"),
            ["csp-broad-source", "csp-broad-source"]
        );
        assert!(codes("default-src 'none'").is_empty());
    }

    #[test]
    fn strict_dynamic_ignores_scheme_sources() {
        assert!(codes("script-src 'nonce-x' 'strict-dynamic' https: 'unsafe-inline'; object-src 'none'; base-uri 'none'").is_empty());
    }

    #[test]
    fn malformed_nonces_do_not_count() {
        for bad in [
            "'nonce-'",
            "'nonce-a b'",
            "'nonce-abc",
            "'nonce-ab$c'",
            "'sha1-abc'",
        ] {
            let csp = format!("script-src {bad} 'unsafe-inline'; object-src 'none'");
            assert!(codes(&csp).contains(&"csp-unsafe-inline"), "{bad}");
        }
    }

    #[test]
    fn broad_sources() {
        for s in [
            "*",
            "https:",
            "data:",
            "https://*",
            "*.*",
            "*.com",
            "http://*:8080",
        ] {
            assert!(is_broad(s), "{s}");
        }
        for s in [
            "'self'",
            "https://cdn.example.com",
            "*.example.com",
            "'none'",
        ] {
            assert!(!is_broad(s), "{s}");
        }
    }

    #[test]
    fn none_next_to_other_sources_is_ignored() {
        let p = Policy::parse("frame-ancestors 'none' *");
        assert_eq!(p.get("frame-ancestors").unwrap(), ["*"]);
    }
}
