//! `phasegate close PHASE [--tag]`.

use phasegate_engine::{Closed, Error};

use crate::cli::{CloseArgs, Global};
use crate::exit;

pub fn close(global: &Global, args: &CloseArgs) -> Result<u8, Error> {
    let session = super::open(global)?;
    match session.close(&args.phase, args.tag)? {
        Closed::NotDone {
            phase,
            state,
            reasons,
        } => {
            println!(
                "phase `{phase}` is {}, not done:",
                state.as_str().replace('_', " ")
            );
            for r in &reasons {
                println!("  {r}");
            }
            Ok(exit::FAILED)
        }
        Closed::Snapshot { snapshot, dir, tag } => {
            println!(
                "phase `{}` closed: snapshot in {}",
                snapshot.phase,
                dir.display()
            );
            if let Some(name) = tag {
                println!("tagged {name}");
            }
            Ok(exit::OK)
        }
    }
}
