use crate::cli::Global;
use crate::project::Project;
use crate::{Error, exit};

pub fn check(global: &Global) -> Result<u8, Error> {
    let project = Project::load(global)?;
    let name = project.loaded.path.display().to_string();
    print!(
        "{}",
        phasegate_report::check_summary(&project.loaded.roadmap, &name)
    );
    Ok(exit::OK)
}
