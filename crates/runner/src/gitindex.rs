//! The git state of a work tree read from git's own files (`HEAD`, the refs, the index),
//! without starting `git`: a fully cached run must start no process, and `git rev-parse`
//! plus `git status` cost more than the rest of such a run.
//!
//! Hand-written rather than taken from gitoxide (`gix`): reading `HEAD`, a ref and the
//! index's fixed-size entries is a few hundred lines, where `gix` with status support adds
//! well over a hundred crates to build. And this reader only ever *proves* the easy case:
//! whatever it does not fully understand (a split or sparse index, submodules, merge
//! conflicts, reftable, `GIT_DIR` and friends, a file whose content differs from the index,
//! which line-ending filters may explain) it answers [`Answer::Ask`], and the caller asks
//! `git` as before. So it can be wrong only by starting a process it could have spared.
//!
//! `dirty` means what `git status --porcelain --untracked-files=no` lists: the index differs
//! from `HEAD`, or a tracked file differs from the index.
//! - Work tree against index: each entry's file metadata against what the index recorded
//!   (git's own test); an entry whose metadata differs, or that is "racily clean" (modified
//!   no earlier than the index was written), has its content hashed as a git blob and
//!   compared with the index's object id.
//! - Index against `HEAD`: a function of the two alone, so it is asked of git once
//!   (`git diff-index --cached --quiet HEAD`) and kept in a small cache file keyed on the
//!   commit and the index file's checksum and metadata.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use phasegate_model::GitInfo;
use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The first line of the cache file; another one means "ask again".
const CACHE_HEADER: &str = "phasegate git cache v1";

/// Below this many index entries, the work tree is checked on the calling thread.
const PARALLEL_FROM: usize = 2_048;

/// What the reader could tell.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The state, or `None` outside a work tree or on an unborn branch (as `git rev-parse
    /// HEAD` fails there).
    Known(Option<GitInfo>),
    /// Something this reader does not handle: ask `git`.
    Ask,
}

/// Where a work tree keeps its git data.
struct Repo {
    work_tree: PathBuf,
    /// This work tree's git directory (`HEAD`, `index`).
    git_dir: PathBuf,
    /// The repository's shared directory (refs, `packed-refs`); `git_dir` but in a linked
    /// work tree (`git worktree add`).
    common_dir: PathBuf,
}

/// Reads the state of the work tree containing `dir`; `cache` keeps the index-against-HEAD
/// answer between runs (`None`: ask git for it each time).
pub(crate) fn read(dir: &Path, cache: Option<&Path>) -> Answer {
    // These change what git itself would read; leave them to git.
    const GIT_VARS: &[&str] = &[
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_COMMON_DIR",
        "GIT_OBJECT_DIRECTORY",
        "GIT_CEILING_DIRECTORIES",
        "GIT_DISCOVERY_ACROSS_FILESYSTEM",
    ];
    if GIT_VARS.iter().any(|v| std::env::var_os(v).is_some()) {
        return Answer::Ask;
    }
    let Some(repo) = discover(dir) else {
        // Not in a work tree, or a layout this reader does not know (a bare repository):
        // `git` answers for the latter.
        return if has_git_ancestor(dir) {
            Answer::Ask
        } else {
            Answer::Known(None)
        };
    };
    // git refuses a repository owned by someone else ("dubious ownership").
    match std::fs::metadata(&repo.git_dir) {
        Ok(m) if m.uid() == rustix::process::geteuid().as_raw() => {}
        _ => return Answer::Ask,
    }
    let (commit, branch) = match head(&repo) {
        Head::Commit { commit, branch } => (commit, branch),
        Head::Unborn => return Answer::Known(None),
        Head::Ask => return Answer::Ask,
    };
    let Some(index) = Index::read(&repo.git_dir.join("index"), commit.len() / 2) else {
        return Answer::Ask;
    };
    if !index.work_tree_matches(&repo.work_tree) {
        return Answer::Ask;
    }
    let key = format!("{commit} {}", index.identity);
    let staged = match cache.and_then(|c| cached(c, &key)) {
        Some(staged) => staged,
        None => {
            let Some(staged) = staged_changes(&repo.work_tree) else {
                return Answer::Ask;
            };
            if let Some(c) = cache {
                // Best effort: a cache that cannot be written only means asking git again.
                let _ = store(c, &key, staged);
            }
            staged
        }
    };
    Answer::Known(Some(GitInfo {
        commit,
        branch,
        dirty: staged,
    }))
}

/// The work tree containing `dir` and its git directories: the nearest ancestor with a
/// `.git` directory, or a `.git` file pointing at one.
fn discover(dir: &Path) -> Option<Repo> {
    let start = dir.canonicalize().ok()?;
    for work_tree in start.ancestors() {
        let dot_git = work_tree.join(".git");
        let Ok(meta) = std::fs::metadata(&dot_git) else {
            continue;
        };
        let git_dir = if meta.is_dir() {
            dot_git
        } else {
            let text = std::fs::read_to_string(&dot_git).ok()?;
            work_tree.join(text.strip_prefix("gitdir:")?.trim())
        };
        let common_dir = match std::fs::read_to_string(git_dir.join("commondir")) {
            Ok(rel) => git_dir.join(rel.trim()),
            Err(_) => git_dir.clone(),
        };
        if !git_dir.join("HEAD").is_file() {
            return None;
        }
        return Some(Repo {
            work_tree: work_tree.to_owned(),
            git_dir,
            common_dir,
        });
    }
    None
}

/// Whether some ancestor of `dir` has a `.git` at all (then `discover` failing means a
/// layout it does not read, not "no repository").
fn has_git_ancestor(dir: &Path) -> bool {
    let start = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
    start.ancestors().any(|d| d.join(".git").exists())
}

enum Head {
    Commit { commit: String, branch: String },
    Unborn,
    Ask,
}

/// What `HEAD` points at: `git rev-parse HEAD` and `git rev-parse --abbrev-ref HEAD`.
fn head(repo: &Repo) -> Head {
    let Ok(text) = std::fs::read_to_string(repo.git_dir.join("HEAD")) else {
        return Head::Ask;
    };
    let text = text.trim();
    let Some(name) = text.strip_prefix("ref:").map(str::trim) else {
        return match is_object_id(text) {
            true => Head::Commit {
                commit: text.to_owned(),
                branch: "HEAD".to_owned(),
            },
            false => Head::Ask,
        };
    };
    // Only branches: `--abbrev-ref` shortens other refs in ways not worth copying.
    let Some(branch) = name.strip_prefix("refs/heads/") else {
        return Head::Ask;
    };
    // A ref in the reftable format lives in binary tables, not in files.
    if repo.common_dir.join("reftable").exists() {
        return Head::Ask;
    }
    match std::fs::read_to_string(repo.common_dir.join(name)) {
        Ok(loose) => {
            let loose = loose.trim();
            if is_object_id(loose) {
                Head::Commit {
                    commit: loose.to_owned(),
                    branch: branch.to_owned(),
                }
            } else {
                Head::Ask
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            match packed_ref(&repo.common_dir, name) {
                Ok(Some(commit)) => Head::Commit {
                    commit,
                    branch: branch.to_owned(),
                },
                Ok(None) => Head::Unborn,
                Err(()) => Head::Ask,
            }
        }
        Err(_) => Head::Ask,
    }
}

/// `name`'s object id in `packed-refs` (`<id> <name>` lines), `None` when absent.
fn packed_ref(common_dir: &Path, name: &str) -> Result<Option<String>, ()> {
    let text = match std::fs::read_to_string(common_dir.join("packed-refs")) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(_) => return Err(()),
    };
    for line in text.lines() {
        if let Some((id, r)) = line.split_once(' ')
            && r == name
            && is_object_id(id)
        {
            return Ok(Some(id.to_owned()));
        }
    }
    Ok(None)
}

/// A SHA-1 or SHA-256 object id in lowercase hex.
fn is_object_id(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// One tracked file as the index recorded it.
struct Entry {
    path: String,
    ctime: (u32, u32),
    mtime: (u32, u32),
    ino: u32,
    mode: u32,
    uid: u32,
    gid: u32,
    size: u32,
    oid: Vec<u8>,
}

const MODE_TYPE: u32 = 0o170_000;
const MODE_FILE: u32 = 0o100_000;
const MODE_SYMLINK: u32 = 0o120_000;

/// git's index file (`Documentation/gitformat-index.txt`), versions 2 to 4.
struct Index {
    entries: Vec<Entry>,
    /// When the index was written: entries modified no earlier are "racily clean".
    written: (i64, i64),
    /// The trailing checksum with the file's size, mtime and inode: changes whenever the
    /// index does (the checksum alone is zero under `index.skipHash`).
    identity: String,
}

impl Index {
    /// Reads the index whose object ids have `oid_len` bytes; `None` for what this reader
    /// leaves to git (no index, an unknown version, conflicts, submodules, flagged entries,
    /// a split or sparse index).
    fn read(path: &Path, oid_len: usize) -> Option<Index> {
        let meta = std::fs::metadata(path).ok()?;
        let bytes = std::fs::read(path).ok()?;
        let mut r = Reader {
            bytes: &bytes,
            at: 0,
        };
        if r.take(4)? != b"DIRC" {
            return None;
        }
        let version = r.u32()?;
        if !(2..=4).contains(&version) {
            return None;
        }
        let count = r.u32()?;
        let mut entries = Vec::with_capacity(usize::try_from(count).ok()?);
        let mut previous = String::new();
        for _ in 0..count {
            let start = r.at;
            let ctime = (r.u32()?, r.u32()?);
            let mtime = (r.u32()?, r.u32()?);
            let _dev = r.u32()?;
            let ino = r.u32()?;
            let mode = r.u32()?;
            let uid = r.u32()?;
            let gid = r.u32()?;
            let size = r.u32()?;
            let oid = r.take(oid_len)?.to_vec();
            let flags = r.u16()?;
            // assume-valid, a merge stage, or extended flags (skip-worktree, intent-to-add).
            if flags & 0xf000 != 0 {
                return None;
            }
            if !matches!(mode & MODE_TYPE, MODE_FILE | MODE_SYMLINK) {
                return None;
            }
            let path = if version == 4 {
                // The path is the previous one less `strip` bytes, plus a NUL-ended suffix.
                let strip = r.varint()?;
                let keep = previous.len().checked_sub(strip)?;
                let mut p = previous.get(..keep)?.to_owned();
                p.push_str(std::str::from_utf8(r.until_nul()?).ok()?);
                p
            } else {
                let p = std::str::from_utf8(r.until_nul()?).ok()?.to_owned();
                // NUL padding to a multiple of 8 bytes (one NUL already read).
                let len = r.at - start;
                r.take((8 - len % 8) % 8)?;
                p
            };
            previous.clone_from(&path);
            entries.push(Entry {
                path,
                ctime,
                mtime,
                ino,
                mode,
                uid,
                gid,
                size,
                oid,
            });
        }
        // Extensions: a split index ("link") keeps entries elsewhere, a sparse index
        // ("sdir") folds directories into one entry.
        let end = bytes.len().checked_sub(oid_len)?;
        while r.at + 8 <= end {
            let signature = r.take(4)?;
            if signature == b"link" || signature == b"sdir" {
                return None;
            }
            let len = usize::try_from(r.u32()?).ok()?;
            r.take(len)?;
        }
        let written = (meta.mtime(), meta.mtime_nsec());
        let identity = format!(
            "{} {} {}.{:09} {}",
            hex::encode(bytes.get(end..)?),
            meta.len(),
            written.0,
            written.1,
            meta.ino()
        );
        Some(Index {
            entries,
            written,
            identity,
        })
    }

    /// Whether every tracked file is as the index has it, spread over the cores for a
    /// large index (one `lstat` each; content hashed only where metadata differs).
    fn work_tree_matches(&self, work_tree: &Path) -> bool {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        if self.entries.len() < PARALLEL_FROM || threads == 1 {
            return self.all_match(work_tree, &self.entries);
        }
        let chunk = self.entries.len().div_ceil(threads);
        std::thread::scope(|s| {
            let handles: Vec<_> = self
                .entries
                .chunks(chunk)
                .map(|part| s.spawn(move || self.all_match(work_tree, part)))
                .collect();
            handles
                .into_iter()
                .all(|h| h.join().expect("checking files does not panic"))
        })
    }

    /// Whether each of `entries` matches. Entries are sorted by path, so the files of one
    /// directory come together: each is looked up relative to its directory, opened once,
    /// which spares the kernel walking the whole path again for every file.
    fn all_match(&self, work_tree: &Path, entries: &[Entry]) -> bool {
        let mut dir: Option<(&str, rustix::fd::OwnedFd)> = None;
        for e in entries {
            let (parent, name) = e.path.rsplit_once('/').unwrap_or(("", &e.path));
            if dir.as_ref().is_none_or(|(d, _)| *d != parent) {
                let Ok(fd) = rustix::fs::open(
                    work_tree.join(parent),
                    OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                    Mode::empty(),
                ) else {
                    return false;
                };
                dir = Some((parent, fd));
            }
            let (_, fd) = dir.as_ref().expect("opened above");
            if !self.matches(work_tree, fd, name, e) {
                return false;
            }
        }
        true
    }

    /// Whether `e`'s file (`name` in the directory `dir`) is as the index has it: the same
    /// metadata and not racily clean, or else the same content.
    fn matches(&self, work_tree: &Path, dir: &rustix::fd::OwnedFd, name: &str, e: &Entry) -> bool {
        let Ok(st) = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) else {
            return false;
        };
        let kind = match FileType::from_raw_mode(st.st_mode) {
            FileType::Symlink => MODE_SYMLINK,
            FileType::RegularFile => MODE_FILE,
            _ => return false,
        };
        if kind != e.mode & MODE_TYPE {
            return false;
        }
        // The executable bit is a change to git (with the default `core.fileMode`).
        if kind == MODE_FILE && (st.st_mode & 0o100 != 0) != (e.mode & 0o100 != 0) {
            return false;
        }
        // The index keeps the low 32 bits of each field.
        let low = |v: i64| v as u32;
        let mtime = (st.st_mtime, st.st_mtime_nsec as i64);
        let same = e.mtime == (low(mtime.0), low(mtime.1))
            && e.ctime == (low(st.st_ctime), st.st_ctime_nsec as u32)
            && e.ino == st.st_ino as u32
            && e.uid == st.st_uid
            && e.gid == st.st_gid
            && e.size == st.st_size as u32;
        let racy = mtime >= self.written;
        if same && !racy {
            return true;
        }
        let path = work_tree.join(&e.path);
        let content = if kind == MODE_SYMLINK {
            match std::fs::read_link(&path) {
                Ok(target) => target.into_os_string().into_encoded_bytes(),
                Err(_) => return false,
            }
        } else {
            match std::fs::read(&path) {
                Ok(c) => c,
                Err(_) => return false,
            }
        };
        blob_id(&content, e.oid.len()) == e.oid
    }
}

/// git's object id of a blob holding `content`: the hash of `blob <len>\0<content>`.
fn blob_id(content: &[u8], oid_len: usize) -> Vec<u8> {
    let header = format!("blob {}\0", content.len());
    if oid_len == 32 {
        let mut h = Sha256::new();
        h.update(header.as_bytes());
        h.update(content);
        h.finalize().to_vec()
    } else {
        let mut h = Sha1::new();
        h.update(header.as_bytes());
        h.update(content);
        h.finalize().to_vec()
    }
}

/// Big-endian fields of the index, `None` past its end.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    /// Up to the next NUL, which is consumed.
    fn until_nul(&mut self) -> Option<&'a [u8]> {
        let rest = self.bytes.get(self.at..)?;
        let len = rest.iter().position(|&b| b == 0)?;
        self.at += len + 1;
        Some(&rest[..len])
    }

    /// git's offset varint (`varint.c`): 7 bits a byte, each continuation adding one.
    fn varint(&mut self) -> Option<usize> {
        let mut c = self.take(1)?[0];
        let mut value = usize::from(c & 0x7f);
        while c & 0x80 != 0 {
            c = self.take(1)?[0];
            value = value
                .checked_add(1)?
                .checked_mul(128)?
                .checked_add(usize::from(c & 0x7f))?;
        }
        Some(value)
    }
}

/// Whether the index differs from `HEAD`, asked of git; `None` when it cannot tell.
fn staged_changes(work_tree: &Path) -> Option<bool> {
    let status = Command::new("git")
        .arg("-C")
        .arg(work_tree)
        .args(["diff-index", "--cached", "--quiet", "HEAD", "--"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .ok()?;
    match status.code() {
        Some(0) => Some(false),
        Some(1) => Some(true),
        _ => None,
    }
}

/// The cached answer for `key`, if the cache holds it.
fn cached(file: &Path, key: &str) -> Option<bool> {
    let text = std::fs::read_to_string(file).ok()?;
    let mut lines = text.lines();
    if lines.next()? != CACHE_HEADER {
        return None;
    }
    let (k, staged) = lines.next()?.split_once('\t')?;
    (k == key).then_some(staged == "1")
}

/// Keeps the answer for `key`: written aside and renamed, so a reader never sees half.
/// Only the file's own directory is made: the state directory above it is the caller's
/// (made with its `.gitignore`), and without it nothing is kept.
fn store(file: &Path, key: &str, staged: bool) -> std::io::Result<()> {
    if let Some(dir) = file.parent()
        && let Err(e) = std::fs::create_dir(dir)
        && e.kind() != std::io::ErrorKind::AlreadyExists
    {
        return Err(e);
    }
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(
        &tmp,
        format!(
            "{CACHE_HEADER}\n{key}\t{}\n",
            if staged { "1" } else { "0" }
        ),
    )?;
    std::fs::rename(&tmp, file)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A work tree with one commit of `a.txt` and `dir/b.txt`.
    struct Tree {
        dir: tempfile::TempDir,
        cache: PathBuf,
    }

    impl Tree {
        fn new() -> Tree {
            let dir = tempfile::tempdir().unwrap();
            let cache = dir.path().join("state/git.state");
            std::fs::create_dir(dir.path().join("state")).unwrap();
            let t = Tree { dir, cache };
            t.git(&["init", "-q", "-b", "main", "repo"]);
            t.write("a.txt", "a\n");
            t.write("dir/b.txt", "b\n");
            t.git_in(&["add", "-A"]);
            t.commit("one");
            t
        }

        fn repo(&self) -> PathBuf {
            self.dir.path().join("repo")
        }

        fn git(&self, args: &[&str]) -> String {
            run_git(self.dir.path(), args)
        }

        fn git_in(&self, args: &[&str]) -> String {
            run_git(&self.repo(), args)
        }

        fn commit(&self, message: &str) {
            self.git_in(&[
                "-c",
                "user.email=t@example.invalid",
                "-c",
                "user.name=t",
                "commit",
                "-qm",
                message,
            ]);
        }

        fn write(&self, rel: &str, content: &str) {
            let path = self.repo().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }

        fn read(&self) -> Answer {
            read(&self.repo().join("dir"), Some(&self.cache))
        }

        /// What git itself says, for comparison.
        fn by_git(&self) -> Option<GitInfo> {
            crate::facts::tests_git_info_from_git(&self.repo())
        }
    }

    fn run_git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    fn known(a: Answer) -> GitInfo {
        match a {
            Answer::Known(Some(info)) => info,
            other => panic!("expected a known state, got {other:?}"),
        }
    }

    /// Ages every file so that none is "racily clean", then rewrites the index (as `git
    /// status` would) so that it records the new times.
    fn settle(t: &Tree) {
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        for rel in ["a.txt", "dir/b.txt"] {
            let f = std::fs::File::options()
                .write(true)
                .open(t.repo().join(rel))
                .unwrap();
            f.set_modified(old).unwrap();
        }
        t.git_in(&["update-index", "--refresh"]);
    }

    #[test]
    fn a_clean_tree_reads_as_git_says_and_then_from_the_cache() {
        let _serial = crate::supervisor::tests::PROCESS_WIDE.lock().unwrap();
        let t = Tree::new();
        settle(&t);
        let info = known(t.read());
        assert_eq!(info.commit, t.git_in(&["rev-parse", "HEAD"]));
        assert_eq!(info.branch, "main");
        assert!(!info.dirty);
        assert_eq!(Some(info.clone()), t.by_git());
        // Untracked files are not changes.
        t.write("new.txt", "untracked\n");
        assert!(!known(t.read()).dirty);
        // The index-against-HEAD answer now comes from the cache, not from git: a cache
        // saying otherwise for the same key is believed.
        let text = std::fs::read_to_string(&t.cache).unwrap();
        assert!(text.ends_with("\t0\n"), "{text}");
        std::fs::write(&t.cache, text.replace("\t0\n", "\t1\n")).unwrap();
        assert!(known(t.read()).dirty, "read from the cache");
    }

    #[test]
    fn a_changed_or_removed_tracked_file_is_left_to_git_which_says_dirty() {
        let _serial = crate::supervisor::tests::PROCESS_WIDE.lock().unwrap();
        let t = Tree::new();
        settle(&t);
        t.write("dir/b.txt", "changed\n");
        assert_eq!(t.read(), Answer::Ask);
        assert!(
            crate::facts::git_info(&t.repo(), Some(&t.cache))
                .unwrap()
                .dirty
        );
        t.write("dir/b.txt", "b\n");
        // Same content, new times: hashed, found equal, clean without git's help.
        assert!(!known(t.read()).dirty);
        std::fs::remove_file(t.repo().join("a.txt")).unwrap();
        assert_eq!(t.read(), Answer::Ask);
        assert!(crate::facts::git_info(&t.repo(), None).unwrap().dirty);
    }

    #[test]
    fn a_mode_change_is_left_to_git() {
        use std::os::unix::fs::PermissionsExt;
        let _serial = crate::supervisor::tests::PROCESS_WIDE.lock().unwrap();
        let t = Tree::new();
        settle(&t);
        let path = t.repo().join("a.txt");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(t.read(), Answer::Ask);
        assert!(crate::facts::git_info(&t.repo(), None).unwrap().dirty);
    }

    #[test]
    fn a_staged_change_is_dirty_and_a_commit_makes_it_clean_again() {
        let _serial = crate::supervisor::tests::PROCESS_WIDE.lock().unwrap();
        let t = Tree::new();
        t.write("c.txt", "c\n");
        t.git_in(&["add", "c.txt"]);
        let info = known(t.read());
        assert!(info.dirty, "the index differs from HEAD");
        assert_eq!(Some(info), t.by_git());
        t.commit("two");
        let info = known(t.read());
        assert!(!info.dirty);
        assert_eq!(info.commit, t.git_in(&["rev-parse", "HEAD"]));
    }

    #[test]
    fn detached_heads_packed_refs_index_v4_and_linked_work_trees_are_read() {
        let _serial = crate::supervisor::tests::PROCESS_WIDE.lock().unwrap();
        let t = Tree::new();
        t.git_in(&["pack-refs", "--all"]);
        assert!(!t.repo().join(".git/refs/heads/main").exists());
        let info = known(t.read());
        assert_eq!(Some(info.clone()), t.by_git());
        assert_eq!(info.branch, "main");

        t.git_in(&["update-index", "--index-version", "4"]);
        let info = known(t.read());
        assert_eq!(Some(info), t.by_git());

        let commit = t.git_in(&["rev-parse", "HEAD"]);
        t.git_in(&["checkout", "-q", "--detach"]);
        let info = known(t.read());
        assert_eq!(
            (info.branch.as_str(), info.commit.as_str()),
            ("HEAD", commit.as_str())
        );

        t.git_in(&["worktree", "add", "-q", "-b", "side", "../linked"]);
        let linked = t.dir.path().join("linked");
        let info = known(read(&linked, None));
        assert_eq!(info.branch, "side");
        assert_eq!(info.commit, commit);
        assert_eq!(Some(info), crate::facts::tests_git_info_from_git(&linked));
    }

    #[test]
    fn outside_a_work_tree_or_on_an_unborn_branch_there_is_no_state() {
        let _serial = crate::supervisor::tests::PROCESS_WIDE.lock().unwrap();
        let dir = tempfile::tempdir().unwrap();
        // A temp dir may itself sit in a git work tree; only assert when it does not.
        if !has_git_ancestor(dir.path()) {
            assert_eq!(read(dir.path(), None), Answer::Known(None));
        }
        run_git(dir.path(), &["init", "-q"]);
        assert_eq!(read(dir.path(), None), Answer::Known(None));
        assert_eq!(crate::facts::git_info(dir.path(), None), None);
    }
}
