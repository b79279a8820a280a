//! Small filesystem helpers shared by the session's operations.

use std::path::{Path, PathBuf};

use crate::Error;

/// `p` made absolute against the current directory, without touching the filesystem.
pub fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The directory `path` is in (`.` for a bare file name), made absolute.
pub fn parent_dir(path: &Path) -> PathBuf {
    absolute(
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new(".")),
    )
}

/// Reads a UTF-8 text file.
pub fn read(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(Error::io(format!("cannot read `{}`", path.display())))
}

/// Writes through a temporary file and a rename: a crash leaves the old or the new file,
/// never half of one.
pub fn write_atomically(path: &Path, text: &str) -> Result<(), Error> {
    let what = || format!("cannot write `{}`", path.display());
    let mut tmp = tempfile::NamedTempFile::new_in(parent_dir(path)).map_err(Error::io(what()))?;
    std::io::Write::write_all(&mut tmp, text.as_bytes()).map_err(Error::io(what()))?;
    tmp.persist(path).map_err(|e| Error::io(what())(e.error))?;
    Ok(())
}
