use phasegate_engine::Error;

use crate::cli::Global;
use crate::exit;

pub fn init(global: &Global, force: bool) -> Result<u8, Error> {
    let path = match &global.config {
        Some(p) => p.clone(),
        None => std::env::current_dir()
            .map_err(Error::io("cannot read the current directory"))?
            .join(phasegate_roadmap::FILE_NAME),
    };
    phasegate_engine::init(&path, force)?;
    println!("wrote {}", path.display());
    println!("next: edit it, then `phasegate check` and `phasegate run`");
    Ok(exit::OK)
}
