//! Test-only helpers shared by phasegate's test suites: a temporary project holding a
//! roadmap, small roadmaps written in one line, and [`Server`], a process a test starts
//! that cannot outlive the test. Never a dependency of shipped code
//! (only `[dev-dependencies]`, by path, so that publishing strips it).

use std::path::Path;

pub mod proc;
mod server;

pub use server::{GRACE, Server, Signal};

/// The roadmap file's name in a project directory.
pub const ROADMAP: &str = "phasegate.toml";

/// A new temporary directory holding `roadmap` as its `phasegate.toml`.
pub fn project_dir(roadmap: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    write(dir.path(), ROADMAP, roadmap);
    dir
}

/// Writes `text` to `name` below `dir`.
pub fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("the test file is written");
}

/// A roadmap with one phase `p` holding the given gate tables (TOML text).
pub fn one_phase(gates: &[(&str, &str)]) -> String {
    one_phase_after("[project]\nname = \"t\"\n\n", gates)
}

/// `head` (project and service tables, as written), then the gate tables and one phase `p`
/// holding them.
pub fn one_phase_after(head: &str, gates: &[(&str, &str)]) -> String {
    let mut s = head.to_owned();
    for (id, body) in gates {
        s.push_str(&format!("[gates.{id}]\n{body}\n\n"));
    }
    let ids: Vec<String> = gates.iter().map(|(id, _)| format!("\"{id}\"")).collect();
    s.push_str(&format!(
        "[[phase]]\nid = \"p\"\ngates = [{}]\n",
        ids.join(", ")
    ));
    s
}
