//! `phasegate scan secrets` and the membership roadmap's `no-secrets` gate on real trees.

use std::path::Path;
use std::process::Command;

use crate::harness::{BIN, Project, Ran};

/// A GitHub token with a valid checksum, built at run time (never stored in the repository).
fn github_token() -> String {
    let random = "Zq8vR2mN5kT1wXy7Lp3sQ9dF4gH6jK";
    let mut n = crc32fast::hash(random.as_bytes());
    let digits = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut tail = [b'0'; 6];
    for slot in tail.iter_mut().rev() {
        *slot = digits[(n % 62) as usize];
        n /= 62;
    }
    format!("{}{random}{}", "ghp_", std::str::from_utf8(&tail).unwrap())
}

fn scan(dir: &Path, args: &[&str]) -> Ran {
    Command::new(BIN)
        .args(["scan", "secrets"])
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
        .into()
}

/// The sample service's source tree, copied.
fn sample_service_tree(to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sample-service");
    let out = Command::new("cp")
        .arg("-r")
        .arg(&from)
        .arg(to)
        .output()
        .unwrap();
    assert!(out.status.success());
}

/// The membership roadmap's `no-secrets` gate, alone in a roadmap.
fn gate_roadmap() -> String {
    let demo: toml::Table = toml::from_str(include_str!("../../demo/membership.toml")).unwrap();
    let gate = toml::to_string(&demo["gates"]["no-secrets"]).unwrap();
    format!(
        "[project]\nname = \"t\"\n\n[gates.no-secrets]\n{gate}\n[[phase]]\nid = \"repository\"\ngates = [\"no-secrets\"]\n"
    )
}

#[test]
fn the_membership_secrets_gate_passes_on_the_sample_service_and_fails_on_a_planted_key() {
    let p = Project::new(&gate_roadmap());
    sample_service_tree(&p.path().join("sample-service"));
    let ran = p.run(&["run"]);
    assert_eq!(ran.code, 0, "{ran:?}");
    let planted = p.path().join("sample-service/src/deploy.rs");
    std::fs::write(
        &planted,
        format!(
            "// deploy\npub const TOKEN: &str = \"{}\";\n",
            github_token()
        ),
    )
    .unwrap();
    let ran = p.run(&["run"]);
    assert_eq!(ran.code, 1, "{ran:?}");
    let why = p.run(&["why", "no-secrets"]);
    assert!(
        why.all().contains("sample-service/src/deploy.rs:2:"),
        "{why:?}"
    );
    assert!(
        !why.all().contains(&github_token()),
        "the secret leaked: {why:?}"
    );
}

#[test]
fn scan_secrets_exits_0_clean_1_on_findings_2_on_a_bad_rule_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.py"), "print('hello')\n").unwrap();
    let ran = scan(dir.path(), &[]);
    assert_eq!(ran.code, 0, "{ran:?}");
    std::fs::write(
        dir.path().join("app.py"),
        format!("TOKEN = '{}'\n", github_token()),
    )
    .unwrap();
    let ran = scan(dir.path(), &["--format", "json"]);
    assert_eq!(ran.code, 1, "{ran:?}");
    let json: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(json["findings"][0]["file"], "app.py");
    assert_eq!(json["findings"][0]["line"], 1);
    assert!(!ran.stdout.contains(&github_token()));
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, "[[rules]]\nid = \"x\"\nregex = '''(open'''\n").unwrap();
    let ran = scan(dir.path(), &["--config", rules.to_str().unwrap()]);
    assert_eq!(ran.code, 2, "{ran:?}");
    assert!(
        crate::harness::flat(&ran.stderr).contains("rules.toml:3:9: invalid regex"),
        "{ran:?}"
    );
}

#[test]
fn write_baseline_then_baseline_accepts_old_findings_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("app.py"),
        format!("TOKEN = '{}'\n", github_token()),
    )
    .unwrap();
    let baseline = dir.path().join("baseline.json");
    let b = baseline.to_str().unwrap();
    let ran = scan(dir.path(), &["--write-baseline", b]);
    assert_eq!(ran.code, 0, "{ran:?}");
    let ran = scan(dir.path(), &["--baseline", b]);
    assert_eq!(ran.code, 0, "{ran:?}");
    std::fs::write(
        dir.path().join("new.py"),
        format!("T = '{}'\n", github_token()),
    )
    .unwrap();
    let ran = scan(dir.path(), &["--baseline", b, "--format", "sarif"]);
    assert_eq!(ran.code, 1, "{ran:?}");
    assert!(ran.stdout.contains("\"uri\": \"new.py\""), "{ran:?}");
}
