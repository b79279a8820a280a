//! A labelled fixture set built the way the peers' suites are: realistic files (source,
//! config, .env, YAML, JSON, a notebook, minified JS), one planted secret per rule and decoys
//! (documented examples, placeholders, hashes, UUIDs, base64 blobs, bad checksums, marked
//! lines and files). Planted secrets are generated at run time from a seed, format-valid
//! (checksums included), and never stored in the repository.
//!
//! Shared by the tests and by `cargo run --example fixtures DIR` (the benchmark's labelled
//! set, with EXPECTED.tsv and DECOYS.tsv).

use std::path::Path;

/// A planted secret: where, and the rule that must find it.
#[derive(Debug, Clone)]
pub struct Planted {
    pub file: String,
    pub line: u32,
    pub rule: &'static str,
}

/// A decoy line: where, and what it imitates.
#[derive(Debug, Clone)]
pub struct Decoy {
    pub file: String,
    pub line: u32,
    pub what: &'static str,
}

/// A small deterministic generator (xorshift64*): the set is the same for a seed.
pub struct Gen(u64);

const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const HEX: &[u8] = b"0123456789abcdef";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const UPPER32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

impl Gen {
    pub fn new(seed: u64) -> Gen {
        Gen(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn pick(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| char::from(alphabet[(self.next() % alphabet.len() as u64) as usize]))
            .collect()
    }
    pub fn alnum(&mut self, n: usize) -> String {
        self.pick(ALNUM, n)
    }
    pub fn hex(&mut self, n: usize) -> String {
        self.pick(HEX, n)
    }
    fn digits(&mut self, n: usize) -> String {
        self.pick(b"0123456789", n)
    }
    fn b64(&mut self, n: usize) -> String {
        self.pick(B64, n)
    }
    fn url64(&mut self, n: usize) -> String {
        self.pick(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
            n,
        )
    }
}

/// A GitHub classic or npm token with a valid checksum (`prefix` is 4 bytes, e.g. `ghp_`).
pub fn checksummed(g: &mut Gen, prefix: &str) -> String {
    let random = g.alnum(30);
    let crc = crc32fast::hash(random.as_bytes());
    let tail = String::from_utf8(phasegate_secrets_base62(crc).to_vec()).unwrap();
    format!("{prefix}{random}{tail}")
}

fn phasegate_secrets_base62(mut n: u32) -> [u8; 6] {
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = ALNUM[(n % 62) as usize];
        n /= 62;
    }
    out
}

/// A signed-looking JWT: a JSON header with `alg`, a JSON payload, a random signature.
pub fn jwt(g: &mut Gen, alg: &str) -> String {
    use base64::Engine as _;
    let e = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let payload = format!(r#"{{"sub":"{}","iat":1700000000}}"#, g.digits(8));
    format!(
        "{}.{}.{}",
        e(&format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#)),
        e(&payload),
        g.url64(43)
    )
}

/// A PEM private key of `kind` ("RSA ", "OPENSSH ", "EC ", ""), with a random body.
pub fn pem(g: &mut Gen, kind: &str, newline: &str) -> String {
    let mut body = String::new();
    for _ in 0..8 {
        body.push_str(&g.b64(64));
        body.push_str(newline);
    }
    format!("-----BEGIN {kind}PRIVATE KEY-----{newline}{body}-----END {kind}PRIVATE KEY-----")
}

struct Writer<'a> {
    root: &'a Path,
    planted: Vec<Planted>,
    decoys: Vec<Decoy>,
}

/// A line of a file: text, and whether it holds a planted secret (its rule) or a decoy.
enum L {
    Plain(String),
    Secret(&'static str, String),
    Decoy(&'static str, String),
}

use L::{Decoy as D, Plain as P, Secret as S};

impl Writer<'_> {
    fn file(&mut self, name: &str, lines: Vec<L>) {
        let mut text = String::new();
        let mut n = 0u32;
        for l in lines {
            let (s, mark) = match l {
                P(s) => (s, None),
                S(rule, s) => (s, Some(Ok(rule))),
                D(what, s) => (s, Some(Err(what))),
            };
            let first = n + 1;
            n += u32::try_from(s.matches('\n').count()).unwrap() + 1;
            match mark {
                Some(Ok(rule)) => self.planted.push(Planted {
                    file: name.to_owned(),
                    line: first,
                    rule,
                }),
                Some(Err(what)) => self.decoys.push(Decoy {
                    file: name.to_owned(),
                    line: first,
                    what,
                }),
                None => {}
            }
            text.push_str(&s);
            text.push('\n');
        }
        let path = self.root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// Writes the set under `root`; returns what is planted and the decoys.
pub fn write(root: &Path, seed: u64) -> (Vec<Planted>, Vec<Decoy>) {
    let g = &mut Gen::new(seed);
    let mut w = Writer {
        root,
        planted: Vec::new(),
        decoys: Vec::new(),
    };
    let p = |s: &str| P(s.to_owned());

    w.file(
        "config/aws.ini",
        vec![
            p("[default]"),
            p("region = eu-west-1"),
            S(
                "aws-access-key-id",
                format!("aws_access_key_id = AKIA{}", g.pick(UPPER32, 16)),
            ),
            S(
                "aws-secret-access-key",
                format!(
                    "aws_secret_access_key = {}",
                    g.pick(&B64[..62], 20) + "/" + &g.pick(&B64[..62], 19)
                ),
            ),
            p(""),
            p("[docs-example]"),
            D(
                "aws-example",
                "aws_access_key_id = AKIAIOSFODNN7EXAMPLE".into(),
            ),
            D(
                "aws-example",
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            ),
        ],
    );
    w.file(
        "web/static/maps.js",
        vec![
            p("// Loads the map widget."),
            S(
                "gcp-api-key",
                format!("const MAPS_KEY = \"AIza{}\";", g.url64(35)),
            ),
            D(
                "placeholder",
                "const FALLBACK_KEY = \"<your-api-key>\";".into(),
            ),
            p("export function load() { return fetch(`/maps?key=${MAPS_KEY}`); }"),
        ],
    );
    w.file(
        "client_secret.json",
        vec![
            p("{\"installed\": {"),
            p(&format!(
                "  \"client_id\": \"{}-{}.apps.googleusercontent.com\",",
                g.digits(12),
                g.hex(20)
            )),
            S(
                "gcp-oauth-client-secret",
                format!("  \"client_secret\": \"GOCSPX-{}\",", g.url64(28)),
            ),
            D(
                "uuid",
                format!(
                    "  \"project_uuid\": \"{}-{}-4{}-a{}-{}\",",
                    g.hex(8),
                    g.hex(4),
                    g.hex(3),
                    g.hex(3),
                    g.hex(12)
                ),
            ),
            p("  \"redirect_uris\": [\"http://localhost\"]"),
            p("}}"),
        ],
    );
    w.file(
        "src/Api/appsettings.json",
        vec![
            p("{"),
            S("azure-storage-account-key", format!("  \"Storage\": \"DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={}==;EndpointSuffix=core.windows.net\",", g.pick(&B64[..62], 86))),
            D("placeholder", "  \"Backup\": \"DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=<storage-account-key>;\",".into()),
            D("template", "  \"ApiToken\": \"{{ api_token }}\",".into()),
            p("  \"Logging\": { \"LogLevel\": { \"Default\": \"Information\" } }"),
            p("}"),
        ],
    );
    w.file(
        ".env",
        vec![
            p("NODE_ENV=production"),
            S(
                "azure-ad-client-secret",
                format!("AZURE_CLIENT_SECRET={}8Q~{}", g.alnum(3), g.alnum(34)),
            ),
            D("variable", "DATABASE_PASSWORD=${DB_PASSWORD}".into()),
            D("placeholder", "SENDGRID_API_KEY=changeme".into()),
            S(
                "generic-secret",
                format!("SESSION_SECRET={}", g.alnum(20) + "-" + &g.alnum(11)),
            ),
        ],
    );
    let valid_gh = checksummed(g, "ghp_");
    let mut broken_gh = checksummed(g, "ghp_");
    broken_gh.replace_range(39.., if broken_gh.ends_with('A') { "B" } else { "A" });
    w.file(
        "scripts/deploy.sh",
        vec![
            p("#!/bin/sh"),
            p("set -eu"),
            S("github-token", format!("export GH_TOKEN={valid_gh}")),
            D("bad-checksum", format!("OLD_TOKEN={broken_gh}")),
            D(
                "inline-ignore",
                format!("CI_TOKEN={} # gitleaks:allow", checksummed(g, "ghs_")),
            ),
            p("gh release create \"$1\""),
        ],
    );
    w.file(
        "ci/release.yml",
        vec![
            p("name: release"),
            p("jobs:"),
            p("  publish:"),
            p("    steps:"),
            S(
                "github-fine-grained-pat",
                format!(
                    "      - run: gh auth login --with-token <<< github_pat_{}_{}",
                    g.alnum(22),
                    g.alnum(59)
                ),
            ),
            D(
                "variable",
                "        env: { GITHUB_TOKEN: \"${{ secrets.GITHUB_TOKEN }}\" }".into(),
            ),
        ],
    );
    w.file(
        ".gitlab-ci.yml",
        vec![
            p("stages: [build]"),
            p("variables:"),
            S(
                "gitlab-token",
                format!("  PRIVATE_TOKEN: glpat-{}", g.url64(20)),
            ),
            D(
                "placeholder",
                "  DEPLOY_TOKEN: glpat-xxxxxxxxxxxxxxxxxxxx".into(),
            ),
        ],
    );
    w.file(
        "bots/notify.py",
        vec![
            p("from slack_sdk import WebClient"),
            p(""),
            S(
                "slack-token",
                format!(
                    "client = WebClient(token=\"xoxb-{}-{}-{}\")",
                    g.digits(11),
                    g.digits(12),
                    g.alnum(24)
                ),
            ),
            D(
                "placeholder",
                "backup = WebClient(token=\"xoxb-your-token-here\")".into(),
            ),
            p("client.chat_postMessage(channel=\"#ops\", text=\"deployed\")"),
        ],
    );
    w.file(
        "deploy/alerts.yaml",
        vec![
            p("receivers:"),
            p("  - name: ops"),
            S("slack-webhook", format!("    webhook_url: https://hooks.slack.com/services/T{}/B{}/{}", g.pick(UPPER32, 8), g.pick(UPPER32, 10), g.alnum(24))),
            D("documented-example", "    # e.g. https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX".into()),
        ],
    );
    w.file(
        "app/billing.rb",
        vec![
            p("require 'stripe'"),
            S(
                "stripe-live-key",
                format!("Stripe.api_key = 'sk_live_{}'", g.alnum(24)),
            ),
            D("test-key", format!("TEST_KEY = 'sk_test_{}'", g.alnum(24))),
        ],
    );
    w.file(
        "src/mailer.ts",
        vec![
            p("import sgMail from '@sendgrid/mail';"),
            S(
                "sendgrid-api-key",
                format!("sgMail.setApiKey('SG.{}.{}');", g.url64(22), g.url64(43)),
            ),
            D(
                "reference",
                "const key = process.env.SENDGRID_API_KEY;".into(),
            ),
        ],
    );
    w.file(
        "lib/mail.php",
        vec![
            p("<?php"),
            S(
                "mailgun-api-key",
                format!("$mg = Mailgun::create('key-{}');", g.hex(32)),
            ),
            D("hash", format!("$etag = 'sha1:{}';", g.hex(40))),
        ],
    );
    w.file(
        "internal/sms/client.go",
        vec![
            p("package sms"),
            p(""),
            S(
                "twilio-api-key",
                format!("const twilioAPIKey = \"SK{}\"", g.hex(32)),
            ),
            S(
                "twilio-auth-token",
                format!("const twilioAuthToken = \"{}\"", g.hex(32)),
            ),
            D(
                "account-sid",
                format!("const twilioAccountSID = \"AC{}\"", g.hex(32)),
            ),
        ],
    );
    let mut broken_npm = checksummed(g, "npm_");
    broken_npm.replace_range(39.., if broken_npm.ends_with('A') { "B" } else { "A" });
    w.file(
        ".npmrc",
        vec![
            S(
                "npm-token",
                format!(
                    "//registry.npmjs.org/:_authToken={}",
                    checksummed(g, "npm_")
                ),
            ),
            D(
                "bad-checksum",
                format!("//npm.internal/:_authToken={broken_npm}"),
            ),
        ],
    );
    w.file(
        ".pypirc",
        vec![
            p("[pypi]"),
            p("username = __token__"),
            S(
                "pypi-token",
                format!("password = pypi-AgEIcHlwaS5vcmc{}", g.url64(70)),
            ),
        ],
    );
    let notebook_key = format!("sk-proj-{}T3BlbkFJ{}", g.url64(40), g.url64(40));
    w.file(
        "notebooks/explore.ipynb",
        vec![
            p("{\"cells\": [{\"cell_type\": \"code\", \"metadata\": {}, \"source\": ["),
            p("  \"import openai\\n\","),
            S(
                "openai-api-key",
                format!("  \"openai.api_key = '{notebook_key}'\\n\""),
            ),
            p("]}], \"metadata\": {}, \"nbformat\": 4, \"nbformat_minor\": 5}"),
        ],
    );
    w.file(
        "agents/run.py",
        vec![
            S(
                "anthropic-api-key",
                format!("ANTHROPIC_API_KEY = \"sk-ant-api03-{}AA\"", g.url64(93)),
            ),
            D(
                "reference",
                "ANTHROPIC_BACKUP_KEY = os.environ[\"ANTHROPIC_BACKUP_KEY\"]".into(),
            ),
        ],
    );
    w.file(
        "keys/deploy_rsa",
        vec![S("private-key", pem(g, "RSA ", "\n"))],
    );
    w.file(
        "src/tls.py",
        vec![
            D(
                "header-only",
                "if pem.startswith(\"-----BEGIN RSA PRIVATE KEY-----\"):".into(),
            ),
            p("    raise ValueError(\"PKCS#1 keys are not supported\")"),
        ],
    );
    w.file(
        "keys/deploy.ppk",
        vec![
            S("putty-private-key", "PuTTY-User-Key-File-2: ssh-rsa".into()),
            p("Encryption: none"),
            p("Comment: deploy"),
            p("Public-Lines: 2"),
            p(&g.b64(64)),
            p(&g.b64(40)),
            p("Private-Lines: 3"),
            p(&g.b64(64)),
            p(&g.b64(64)),
            p(&g.b64(30)),
            p("Private-MAC: 0123"),
        ],
    );
    w.file(
        "public/app.min.js",
        vec![
            S("jwt", format!("!function(){{var e=window.fetch,t=\"{}\";function n(r){{return e(r,{{headers:{{Authorization:\"Bearer \"+t}}}})}}window.api=n}}();", jwt(g, "HS256"))),
            D("documented-example", "var demo=\"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c\";".into()),
            D("unsigned-jwt", format!("var anon=\"{}\";", jwt(g, "none"))),
        ],
    );
    w.file(
        "docker-compose.yml",
        vec![
            p("services:"),
            p("  app:"),
            p("    environment:"),
            S(
                "url-password",
                format!(
                    "      DATABASE_URL: postgres://app:{}@db:5432/app",
                    g.alnum(18)
                ),
            ),
            D(
                "trivial-password",
                "      TEST_DATABASE_URL: postgres://postgres:postgres@localhost:5432/test".into(),
            ),
            D(
                "variable",
                "      REPLICA_URL: postgres://${DB_USER}:${DB_PASS}@replica:5432/app".into(),
            ),
        ],
    );
    w.file(
        "Web.config",
        vec![
            p("<configuration><connectionStrings>"),
            S("connection-string-password", format!("  <add name=\"db\" connectionString=\"Server=db;Database=app;User Id=app;Password={};\" />", g.alnum(12) + "!" + &g.digits(3))),
            p("</connectionStrings></configuration>"),
        ],
    );
    w.file(
        "app/settings.py",
        vec![
            p("DEBUG = False"),
            S(
                "generic-secret",
                format!("SECRET_KEY = \"{}\"", g.alnum(30) + "!@" + &g.alnum(10)),
            ),
            D("reference", "DB_PASSWORD = get_password()".into()),
            D("reference", "API_TOKEN = os.environ['API_TOKEN']".into()),
            D("placeholder", "ADMIN_PASSWORD = \"changeme\"".into()),
            D(
                "uuid",
                format!(
                    "TENANT_TOKEN_ID = \"{}-{}-4{}-b{}-{}\"",
                    g.hex(8),
                    g.hex(4),
                    g.hex(3),
                    g.hex(3),
                    g.hex(12)
                ),
            ),
            D(
                "inline-ignore",
                format!(
                    "LEGACY_SECRET = \"{}\"  # pragma: allowlist secret",
                    g.alnum(32)
                ),
            ),
        ],
    );
    w.file(
        "package-lock.json",
        vec![
            p("{\"packages\": {\"node_modules/left-pad\": {"),
            D(
                "integrity",
                format!("  \"integrity\": \"sha512-{}==\",", g.b64(86)),
            ),
            D(
                "base64-blob",
                format!("  \"icon\": \"data:image/png;base64,{}\",", g.b64(120)),
            ),
            p("  \"version\": \"1.3.0\"}}}"),
        ],
    );
    w.file(
        "tests/fixtures/tokens.txt",
        vec![
            p("# phasegate:fixture: tokens for the parser's tests"),
            D("marked-fixture", checksummed(g, "ghp_")),
        ],
    );
    (w.planted, w.decoys)
}

/// EXPECTED.tsv and DECOYS.tsv as `secrets-bench.sh` reads them (a header row first).
pub fn labels(planted: &[Planted], decoys: &[Decoy]) -> (String, String) {
    let expected = planted
        .iter()
        .map(|p| format!("{}\t{}\t{}\n", p.file, p.line, p.rule));
    let decoy = decoys
        .iter()
        .map(|d| format!("{}\t{}\t{}\n", d.file, d.line, d.what));
    (
        std::iter::once("file\tline\tkind\n".to_owned())
            .chain(expected)
            .collect(),
        std::iter::once("file\tline\tnear_miss\n".to_owned())
            .chain(decoy)
            .collect(),
    )
}
