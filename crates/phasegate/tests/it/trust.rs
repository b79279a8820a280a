//! `phasegate key` and the notice while nothing is pinned, on the real binary.

use crate::harness::{Project, one_phase};

#[test]
fn status_says_when_nothing_is_pinned() {
    let p = Project::new(&one_phase(&[("a", "run = \"true\"")]));
    let r = p.run(&["status"]);
    assert!(r.stderr.contains("nothing is pinned yet"), "{r:?}");
}

#[test]
fn key_show_and_trust_list_the_run_key_in_the_allowed_signers_file() {
    let p = Project::new(&format!(
        "[trust]\nallowed_signers = \"signers\"\nrun_signers = [\"ci@example.com\"]\n\n{}",
        one_phase(&[("a", "run = \"true\"")])
    ));
    std::fs::write(p.file("signers"), "").unwrap();
    let shown = p.run(&["key", "show"]);
    assert_eq!(shown.code, 0, "{shown:?}");
    let line = shown
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("public key:  "))
        .expect("the OpenSSH line")
        .to_owned();
    assert!(line.starts_with("ssh-ed25519 "), "{line}");
    let trusted = p.run(&["key", "trust", "ci@example.com"]);
    assert_eq!(trusted.code, 0, "{trusted:?}");
    let file = std::fs::read_to_string(p.file("signers")).unwrap();
    let key = line.split_whitespace().nth(1).unwrap();
    assert!(
        file.contains("ci@example.com namespaces=\"phasegate\" ssh-ed25519 ") && file.contains(key),
        "{file}"
    );
    // Runs signed by the trusted key count; no notice any more.
    assert_eq!(p.run(&["run"]).code, 0);
    let status = p.run(&["status"]);
    assert_eq!(status.code, 0, "{status:?}");
    assert!(!status.stderr.contains("nothing is pinned"));
    // Trusting again changes nothing.
    let again = p.run(&["key", "trust", "ci@example.com"]);
    assert!(again.stdout.contains("already holds"), "{again:?}");
}

#[test]
fn by_is_refused_once_keys_are_pinned() {
    let p = Project::new(
        "[trust]\nallowed_signers = \"signers\"\n\n[roles]\nsre = [\"alice@example.com\"]\n\n[gates.ok]\nsignoff = { roles = [\"sre\"] }\n\n[[phase]]\nid = \"p\"\ngates = [\"ok\"]\n",
    );
    std::fs::write(p.file("signers"), "").unwrap();
    let r = p.run(&["signoff", "ok", "--as", "sre", "--by", "alice@example.com"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("`--by` is refused"), "{r:?}");
}
