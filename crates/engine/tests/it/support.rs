//! A temporary project and a session on it.

use std::collections::BTreeMap;
use std::time::Duration;

use phasegate_engine::{Event, Options, Plan, RunOptions, RunReport, Session};
use tokio::sync::watch;

/// A fixed signing key, so tests never write a key file they do not mean to.
pub const KEY_HEX: &str = "0101010101010101010101010101010101010101010101010101010101010101";

/// A temporary directory holding a `phasegate.toml`.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new(roadmap: &str) -> Self {
        Project {
            dir: phasegate_testkit::project_dir(roadmap),
        }
    }

    pub fn options(&self) -> Options {
        Options {
            config: None,
            cwd: self.dir.path().to_path_buf(),
            ledger: None,
            signing_key_hex: Some(KEY_HEX.to_owned()),
            signing_key_file: None,
            key_dir: None,
            allow_key_in_tree: false,
            vars: BTreeMap::new(),
            user: Some("tester".to_owned()),
            ssh_auth_sock: None,
            withheld_vars: Vec::new(),
        }
    }

    pub fn session(&self) -> Session {
        Session::open(self.options()).unwrap()
    }
}

pub use phasegate_testkit::one_phase;

pub fn options() -> RunOptions {
    RunOptions {
        jobs: Some(2),
        grace: Duration::from_secs(2),
        env: BTreeMap::new(),
        no_cache: false,
    }
}

/// Runs `names` of the session to the end, collecting the events.
pub fn run(session: &Session, names: &[&str]) -> (Plan, RunReport, Vec<Event>) {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let plan = session.plan(&names).unwrap();
    let (_cancel, cancel_rx) = watch::channel(false);
    let mut events = Vec::new();
    let report = runtime()
        .block_on(session.run(&plan, &options(), |e| events.push(e.clone()), cancel_rx))
        .unwrap();
    (plan, report, events)
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}
