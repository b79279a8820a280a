//! `phasegate advisories update`.

use phasegate_engine::{AdvisoriesUpdate, Error};

use crate::cli::{AdvisoriesCommand, Global};
use crate::exit;

pub fn advisories(global: &Global, cmd: AdvisoriesCommand) -> Result<u8, Error> {
    match cmd {
        AdvisoriesCommand::Update {
            ecosystems,
            source,
            timeout,
        } => {
            let session = super::open(global)?;
            let request = AdvisoriesUpdate {
                source,
                ecosystems,
                timeout,
            };
            let done = super::runtime()?.block_on(session.update_advisories(&request))?;
            for u in done {
                println!(
                    "{}: {} advisories ({} bytes) in {}",
                    u.ecosystem,
                    u.advisories,
                    u.bytes,
                    u.path.display()
                );
            }
            Ok(exit::OK)
        }
    }
}
