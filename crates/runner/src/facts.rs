//! Facts about where a run happens, stored with every record.

use std::path::Path;
use std::process::Command;

use phasegate_model::GitInfo;

/// The git state of the work tree containing `dir`, or `None` outside a git work tree
/// (or without git). Read from git's files without starting a process when they are plain
/// enough (see `gitindex.rs`), else from `git` itself; `cache` is a file that keeps the one
/// answer that needs git (does the index differ from `HEAD`?) between calls.
pub fn git_info(dir: &Path, cache: Option<&Path>) -> Option<GitInfo> {
    match crate::gitindex::read(dir, cache) {
        crate::gitindex::Answer::Known(info) => info,
        crate::gitindex::Answer::Ask => git_info_from_git(dir),
    }
}

/// [`git_info`] as `git` itself tells it: three processes.
fn git_info_from_git(dir: &Path) -> Option<GitInfo> {
    let git = |args: &[&str]| git(dir, args).ok().map(|out| out.trim().to_owned());
    let commit = git(&["rev-parse", "HEAD"])?;
    let branch = git(&["rev-parse", "--abbrev-ref", "HEAD"]).unwrap_or_else(|| "HEAD".into());
    let dirty = git_status(dir).map_or(true, |s| !s.trim().is_empty());
    Some(GitInfo {
        commit,
        branch,
        dirty,
    })
}

/// The changes to tracked files in the work tree containing `dir`, as
/// `git status --porcelain --untracked-files=no` lists them (empty when clean), or why git
/// could not tell. Untracked files (phasegate's own ledger directory among them) are not
/// changes.
pub fn git_status(dir: &Path) -> Result<String, String> {
    git(dir, &["status", "--porcelain", "--untracked-files=no"])
}

/// `git -C dir args…`: its standard output, or its standard error (or why it could not run).
fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    Err(if stderr.is_empty() {
        format!("`git {}` failed ({})", args.join(" "), out.status)
    } else {
        stderr
    })
}

/// [`git_info`] from `git` alone, for tests comparing the two.
#[cfg(test)]
pub(crate) fn tests_git_info_from_git(dir: &Path) -> Option<GitInfo> {
    git_info_from_git(dir)
}

/// This machine's host name.
pub fn host_name() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_status_lists_changes_to_tracked_files_or_says_why_not() {
        // git is spawned unregistered, which a supervised run's reaper may take.
        let _serial = crate::supervisor::tests::PROCESS_WIDE.lock().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let why = git_status(dir.path()).unwrap_err();
        assert!(why.contains("not a git repository"), "{why}");

        let git = |args: &[&str]| {
            let ok = Command::new("git")
                .arg("-C")
                .arg(dir.path())
                .args(args)
                .status()
                .unwrap()
                .success();
            assert!(ok, "git {args:?}");
        };
        git(&["init", "-q"]);
        std::fs::write(dir.path().join("a"), "1").unwrap();
        assert_eq!(
            git_status(dir.path()).unwrap(),
            "",
            "untracked is not a change"
        );
        git(&["add", "a"]);
        assert_eq!(git_status(dir.path()).unwrap(), "A  a\n");
    }
}
