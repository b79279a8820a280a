//! What looks like a secret but is not one: placeholders, the providers' documented example
//! keys, lockfile integrity hashes, UUIDs, variable references, and lines that carry an inline
//! ignore marker.

/// Inline markers that silence the line they are on: ours and those of the common scanners,
/// so that a repository moving to phasegate keeps its decisions.
const SAME_LINE: &[&[u8]] = &[
    b"phasegate:allow-secret",
    b"phasegate:ignore",
    b"gitleaks:allow",
    b"pragma: allowlist secret",
    b"secretlint-disable-line",
    b"trufflehog:ignore",
    b"kingfisher:ignore",
];

/// Markers that silence the next line.
const NEXT_LINE: &[&[u8]] = &[
    b"phasegate:allow-secret-next-line",
    b"pragma: allowlist nextline secret",
    b"secretlint-disable-next-line",
];

/// Whether `line` (or `previous`, for next-line markers) silences findings on `line`.
pub fn ignored_inline(line: &[u8], previous: Option<&[u8]>) -> bool {
    SAME_LINE.iter().any(|m| contains(line, m))
        || previous.is_some_and(|p| NEXT_LINE.iter().any(|m| contains(p, m)))
}

/// Values the providers publish in their documentation, and the jwt.io sample's signature.
const DOCUMENTED: &[&str] = &[
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    "4eC39HqLyjWDarjtT1zdp7dc",
    "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy",
    "T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
];

/// Words that mark a value as a stand-in (matched case-insensitively, inside the value).
const PLACEHOLDER_WORDS: &[&str] = &[
    "example",
    "changeme",
    "change_me",
    "change-me",
    "placeholder",
    "your_",
    "your-",
    "yourkey",
    "yourtoken",
    "yoursecret",
    "yourpassword",
    "redacted",
    "dummy",
    "sample",
    "insert",
    "replace",
    "xxxx",
    "****",
    "....",
    "<",
    "${",
    "{{",
    "%(",
    "$(",
    "0123456789",
    "123456789",
    "abcdefgh",
    "qwerty",
    "notreal",
    "not_real",
    "not-a-",
    "foobar",
    "lorem",
];

/// Passwords so common in local-development URLs and examples that no one guards them.
const TRIVIAL: &[&str] = &[
    "password", "passwd", "pass", "secret", "postgres", "root", "admin", "guest", "user", "mysql",
    "redis", "test", "testing", "example", "changeme", "default", "pwd", "mongo", "rabbitmq", "sa",
    "letmein", "hunter2",
];

/// Whether `secret` is a placeholder, a documented example or otherwise not a credential.
pub fn is_noise(secret: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(secret) else {
        return false;
    };
    if DOCUMENTED.iter().any(|d| s.contains(d)) || s.contains("EXAMPLE") {
        return true;
    }
    let lower = s.to_ascii_lowercase();
    if PLACEHOLDER_WORDS.iter().any(|w| lower.contains(w)) || TRIVIAL.contains(&lower.as_str()) {
        return true;
    }
    // `***`, `xxx`, `...`: a value masked or elided by hand.
    let masked = s.bytes().all(|c| b"*xX.#-_".contains(&c));
    masked || has_run(secret, 6) || is_uuid(s)
}

/// The same character `n` times in a row: `0000000`, `aaaaaaa` (a random token of 40 base62
/// characters holds such a run with probability under 10^-8).
fn has_run(bytes: &[u8], n: usize) -> bool {
    bytes
        .chunk_by(|a, b| a == b)
        .any(|run| run.len() >= n && run[0] != b'\n' && run[0] != b' ')
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// What a generic assignment's value must not be: a reference to a variable or a call, an
/// identifier, a path, a hash of a lockfile, or text without the variety of a random string.
pub fn is_not_random(value: &[u8], key: &[u8]) -> bool {
    let Ok(v) = std::str::from_utf8(value) else {
        return true;
    };
    let key = key.to_ascii_lowercase();
    const NOT_SECRET_KEYS: &[&[u8]] = &[
        b"hash",
        b"digest",
        b"checksum",
        b"sha",
        b"fingerprint",
        b"integrity",
        b"_id",
        b"name",
        b"file",
        b"path",
        b"url",
        b"uri",
        b"length",
        b"type",
        b"field",
        b"label",
        b"policy",
        b"header",
        b"endpoint",
        b"prefix",
        b"version",
        b"count",
        b"expir",
        b"ttl",
        b"timeout",
        b"format",
        b"public",
        b"pattern",
        b"regex",
        b"param",
        b"_len",
        b"size",
        b"mode",
        b"kind",
    ];
    if NOT_SECRET_KEYS.iter().any(|k| contains(&key, k)) {
        return true;
    }
    let has = |f: fn(&u8) -> bool| value.iter().any(f);
    let classes = [
        has(u8::is_ascii_lowercase),
        has(u8::is_ascii_uppercase),
        has(u8::is_ascii_digit),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    let integrity = ["sha512-", "sha384-", "sha256-", "sha1-", "md5-"]
        .iter()
        .any(|p| v.starts_with(p));
    // `self.password`, `config.api_key`, `process.env.TOKEN`: a dotted identifier.
    let dotted = v.contains('.')
        && v.split('.').all(|p| {
            !p.is_empty()
                && p.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
                && !p.as_bytes()[0].is_ascii_digit()
        });
    // `SOME_ENV_NAME`, `get_password_from_vault`, `Win32_System`: words (a few digits at
    // their end at most) joined by underscores or dashes.
    let words = (v.contains('_') || v.contains('-'))
        && v.split(['_', '-']).all(|p| {
            let letters = p.trim_end_matches(|c: char| c.is_ascii_digit());
            p.len() - letters.len() <= 3 && letters.bytes().all(|c| c.is_ascii_alphabetic())
        });
    // Random strings of this length almost always hold a digit or a symbol; letters only
    // are a word or an identifier (`SecretEncoding`).
    let letters_only = value.iter().all(u8::is_ascii_alphabetic) && value.len() < 32;
    integrity
        || letters_only
        || dotted
        || words
        || classes < 2
        || v.starts_with('/')
        || v.starts_with("./")
        || v.starts_with("http")
        // `tests/key.p8`: a file name.
        || (v.contains('/')
            && v.rsplit_once('.').is_some_and(|(_, ext)| {
                (1..=4).contains(&ext.len()) && ext.bytes().all(|c| c.is_ascii_alphanumeric())
            }))
        || v.ends_with(".json")
        || v.ends_with(".pem")
}

/// Source files, where an unquoted value after `name =` or `name:` is an expression, a type
/// or a constant, never a literal secret (configuration files and shell scripts are not in
/// this list: `TOKEN=abc...` there is the value itself).
const CODE: &[&str] = &[
    "rs", "c", "h", "cc", "cpp", "cxx", "hpp", "hh", "cs", "java", "kt", "kts", "go", "py", "rb",
    "php", "js", "jsx", "mjs", "cjs", "ts", "tsx", "swift", "scala", "m", "mm", "dart", "lua",
    "pl", "ex", "exs", "erl", "hs", "ml", "fs", "vb", "groovy", "zig", "nim", "sql",
];

/// Whether `path` is source code (by its extension).
pub fn is_code(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty() && CODE.contains(&ext.to_ascii_lowercase().as_str())
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_examples_and_uuids_are_noise() {
        for s in [
            "AKIAIOSFODNN7EXAMPLE",
            "<your-api-key>",
            "${API_TOKEN}",
            "{{ api_token }}",
            "xxxxxxxxxxxxxxxx",
            "changeme",
            "123e4567-e89b-12d3-a456-426614174000",
            "sk_live_0000000000000000000000000",
        ] {
            assert!(is_noise(s.as_bytes()), "{s}");
        }
        assert!(!is_noise(b"Zq8vR2mN5kT1wXy7Lp3s"));
    }

    #[test]
    fn references_and_lockfile_hashes_are_not_random_values() {
        for v in [
            "process.env.API_TOKEN",
            "SECRET_KEY_NAME",
            "sha512-AbC123xyz=",
            "lowercaseonly",
        ] {
            assert!(is_not_random(v.as_bytes(), b"token"), "{v}");
        }
        assert!(is_not_random(b"Zq8vR2mN5kT1wXy7Lp3s", b"token_hash"));
        assert!(!is_not_random(b"Zq8vR2mN5kT1wXy7Lp3s", b"api_token"));
        assert!(is_not_random(b"Win32_System", b"token"));
        assert!(is_not_random(b"MI_UserPasswordCreds", b"credentials"));
        assert!(!is_not_random(b"aB3_xY9z-Qr7kLm2Np4", b"token"));
        assert!(is_code("src/main.rs") && !is_code(".env") && !is_code("deploy.sh"));
    }

    #[test]
    fn markers_silence_their_line_or_the_next() {
        assert!(ignored_inline(b"x = 1 # gitleaks:allow", None));
        assert!(ignored_inline(
            b"x",
            Some(b"# pragma: allowlist nextline secret")
        ));
        assert!(!ignored_inline(b"x", Some(b"# gitleaks:allow")));
    }
}
