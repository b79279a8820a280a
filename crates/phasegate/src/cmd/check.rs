use phasegate_engine::Error;

use crate::cli::Global;
use crate::exit;

pub fn check(global: &Global) -> Result<u8, Error> {
    let session = super::open(global)?;
    let name = session.loaded.path.display().to_string();
    print!(
        "{}",
        phasegate_report::check_summary(session.roadmap(), &name)
    );
    Ok(exit::OK)
}
