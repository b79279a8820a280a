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
/// never half of one. A file replaced keeps its permissions (the temporary file is created
/// 0600, which would otherwise silently become the file's).
pub fn write_atomically(path: &Path, text: &str) -> Result<(), Error> {
    let what = || format!("cannot write `{}`", path.display());
    let mut tmp = tempfile::NamedTempFile::new_in(parent_dir(path)).map_err(Error::io(what()))?;
    if let Ok(old) = std::fs::metadata(path) {
        tmp.as_file()
            .set_permissions(old.permissions())
            .map_err(Error::io(what()))?;
    }
    std::io::Write::write_all(&mut tmp, text.as_bytes()).map_err(Error::io(what()))?;
    tmp.persist(path).map_err(|e| Error::io(what())(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_file_rewritten_keeps_its_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ROADMAP.md");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_atomically(&path, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
    }
}
