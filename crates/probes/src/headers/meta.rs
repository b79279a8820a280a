//! The `<meta>` elements of an HTML page that browsers treat like headers (CSP, referrer).

use std::sync::OnceLock;

use regex::Regex;

/// The `<meta>` elements of an HTML page that act like headers.
#[derive(Debug, Default)]
pub(super) struct Meta {
    /// `content` of each `<meta http-equiv="Content-Security-Policy">` in `<head>`.
    pub csp: Vec<String>,
    /// `content` of each `<meta name="referrer">`.
    pub referrer: Vec<String>,
}

impl Meta {
    pub fn from_html(html: &str) -> Meta {
        static META: OnceLock<Regex> = OnceLock::new();
        static ATTR: OnceLock<Regex> = OnceLock::new();
        let meta = META.get_or_init(|| Regex::new(r"(?is)<meta\s[^>]*>").expect("static regex"));
        let attr = ATTR.get_or_init(|| {
            Regex::new(r#"(?s)([A-Za-z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))"#)
                .expect("static regex")
        });
        static HEAD_END: OnceLock<Regex> = OnceLock::new();
        // HTML's "content security policy state" returns early unless the meta is a child of
        // <head>: the parser closes <head> at `</head>` or `<body>`, so a meta after either is
        // in the body and ignored (the referrer meta counts anywhere in the document).
        let head_end = HEAD_END
            .get_or_init(|| Regex::new(r"(?i)</head|<body[\s>]").expect("static regex"))
            .find(html)
            .map_or(html.len(), |m| m.start());
        let mut out = Meta::default();
        for tag in meta.find_iter(html) {
            let mut http_equiv = None;
            let mut name = None;
            let mut content = None;
            for c in attr.captures_iter(tag.as_str()) {
                let value = c
                    .get(2)
                    .or_else(|| c.get(3))
                    .or_else(|| c.get(4))
                    .map(|m| m.as_str().to_string());
                match c[1].to_ascii_lowercase().as_str() {
                    "http-equiv" => http_equiv = value,
                    "name" => name = value,
                    "content" => content = value,
                    _ => {}
                }
            }
            // An absent or empty content is ignored for both (HTML §4.2.5.3, §4.2.5.1).
            let Some(content) = content.filter(|c| !c.is_empty()) else {
                continue;
            };
            if http_equiv.is_some_and(|h| h.eq_ignore_ascii_case("content-security-policy")) {
                if tag.start() < head_end {
                    out.csp.push(content);
                }
            } else if name.is_some_and(|n| n.eq_ignore_ascii_case("referrer")) {
                out.referrer.push(content);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_tags_are_found() {
        let m = Meta::from_html(
            r#"<html><head><META http-equiv="Content-Security-Policy" content="default-src 'none'"><meta name=referrer content='no-referrer'></head>"#,
        );
        assert_eq!(m.csp, ["default-src 'none'"]);
        assert_eq!(m.referrer, ["no-referrer"]);
    }

    #[test]
    fn csp_meta_in_the_body_is_ignored() {
        let m = Meta::from_html(
            r#"<html><head></head><body><meta http-equiv="Content-Security-Policy" content="default-src 'none'"><meta name="referrer" content="no-referrer"></body>"#,
        );
        assert!(m.csp.is_empty());
        assert_eq!(m.referrer, ["no-referrer"]);
    }
}
