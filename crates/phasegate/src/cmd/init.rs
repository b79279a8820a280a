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
    println!();
    println!(
        "commit: {} (and the allowed-signers file and role map, when it names them)",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    );
    println!(
        "do not commit: .phasegate/ (the ledger, logs, snapshots: local state, ignored by its own .gitignore)"
    );
    match super::key_dir() {
        Some(dir) => println!(
            "signing keys are kept outside the project, in {}",
            dir.display()
        ),
        None => println!("signing keys are kept outside the project (set XDG_STATE_HOME or HOME)"),
    }
    println!("see docs/state.md for every file phasegate writes");
    Ok(exit::OK)
}
