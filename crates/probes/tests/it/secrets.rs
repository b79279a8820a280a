//! The `secrets` probe on real directories and a real git repository: passes on a clean
//! tree, fails naming file:line on a planted key, errors when there is nothing to read.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use phasegate_model::Verdict;
use phasegate_probes::{Context, Outcome};

use crate::support::{codes, params};

/// A GitHub token with a valid checksum, built at run time.
fn token(random: &str) -> String {
    let mut n = crc32fast::hash(random.as_bytes());
    let digits = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut tail = [b'0'; 6];
    for slot in tail.iter_mut().rev() {
        *slot = digits[(n % 62) as usize];
        n /= 62;
    }
    format!("{}{random}{}", "ghp_", std::str::from_utf8(&tail).unwrap())
}

async fn probe(dir: &Path, p: serde_json::Value) -> Outcome {
    let ctx = Context {
        base_url: None,
        timeout: Duration::from_secs(30),
        workdir: dir.to_owned(),
        env: phasegate_probes::ChildEnv::default(),
    };
    phasegate_probes::run("secrets", &params(p), &ctx).await
}

#[tokio::test]
async fn a_clean_tree_passes_and_says_what_it_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("app.py"),
        "password = os.environ['PASSWORD']\napi_token = \"your-api-token-here\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("logo.png"), b"\x89PNG\r\n\x1a\n\0\0").unwrap();
    let o = probe(dir.path(), serde_json::json!({})).await;
    assert_eq!(o.verdict, Verdict::Pass, "{o:#?}");
    assert_eq!(o.measurements["files"], 1.0);
    assert_eq!(o.measurements["skipped_binary"], 1.0);
    assert_eq!(o.measurements["noise"], 1.0);
}

#[tokio::test]
async fn a_planted_key_fails_naming_file_line_and_never_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    let key = token("Zq8vR2mN5kT1wXy7Lp3sQ9dF4gH6jK");
    std::fs::write(
        dir.path().join("src/main.rs"),
        format!("fn main() {{}}\nconst T: &str = \"{key}\";\n"),
    )
    .unwrap();
    let o = probe(dir.path(), serde_json::json!({})).await;
    assert_eq!(o.verdict, Verdict::Fail, "{o:#?}");
    assert_eq!(codes(&o), ["secret-found"]);
    assert_eq!(o.findings[0].location.as_deref(), Some("src/main.rs:2:18"));
    let all = format!("{o:?}");
    assert!(!all.contains(&key), "the key leaked: {all}");
    // Allowed by path: passes.
    let o = probe(dir.path(), serde_json::json!({"allow": ["src/**"]})).await;
    assert_eq!(
        o.verdict,
        Verdict::Error,
        "nothing read is never a pass: {o:#?}"
    );
    std::fs::write(dir.path().join("README.md"), "# app\n").unwrap();
    let o = probe(dir.path(), serde_json::json!({"allow": ["src/**"]})).await;
    assert_eq!(o.verdict, Verdict::Pass, "{o:#?}");
    assert_eq!(o.measurements["allowlisted"], 1.0);
}

#[tokio::test]
async fn history_finds_a_key_removed_by_a_later_commit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .arg("-C")
            .arg(d)
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.com",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    std::fs::write(
        d.join("cfg.env"),
        format!("GH_TOKEN={}\n", token("Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy")),
    )
    .unwrap();
    git(&["add", "."]);
    git(&["commit", "-qm", "add"]);
    std::fs::write(d.join("cfg.env"), "GH_TOKEN=\n").unwrap();
    git(&["commit", "-qam", "remove"]);
    let tree = probe(d, serde_json::json!({})).await;
    assert_eq!(tree.verdict, Verdict::Pass, "{tree:#?}");
    let o = probe(d, serde_json::json!({"history": true})).await;
    assert_eq!(codes(&o), ["secret-in-history"], "{o:#?}");
    assert_eq!(o.findings[0].location.as_deref(), Some("cfg.env:1:10"));
    assert!(o.findings[0].message.contains("first in commit"));
}

#[tokio::test]
async fn bad_parameters_and_a_broken_rule_file_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let errors = phasegate_probes::validate(
        "secrets",
        &params(serde_json::json!({"allow": ["a{"], "colour": 1})),
    )
    .unwrap_err();
    assert!(!errors.is_empty());
    std::fs::write(dir.path().join("app.py"), "x = 1\n").unwrap();
    std::fs::write(
        dir.path().join("rules.toml"),
        "[[rules]]\nid = 'r'\nregex = '(x'\n",
    )
    .unwrap();
    let o = probe(dir.path(), serde_json::json!({"config": "rules.toml"})).await;
    assert_eq!(o.verdict, Verdict::Error);
    assert!(o.reason.unwrap().contains("rules.toml:3:9"));
}
