//! A starter roadmap for a repository.

use std::path::{Path, PathBuf};

use phasegate_roadmap::starter::Repository;

use crate::Error;

/// Writes a commented starter roadmap to `path` (refused when it exists, unless `force`),
/// with gates for the build tools found in its directory.
pub fn init(path: &Path, force: bool) -> Result<(), Error> {
    if path.exists() && !force {
        return Err(Error::usage(
            format!("`{}` already exists", path.display()),
            "keep it and run `phasegate check`, or pass --force to replace it",
        ));
    }
    let dir = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(d) => d.to_path_buf(),
        None => PathBuf::from("."),
    };
    std::fs::write(path, starter(&dir))
        .map_err(Error::io(format!("cannot write `{}`", path.display())))
}

/// The starter roadmap for the repository at `dir`: its build files read, then
/// [`phasegate_roadmap::starter::starter`]. A file that cannot be read counts as absent.
pub fn starter(dir: &Path) -> String {
    phasegate_roadmap::starter::starter(&detect(dir))
}

/// What the starter needs of the repository at `dir`.
fn detect(dir: &Path) -> Repository {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    Repository {
        name: std::path::absolute(dir)
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default(),
        cargo: dir.join("Cargo.toml").is_file(),
        package_json: read("package.json"),
        pnpm_lock: dir.join("pnpm-lock.yaml").is_file(),
        makefile: ["GNUmakefile", "makefile", "Makefile"]
            .iter()
            .find_map(|name| read(name)),
    }
}

/// Writes `text` as the roadmap (`phasegate.toml`) of `dir`, creating the directory when
/// needed and removing the `stale` files a previous use left beside it. Returns the
/// roadmap's path.
pub fn write_roadmap(dir: &Path, text: &str, stale: &[&str]) -> Result<PathBuf, Error> {
    std::fs::create_dir_all(dir)
        .map_err(Error::io(format!("cannot create `{}`", dir.display())))?;
    let roadmap = dir.join(phasegate_roadmap::FILE_NAME);
    std::fs::write(&roadmap, text)
        .map_err(Error::io(format!("cannot write `{}`", roadmap.display())))?;
    for name in stale {
        // Absent is the state wanted; anything else shows up when the file is used.
        let _ = std::fs::remove_file(dir.join(name));
    }
    Ok(roadmap)
}
