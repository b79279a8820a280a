//! Personal keys and pinned run keys: statements signed by their authors' own SSH keys,
//! heads by pinned keys only, checked with OpenSSH's own `ssh-keygen -Y verify` too.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use phasegate_engine::{Error, Options, Session, SignoffRequest};
use phasegate_model::GateState;

use crate::support::{Project, run};

const ROADMAP: &str = r#"
[project]
name = "t"

[trust]
allowed_signers = "signers"
run_signers = ["ci@example.com"]

[roles]
release = ["alice@example.com", "bob@example.com"]

[gates.build]
run = "true"

[gates.approve]
signoff = { roles = ["release"], approvals = 2 }

[[phase]]
id = "launch"
gates = ["build", "approve"]
"#;

/// A project whose runner key is trusted as ci@example.com and whose release role is held
/// by alice and bob, each with a key of their own; mallory has a key nobody trusts.
struct Team {
    project: Project,
    keys: PathBuf,
}

impl Team {
    fn new() -> Team {
        let project = Project::new(ROADMAP);
        let keys = project.dir.path().join("keys");
        std::fs::create_dir(&keys).unwrap();
        let s = project.session();
        s.trust_key("ci@example.com", None).unwrap();
        for who in ["alice", "bob", "mallory"] {
            phasegate_engine::new_key(&keys.join(who), &format!("{who}@example.com")).unwrap();
            if who != "mallory" {
                let public = keys.join(format!("{who}.pub"));
                s.trust_key(&format!("{who}@example.com"), Some(&public))
                    .unwrap();
            }
        }
        Team { project, keys }
    }

    fn key(&self, who: &str) -> PathBuf {
        self.keys.join(who)
    }

    fn approve(&self, s: &Session, who: &str) -> Result<phasegate_engine::Statement, Error> {
        s.signoff(&SignoffRequest {
            gate: "approve".into(),
            role: "release".into(),
            note: None,
            by: None,
            key: Some(self.key(who)),
        })
    }
}

#[test]
fn two_people_with_their_own_keys_pass_a_two_of_n_signoff() {
    let team = Team::new();
    let s = team.project.session();
    assert!(s.trust_notice().is_none());
    run(&s, &[]);
    assert_eq!(
        s.scorecard().unwrap().gate("build").unwrap().state,
        GateState::Pass
    );
    let first = team.approve(&s, "alice").unwrap();
    let approval = first.record.approval.as_ref().unwrap();
    assert_eq!(
        approval.by, "alice@example.com",
        "the key's principal, not a claim"
    );
    assert!(approval.signed.as_ref().unwrap().key.starts_with("SHA256:"));
    // The same key again is the same person.
    let again = team.approve(&s, "alice").unwrap();
    assert_eq!(
        again.status.state,
        GateState::Missing,
        "{}",
        again.status.reason
    );
    let second = team.approve(&s, "bob").unwrap();
    assert_eq!(
        second.status.state,
        GateState::Pass,
        "{}",
        second.status.reason
    );
    assert!(s.scorecard().unwrap().go);
    assert!(s.verify().unwrap().is_ok());
}

#[test]
fn a_key_outside_the_role_or_the_file_is_refused_naming_who_may() {
    let team = Team::new();
    let s = team.project.session();
    let e = team.approve(&s, "mallory").unwrap_err();
    let Error::Usage { message, help } = e else {
        panic!("a usage error")
    };
    assert!(
        message.contains("not in the allowed-signers file"),
        "{message}"
    );
    assert!(
        help.contains("alice@example.com, bob@example.com"),
        "{help}"
    );

    let e = s
        .signoff(&SignoffRequest {
            gate: "approve".into(),
            role: "release".into(),
            note: None,
            by: Some("alice@example.com".into()),
            key: Some(team.key("alice")),
        })
        .unwrap_err();
    assert!(e.to_string().contains("`--by` is refused"), "{e}");
    assert!(s.entries(None).unwrap().is_empty(), "nothing was recorded");
}

#[test]
fn a_chain_signed_with_another_key_is_untrusted_and_fails_verify_naming_it() {
    let team = Team::new();
    let honest = team.project.session();
    run(&honest, &[]);
    // Someone with write access to the ledger runs with a key of their own.
    let forger = Session::open(Options {
        signing_key_hex: Some("02".repeat(32)),
        ..team.project.options()
    })
    .unwrap();
    let forged_key = forger.runner_key().unwrap().key_id;
    run(&forger, &["build"]);
    let card = honest.scorecard().unwrap();
    let build = card.gate("build").unwrap();
    assert_eq!(build.state, GateState::Untrusted);
    assert!(build.reason.contains(&forged_key), "{}", build.reason);
    assert!(!card.go);
    let v = honest.verify().unwrap();
    let broken = v
        .broken
        .expect("a head signed by an unpinned key breaks verification");
    assert!(broken.to_string().contains(&forged_key), "{broken}");
}

#[test]
fn without_trust_a_notice_says_nothing_is_pinned() {
    let p = Project::new(&crate::support::one_phase(&[("a", "run = \"true\"")]));
    let notice = p.session().trust_notice().expect("a notice");
    assert!(notice.contains("nothing is pinned"));
}

/// `ssh-keygen`, or `None` outside CI when it is missing (CI installs openssh-client).
fn ssh_keygen() -> Option<&'static str> {
    let found = Command::new("ssh-keygen")
        .arg("-?")
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found && std::env::var_os("CI").is_some() {
        panic!("ssh-keygen is missing: install openssh-client");
    }
    found.then_some("ssh-keygen")
}

fn openssh_verifies(dir: &Path, principal: &str, message: &[u8], signature: &str) -> bool {
    let sig = dir.join("approval.sig");
    std::fs::write(&sig, signature).unwrap();
    let mut child = Command::new("ssh-keygen")
        .args([
            "-Y",
            "verify",
            "-f",
            "signers",
            "-I",
            principal,
            "-n",
            "phasegate",
            "-s",
        ])
        .arg(&sig)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), message).unwrap();
    child.wait().unwrap().success()
}

#[test]
fn openssh_accepts_phasegates_approval_signatures() {
    let Some(_) = ssh_keygen() else { return };
    let team = Team::new();
    let s = team.project.session();
    let st = team.approve(&s, "alice").unwrap();
    let message = st.record.statement_message().unwrap();
    let signature = &st
        .record
        .approval
        .as_ref()
        .unwrap()
        .signed
        .as_ref()
        .unwrap()
        .signature;
    let dir = team.project.dir.path();
    assert!(openssh_verifies(
        dir,
        "alice@example.com",
        &message,
        signature
    ));
    // The same signature does not vouch for another principal or another message.
    assert!(!openssh_verifies(
        dir,
        "bob@example.com",
        &message,
        signature
    ));
    assert!(!openssh_verifies(
        dir,
        "alice@example.com",
        b"something else",
        signature
    ));
}

/// An `ssh-agent` of the test's own, ended when dropped.
struct Agent {
    child: std::process::Child,
    socket: PathBuf,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent(dir: &Path, key: &Path) -> Option<Agent> {
    ssh_keygen()?;
    let socket = dir.join("agent.sock");
    let child = Command::new("ssh-agent")
        .args(["-D", "-a"])
        .arg(&socket)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let agent = Agent { child, socket };
    for _ in 0..100 {
        if agent.socket.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let added = Command::new("ssh-add")
        .arg(key)
        .env("SSH_AUTH_SOCK", &agent.socket)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(added.success());
    Some(agent)
}

#[test]
fn a_key_held_by_ssh_agent_signs_without_a_file() {
    let team = Team::new();
    let Some(agent) = agent(team.project.dir.path(), &team.key("bob")) else {
        return;
    };
    let s = Session::open(Options {
        ssh_auth_sock: Some(agent.socket.clone()),
        ..team.project.options()
    })
    .unwrap();
    let st = s
        .signoff(&SignoffRequest {
            gate: "approve".into(),
            role: "release".into(),
            note: None,
            by: None,
            key: None,
        })
        .unwrap();
    assert_eq!(st.record.approval.unwrap().by, "bob@example.com");
    let card = s.scorecard().unwrap();
    let approvals = &card.gate("approve").unwrap().approvals;
    assert!(approvals.len() == 1 && approvals[0].counts, "{approvals:?}");
}

#[test]
fn a_forged_approval_in_the_ledger_does_not_count() {
    use phasegate_ledger::{RunOpened, RunStatus};
    let team = Team::new();
    let s = team.project.session();
    let alice = team.approve(&s, "alice").unwrap();
    // Someone with the ledger and the run key copies alice's approval and claims it is bob's,
    // naming bob's key; alice's signature stays.
    let bob_key = ssh_key::PublicKey::read_openssh_file(&team.keys.join("bob.pub")).unwrap();
    let mut forged = alice.record.clone();
    forged.run_id = "20990101T000000Z-forged00".into();
    let approval = forged.approval.as_mut().unwrap();
    approval.by = "bob@example.com".into();
    approval.signed.as_mut().unwrap().key =
        bob_key.fingerprint(ssh_key::HashAlg::Sha256).to_string();
    let mut ledger = s.ledger().unwrap();
    ledger
        .open_run(&RunOpened::new(
            &forged.provenance(),
            forged.started_at,
            vec![],
        ))
        .unwrap();
    ledger.append_record(&forged).unwrap();
    ledger
        .close_run(
            &forged.run_id,
            RunStatus::Completed,
            &s.signing_key().unwrap(),
        )
        .unwrap();

    let card = s.scorecard().unwrap();
    let gate = card.gate("approve").unwrap();
    assert_ne!(gate.state, GateState::Pass, "{}", gate.reason);
    let bob = gate
        .approvals
        .iter()
        .find(|a| a.by == "bob@example.com")
        .expect("the forged approval is listed");
    assert!(!bob.counts, "{bob:?}");
    assert!(bob.reason.contains("another key"), "{}", bob.reason);
}

#[test]
fn evidence_from_an_unpinned_key_is_never_reused_by_the_cache() {
    let team = Team::new();
    let root = team.project.dir.path();
    let cached = ROADMAP.replace(
        "[gates.build]\nrun = \"true\"\n",
        "[gates.build]\nrun = \"true\"\ninputs = [\"signers\"]\n",
    );
    std::fs::write(root.join("phasegate.toml"), cached).unwrap();
    let forger = Session::open(Options {
        signing_key_hex: Some("02".repeat(32)),
        ..team.project.options()
    })
    .unwrap();
    run(&forger, &["build"]);
    let honest = team.project.session();
    let (_, report, _) = run(&honest, &["build"]);
    let decision = report.decisions["build"].to_string();
    assert!(
        decision.starts_with("its evidence is not a pass (untrusted: "),
        "{decision}"
    );
    assert!(report.records[0].cached_from().is_none());
    // Its own run is trusted, and from then on reused.
    let (_, report, _) = run(&honest, &["build"]);
    assert!(
        report.records[0].cached_from().is_some(),
        "{:?}",
        report.decisions
    );
    let card = honest.scorecard().unwrap();
    assert_eq!(card.gate("build").unwrap().state, GateState::Pass);
}

#[test]
fn a_cached_pass_is_untrusted_once_the_run_it_reuses_no_longer_is() {
    let team = Team::new();
    let root = team.project.dir.path();
    let two_ci = |signers: &str| {
        ROADMAP
            .replace(
                "[gates.build]\nrun = \"true\"\n",
                "[gates.build]\nrun = \"true\"\ninputs = [\"signers\"]\n",
            )
            .replace("run_signers = [\"ci@example.com\"]", signers)
    };
    std::fs::write(
        root.join("phasegate.toml"),
        two_ci("run_signers = [\"ci@example.com\", \"ci2@example.com\"]"),
    )
    .unwrap();
    let other_ci = Session::open(Options {
        signing_key_hex: Some("02".repeat(32)),
        ..team.project.options()
    })
    .unwrap();
    other_ci.trust_key("ci2@example.com", None).unwrap();
    let (_, first, _) = run(&other_ci, &["build"]);
    let key_of_other = first.head.key_id.clone();
    let honest = team.project.session();
    let (_, reused, _) = run(&honest, &["build"]);
    assert!(
        reused.records[0].cached_from().is_some(),
        "{:?}",
        reused.decisions
    );
    assert_eq!(
        honest.scorecard().unwrap().gate("build").unwrap().state,
        GateState::Pass
    );

    // ci2 is no longer a run signer: the result it produced no longer counts, reused or not.
    std::fs::write(
        root.join("phasegate.toml"),
        two_ci("run_signers = [\"ci@example.com\"]"),
    )
    .unwrap();
    let honest = team.project.session();
    let card = honest.scorecard().unwrap();
    let build = card.gate("build").unwrap();
    assert_eq!(build.state, GateState::Untrusted);
    assert!(
        build.reason.starts_with("the evidence it reuses (#")
            && build.reason.contains(&key_of_other),
        "{}",
        build.reason
    );
}
