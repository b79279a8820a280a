//! The built-in rules: the providers' documented token formats, private keys, JWTs, URLs with
//! passwords and generic secret assignments. Each rule names the literal keywords one of which
//! must occur near a match (the prefilter), its regex, which group is the secret, a minimum
//! entropy and the check its format carries (a checksum, a decodable header).

use base64::Engine as _;

/// What must hold of a candidate beyond its regex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Nothing more.
    None,
    /// GitHub classic tokens and npm tokens: the last 6 characters are the base62 CRC32 of
    /// the 30 random characters after the 4-character prefix.
    Crc32Base62,
    /// A JWT: the header decodes to a JSON object naming an `alg`, the payload to JSON.
    Jwt,
}

/// One rule, built in or read from a rule file.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Stable id, used in fingerprints, baselines and SARIF.
    pub id: String,
    /// What the rule finds, for people.
    pub description: String,
    /// The regex (Rust `regex` syntax, which accepts gitleaks' RE2 rules).
    pub regex: Option<String>,
    /// Which capture group is the secret (0: the whole match; absent: the first group that
    /// matched, else the whole match).
    pub secret_group: Option<usize>,
    /// Literals (case-insensitive) one of which must occur near a match; none: every file.
    pub keywords: Vec<String>,
    /// Minimum Shannon entropy (bits per byte) of the secret.
    pub entropy: Option<f64>,
    /// A regex over the file's path the rule applies to (alone: a file-name rule).
    pub path: Option<String>,
    /// How far from a keyword a match may start or end, in bytes.
    pub reach: usize,
    /// Format check.
    pub check: Check,
    /// Generic rules also require the value to look random (see `filter`).
    pub generic: bool,
    /// Rule-level allowlists.
    pub allow: Vec<crate::Allowlist>,
}

/// Default reach: a secret sits on the keyword's line, a little before or after it.
const NEAR: usize = 256;

struct Builtin {
    id: &'static str,
    description: &'static str,
    keywords: &'static [&'static str],
    regex: &'static str,
    entropy: Option<f64>,
    reach: usize,
    check: Check,
    generic: bool,
}

const fn rule(
    id: &'static str,
    description: &'static str,
    keywords: &'static [&'static str],
    regex: &'static str,
) -> Builtin {
    Builtin {
        id,
        description,
        keywords,
        regex,
        entropy: None,
        reach: NEAR,
        check: Check::None,
        generic: false,
    }
}

impl Builtin {
    const fn entropy(mut self, bits: f64) -> Builtin {
        self.entropy = Some(bits);
        self
    }
    const fn check(mut self, check: Check) -> Builtin {
        self.check = check;
        self
    }
    const fn reach(mut self, reach: usize) -> Builtin {
        self.reach = reach;
        self
    }
    const fn generic(mut self) -> Builtin {
        self.generic = true;
        self
    }
}

// The secret is the first capture group. Built-in regexes run with Unicode off (ASCII `\b`,
// `\s`), which keeps them on the fast engines and lets them run on bytes that are not UTF-8.
const BUILTINS: &[Builtin] = &[
    rule(
        "aws-access-key-id",
        "AWS access key ID",
        &["AKIA", "ASIA", "ABIA", "ACCA"],
        r"\b((?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b",
    ),
    rule(
        "aws-secret-access-key",
        "AWS secret access key",
        &["secret_access_key", "secretaccesskey", "aws_secret", "secret-access-key"],
        r#"(?i)(?:aws)?[_.-]?secret[_.-]?(?:access[_.-]?)?key(?:_id)?["']?\s*(?:[:=]|=>|:=)\s*["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"#,
    )
    .entropy(3.5),
    rule(
        "gcp-api-key",
        "Google Cloud API key",
        &["AIza"],
        r"\b(AIza[0-9A-Za-z_-]{35})(?:[^0-9A-Za-z_-]|$)",
    ),
    rule(
        "gcp-oauth-client-secret",
        "Google OAuth client secret",
        &["GOCSPX-"],
        r"\b(GOCSPX-[0-9A-Za-z_-]{28})(?:[^0-9A-Za-z_-]|$)",
    ),
    rule(
        "azure-storage-account-key",
        "Azure storage account key",
        &["AccountKey"],
        r"(?i)AccountKey\s*=\s*([A-Za-z0-9+/]{86}==)",
    ),
    rule(
        "azure-ad-client-secret",
        "Azure AD (Entra ID) client secret",
        &["Q~"],
        r"(?:^|[^0-9A-Za-z_~.-])([0-9A-Za-z_~.-]{3}[0-9]Q~[0-9A-Za-z_~.-]{31,34})(?:[^0-9A-Za-z_~.-]|$)",
    )
    .entropy(3.5),
    rule(
        "github-token",
        "GitHub classic token (personal, OAuth, app, refresh)",
        &["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
        r"\b(gh[pousr]_[0-9A-Za-z]{36})\b",
    )
    .check(Check::Crc32Base62),
    rule(
        "github-fine-grained-pat",
        "GitHub fine-grained personal access token",
        &["github_pat_"],
        r"\b(github_pat_[0-9A-Za-z]{22}_[0-9A-Za-z]{59})\b",
    )
    .entropy(4.0),
    rule(
        "gitlab-token",
        "GitLab token (personal, deploy, runner, trigger, OAuth)",
        &["glpat-", "gldt-", "glrt-", "glptt-", "gloas-", "glcbt-"],
        r"\b((?:glpat|gldt|glrt|glptt|gloas|glcbt)-[0-9A-Za-z_-]{20,}(?:\.[0-9A-Za-z_.-]+)?)",
    )
    .entropy(3.0),
    rule(
        "slack-token",
        "Slack token",
        &["xoxb-", "xoxp-", "xoxa-", "xoxo-", "xoxr-", "xoxs-", "xoxe", "xapp-"],
        r"\b((?:xox[abposr]|xoxe\.xox[bp]|xoxe)-(?:[0-9]+-)+[0-9A-Za-z-]{10,}|xapp-[0-9]-[0-9A-Z]+-[0-9]+-[0-9a-f]{20,})\b",
    )
    .entropy(3.0),
    rule(
        "slack-webhook",
        "Slack incoming webhook URL",
        &["hooks.slack.com"],
        r"hooks\.slack\.com/(?:services|workflows|triggers)/([0-9A-Za-z_/-]{40,})",
    )
    .entropy(3.5),
    rule(
        "stripe-live-key",
        "Stripe live secret or restricted key",
        &["sk_live_", "rk_live_"],
        r"\b((?:sk|rk)_live_[0-9A-Za-z]{24,247})\b",
    )
    .entropy(3.5),
    rule(
        "sendgrid-api-key",
        "SendGrid API key",
        &["SG."],
        r"\b(SG\.[0-9A-Za-z_-]{22}\.[0-9A-Za-z_-]{43})(?:[^0-9A-Za-z_-]|$)",
    ),
    rule(
        "mailgun-api-key",
        "Mailgun private API key",
        &["key-"],
        r"\b(key-[0-9a-f]{32})\b",
    )
    .entropy(3.2),
    rule(
        "twilio-api-key",
        "Twilio API key SID with its context",
        &["twilio"],
        r"\b(SK[0-9a-f]{32})\b",
    )
    .entropy(3.2)
    .reach(512),
    rule(
        "twilio-auth-token",
        "Twilio auth token",
        &["twilio"],
        r#"(?i)twilio[\w.-]{0,20}(?:auth|secret|token)[\w.-]{0,20}["']?\s*(?:[:=]|=>)\s*["']?([0-9a-f]{32})\b"#,
    )
    .entropy(3.2),
    rule(
        "npm-token",
        "npm access token",
        &["npm_"],
        r"\b(npm_[0-9A-Za-z]{36})\b",
    )
    .check(Check::Crc32Base62),
    rule(
        "pypi-token",
        "PyPI upload token",
        &["pypi-AgEIcHlwaS5vcmc", "pypi-AgENdGVzdC5weXBpLm9yZw"],
        r"\b(pypi-Ag(?:EIcHlwaS5vcmc|ENdGVzdC5weXBpLm9yZw)[0-9A-Za-z_-]{50,})",
    ),
    rule(
        "openai-api-key",
        "OpenAI API key",
        &["T3BlbkFJ"],
        r"\b(sk-(?:proj-|svcacct-|admin-)?[0-9A-Za-z_-]{20,}T3BlbkFJ[0-9A-Za-z_-]{20,})",
    ),
    rule(
        "anthropic-api-key",
        "Anthropic API key",
        &["sk-ant-"],
        r"\b(sk-ant-(?:api|admin)[0-9]{2}-[0-9A-Za-z_-]{80,})",
    ),
    rule(
        "private-key",
        "Private key (PEM, OpenSSH, PGP)",
        &["PRIVATE KEY"],
        // The body may be split by real newlines or by `\n` escapes (keys inside JSON).
        r"-----BEGIN[ A-Z0-9]{0,30}PRIVATE KEY(?: BLOCK)?-----((?:\\[nr]|[\s:,=A-Za-z0-9+/-])*?[A-Za-z0-9+/=]{40,}(?:\\[nr]|[\s:,=A-Za-z0-9+/-])*?)-----END[ A-Z0-9]{0,30}PRIVATE KEY",
    )
    .reach(16384),
    rule(
        "putty-private-key",
        "PuTTY private key",
        &["PuTTY-User-Key-File"],
        // The whole key from its header, so that it is reported where it starts.
        r"(PuTTY-User-Key-File-[0-9]: [^\r\n]+(?:\r?\n[^\r\n]*){0,10}?\r?\nPrivate-Lines: [0-9]+\r?\n[A-Za-z0-9+/=\r\n]{40,})",
    )
    .reach(16384),
    rule(
        "jwt",
        "JSON Web Token",
        &["eyJ"],
        r"\b(eyJ[0-9A-Za-z_-]{10,}\.eyJ[0-9A-Za-z_-]{10,}\.[0-9A-Za-z_-]{20,})",
    )
    .check(Check::Jwt)
    .reach(4096),
    rule(
        "url-password",
        "URL or connection string with a password",
        &["://"],
        r#"\b[a-zA-Z][a-zA-Z0-9+.-]{1,30}://[^\s:/@"'<>`]{1,128}:([^\s/@"'<>`]{3,128})@[0-9A-Za-z_.-]+"#,
    ),
    rule(
        "connection-string-password",
        "Connection string with a password (Password=...;)",
        &["password=", "pwd="],
        r#"(?i)(?:^|[;"'\s])(?:password|pwd)\s*=\s*([^;"'\s<>{}$]{6,128})(?:;|["']|\s|$)"#,
    )
    .entropy(2.5),
    rule(
        "generic-secret",
        "Secret assigned to a password, secret, token or API key variable",
        &[
            "password", "passwd", "secret", "token", "api_key", "apikey", "api-key", "access_key",
            "accesskey", "private_key", "auth_key", "credential",
        ],
        r#"(?i)[\w.-]{0,40}(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|auth[_-]?key|credentials?)[\w.-]{0,30}["']?[ \t]*(?:=|:=|:|=>|\?=|,)[ \t]*(?:[rbuf]?["'`]|\[?["'])?([0-9A-Za-z_+/=!#%^&*.~@-]{10,200})(?:["'`\s,;)\]}]|$)"#,
    )
    .entropy(3.3)
    .generic(),
];

/// The built-in rules.
pub fn builtins() -> Vec<Rule> {
    BUILTINS
        .iter()
        .map(|b| Rule {
            id: b.id.to_owned(),
            description: b.description.to_owned(),
            regex: Some(format!("(?-u){}", b.regex)),
            secret_group: None,
            keywords: b.keywords.iter().map(|k| (*k).to_owned()).collect(),
            entropy: b.entropy,
            path: None,
            reach: b.reach,
            check: b.check,
            generic: b.generic,
            allow: Vec::new(),
        })
        .collect()
}

/// Whether `secret` passes the check its format carries.
pub fn passes(check: Check, secret: &[u8]) -> bool {
    match check {
        Check::None => true,
        Check::Crc32Base62 => crc32_base62(secret),
        Check::Jwt => jwt(secret),
    }
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `prefix_` (4 bytes) + 30 random + 6 base62 digits of CRC32(random), zero-padded, as GitHub
/// documented for its 2021 formats and npm adopted.
fn crc32_base62(token: &[u8]) -> bool {
    if token.len() != 40 {
        return false;
    }
    token[34..] == base62_6(crc32fast::hash(&token[4..34]))
}

/// The 6-digit base62 form of `n` (62^6 > 2^32, so 6 digits always suffice).
pub fn base62_6(mut n: u32) -> [u8; 6] {
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out
}

fn jwt(token: &[u8]) -> bool {
    let mut parts = token.split(|b| *b == b'.');
    let (Some(header), Some(payload)) = (parts.next(), parts.next()) else {
        return false;
    };
    let decode = |part: &[u8]| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
    };
    let Some(header) = decode(header) else {
        return false;
    };
    let alg = header.get("alg").and_then(|a| a.as_str());
    // An unsigned token (`alg: none`) grants nothing a reader could not forge.
    matches!(alg, Some(a) if !a.eq_ignore_ascii_case("none"))
        && decode(payload).is_some_and(|p| p.is_object())
}

/// Shannon entropy of `bytes` in bits per byte.
pub fn entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for b in bytes {
        counts[usize::from(*b)] += 1;
    }
    let n = bytes.len() as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = f64::from(*c) / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksum_accepts_its_own_digits_and_refuses_one_changed_character() {
        let random = b"abcdefghijABCDEFGHIJ0123456789";
        let mut token = b"ghp_".to_vec();
        token.extend_from_slice(random);
        token.extend_from_slice(&base62_6(crc32fast::hash(random)));
        assert!(crc32_base62(&token));
        token[10] = b'Z';
        assert!(!crc32_base62(&token));
    }

    #[test]
    fn a_jwt_needs_a_json_header_with_an_algorithm() {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let token = |h: &str| format!("{}.{}.c2lnbmF0dXJl", b64(h), b64(r#"{"sub":"1"}"#));
        assert!(jwt(token(r#"{"alg":"HS256","typ":"JWT"}"#).as_bytes()));
        assert!(!jwt(token(r#"{"alg":"none"}"#).as_bytes()));
        assert!(!jwt(token(r#"{"typ":"JWT"}"#).as_bytes()));
        assert!(!jwt(b"eyJnot-base64!.eyJ.x"));
    }

    #[test]
    fn every_builtin_regex_compiles() {
        for r in builtins() {
            regex::bytes::Regex::new(r.regex.as_deref().unwrap()).unwrap();
        }
    }
}
