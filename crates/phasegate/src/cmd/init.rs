use crate::cli::Global;
use crate::{Error, exit};

pub fn init(global: &Global, force: bool) -> Result<u8, Error> {
    let path = match &global.config {
        Some(p) => p.clone(),
        None => std::env::current_dir()
            .map_err(Error::io("cannot read the current directory"))?
            .join(phasegate_roadmap::FILE_NAME),
    };
    if path.exists() && !force {
        return Err(Error::usage(
            format!("`{}` already exists", path.display()),
            "keep it and run `phasegate check`, or pass --force to replace it",
        ));
    }
    let dir = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(d) => d.to_path_buf(),
        None => std::path::PathBuf::from("."),
    };
    let text = phasegate_roadmap::starter::starter(&dir);
    std::fs::write(&path, text).map_err(Error::io(format!("cannot write `{}`", path.display())))?;
    println!("wrote {}", path.display());
    println!("next: edit it, then `phasegate check` and `phasegate run`");
    Ok(exit::OK)
}
