//! `phasegate key`: the runner's key, personal keys, trusting a key.

use phasegate_engine::Error;

use crate::cli::{Global, KeyCommand};
use crate::exit;

pub fn key(global: &Global, cmd: KeyCommand) -> Result<u8, Error> {
    match cmd {
        KeyCommand::Show => {
            let k = super::open(global)?.runner_key()?;
            println!("key id:      {}", k.key_id);
            println!("fingerprint: {}", k.fingerprint);
            println!("public key:  {}", k.openssh);
            println!(
                "trust it:    phasegate key trust PRINCIPAL (then add PRINCIPAL to `run_signers` in [trust])"
            );
        }
        KeyCommand::New { path, comment } => {
            let public = phasegate_engine::new_key(&path, &comment)?;
            println!("wrote {} and {}.pub", path.display(), path.display());
            println!(
                "public key: {}",
                public.to_openssh().expect("a new key encodes")
            );
            println!(
                "next: have it trusted for you: phasegate key trust YOU@EXAMPLE.COM --pub {}.pub",
                path.display()
            );
        }
        KeyCommand::Trust { principal, public } => {
            let t = super::open(global)?.trust_key(&principal, public.as_deref())?;
            match t.line {
                Some(line) => println!("added to {}: {line}", t.file.display()),
                None => println!("{}: {principal} already holds that key", t.file.display()),
            }
        }
    }
    Ok(exit::OK)
}
