//! Where a project's local state lives: the ledger directory (`.phasegate/`), ignored by git
//! through its own `.gitignore`, and the signing key, kept outside the work tree in the
//! user's key directory and named from the project by its key id. `docs/state.md` lists
//! every file.

use std::io::Write;
use std::path::{Path, PathBuf};

use phasegate_ledger::Key;

use crate::fsutil::absolute;
use crate::{ALLOW_KEY_IN_TREE_VAR, Error, Session};

/// The `.gitignore` phasegate writes in a ledger directory it creates: everything there is
/// local state.
pub const GITIGNORE: &str =
    "# Written by phasegate: everything here is local state (docs/state.md).\n*\n";

/// The file in the ledger directory naming the project's key in the key directory.
pub const KEY_ID_FILE: &str = "key-id";

/// Where the signing key used to live, in the ledger directory.
pub const LEGACY_KEY_FILE: &str = "signing.key";

impl Session {
    /// The ledger directory, created (with its [`GITIGNORE`]) when missing.
    pub(crate) fn state_dir(&self) -> Result<&Path, Error> {
        let dir = &self.ledger_dir;
        if !dir.is_dir() {
            std::fs::create_dir_all(dir)
                .map_err(Error::io(format!("cannot create `{}`", dir.display())))?;
            let ignore = dir.join(".gitignore");
            std::fs::write(&ignore, GITIGNORE)
                .map_err(Error::io(format!("cannot write `{}`", ignore.display())))?;
        }
        Ok(dir)
    }

    /// The project's own key: a legacy `signing.key` in the ledger directory, else the key
    /// `.phasegate/key-id` names in the key directory, else a new one created there.
    pub(crate) fn project_key(&self) -> Result<Key, Error> {
        let legacy = self.ledger_dir.join(LEGACY_KEY_FILE);
        let Some(key_dir) = &self.options.key_dir else {
            if legacy.is_file() {
                let key = Key::load(&legacy)?;
                self.refuse_in_tree(&legacy, &key)?;
                return Ok(key);
            }
            if let Some(tree) = work_tree(&legacy).filter(|_| !self.options.allow_key_in_tree) {
                return Err(Error::usage(
                    format!(
                        "no key directory is set and the ledger directory `{}` is inside the git work tree `{}`",
                        self.ledger_dir.display(),
                        tree.display()
                    ),
                    format!("give a key directory, or set {ALLOW_KEY_IN_TREE_VAR}=1"),
                ));
            }
            self.state_dir()?;
            return Ok(Key::load_or_create(&legacy)?);
        };
        let key_dir = absolute(key_dir);
        if legacy.is_file() {
            let key = Key::load(&legacy)?;
            self.refuse_in_tree(&legacy, &key)?;
            return Ok(key);
        }
        let id_file = self.ledger_dir.join(KEY_ID_FILE);
        if let Some(id) = self.key_id()? {
            return self.load_named(&key_dir, &id);
        }
        let (key, path) = Key::create_in(&key_dir)?;
        self.refuse_in_tree(&path, &key).inspect_err(|_| {
            let _ = std::fs::remove_file(&path);
        })?;
        self.state_dir()?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        match options.open(&id_file) {
            Ok(mut file) => {
                file.write_all(format!("{}\n", key.key_id()).as_bytes())
                    .map_err(Error::io(format!("cannot write `{}`", id_file.display())))?;
                Ok(key)
            }
            // Another process named the project's key first: use that one.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let _ = std::fs::remove_file(&path);
                let id = self.key_id()?.unwrap_or_default();
                self.load_named(&key_dir, &id)
            }
            Err(e) => Err(Error::io(format!("cannot write `{}`", id_file.display()))(
                e,
            )),
        }
    }

    /// The key id `.phasegate/key-id` records, when it exists.
    fn key_id(&self) -> Result<Option<String>, Error> {
        let path = self.ledger_dir.join(KEY_ID_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let id = text.trim().to_owned();
                if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(Error::usage(
                        format!("`{}` does not hold a key id", path.display()),
                        "it holds the 16 hex digits of `phasegate evidence key`; remove it to make a new key",
                    ));
                }
                Ok(Some(id))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(format!("cannot read `{}`", path.display()))(e)),
        }
    }

    /// The key `<id>.key` in `key_dir`, which must exist.
    fn load_named(&self, key_dir: &Path, id: &str) -> Result<Key, Error> {
        let path = key_dir.join(format!("{id}.key"));
        if !path.is_file() {
            return Err(Error::usage(
                format!(
                    "the project's signing key {id} is not in `{}`",
                    key_dir.display()
                ),
                format!(
                    "copy the key file `{id}.key` there from where the project was first run, or set {}; removing `{}` makes a new key",
                    crate::SIGNING_KEY_VAR,
                    self.ledger_dir.join(KEY_ID_FILE).display()
                ),
            ));
        }
        let key = Key::load(&path)?;
        self.refuse_in_tree(&path, &key)?;
        Ok(key)
    }

    /// Refuses the key file `path` when it lies inside a git work tree, unless allowed.
    pub(crate) fn refuse_in_tree(&self, path: &Path, key: &Key) -> Result<(), Error> {
        if self.options.allow_key_in_tree {
            return Ok(());
        }
        let Some(tree) = work_tree(path) else {
            return Ok(());
        };
        let how = match &self.options.key_dir {
            Some(dir) => {
                let dir = absolute(dir);
                format!(
                    "move it out of the work tree: `mkdir -p -m 700 {dir} && mv {path} {dir}/{id}.key && echo {id} > {id_file}`; or set {ALLOW_KEY_IN_TREE_VAR}=1 to use it where it is",
                    dir = dir.display(),
                    path = path.display(),
                    id = key.key_id(),
                    id_file = self.ledger_dir.join(KEY_ID_FILE).display(),
                )
            }
            None => format!(
                "move it out of the work tree, or set {ALLOW_KEY_IN_TREE_VAR}=1 to use it where it is"
            ),
        };
        Err(Error::usage(
            format!(
                "the signing key `{}` is inside the git work tree `{}`: one `git add` would publish it and let anyone sign evidence as this project",
                path.display(),
                tree.display()
            ),
            how,
        ))
    }
}

/// The git work tree `path` lies in: the nearest ancestor holding `.git` (a directory, or a
/// file in a linked worktree or submodule).
fn work_tree(path: &Path) -> Option<PathBuf> {
    absolute(path)
        .ancestors()
        .skip(1)
        .find(|dir| dir.join(".git").exists())
        .map(Path::to_path_buf)
}
