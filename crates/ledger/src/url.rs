//! Database URLs as phasegate shows them: with the password masked, never in clear.

/// What stands for a password in a URL shown.
const MASK: &str = "***";

/// `url` as messages show it: the password of `user:secret@` becomes `user:***@`, and a
/// `password=` parameter's value `***`. Anything else is kept, so the reader still sees
/// which server, user and database are meant, and that a password was given.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:{MASK}@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some(("password", _)) => format!("password={MASK}"),
                    _ => kv.to_owned(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_owned(),
    };
    let scheme = if scheme.is_empty() {
        String::new()
    } else {
        format!("{scheme}://")
    };
    format!("{scheme}{}{tail}", authority)
}

/// The passwords `url` carries (in its user info or a `password=` parameter), as written
/// and percent-decoded: the values a front end redacts from everything it stores.
pub fn url_secrets(url: &str) -> Vec<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let from_userinfo = authority
        .rsplit_once('@')
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, password)| password);
    let from_query = tail
        .split_once('?')
        .into_iter()
        .flat_map(|(_, q)| q.split('&'))
        .filter_map(|kv| kv.strip_prefix("password="));
    let mut secrets = Vec::new();
    for written in from_userinfo.into_iter().chain(from_query) {
        for form in [written.to_owned(), percent_decode(written)] {
            if !form.is_empty() && !secrets.contains(&form) {
                secrets.push(form);
            }
        }
    }
    secrets
}

/// `%XX` escapes decoded; anything malformed is kept as written.
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_with_their_passwords_masked() {
        assert_eq!(
            redact_url("postgres://u:s3cret@h:5432/db?password=s3cret&sslmode=disable"),
            "postgres://u:***@h:5432/db?password=***&sslmode=disable"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("postgresql://h/db"), "postgresql://h/db");
        assert_eq!(
            redact_url("postgres://u:p@ss@h/db"),
            "postgres://u:***@h/db",
            "an unescaped `@` in the password"
        );
    }

    #[test]
    fn the_secrets_of_a_url_are_its_passwords_as_written_and_decoded() {
        assert_eq!(
            url_secrets("postgres://u:p%40ss@h/db?password=other&x=1"),
            ["p%40ss", "p@ss", "other"]
        );
        assert!(url_secrets("postgres://u@h/db").is_empty());
        assert!(url_secrets("/var/lib/ledger").is_empty());
    }
}
