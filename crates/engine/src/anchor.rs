//! Pinning the chain's end. A hash chain cannot detect entries cut off at its end; an
//! anchor (the last entry's seq and hash, kept elsewhere: a git ref, a CI log, a release
//! note) can: the entry at the anchor's seq must still exist with the anchor's hash.

use std::fmt;
use std::process::{Command, Stdio};

use phasegate_ledger::Broken;

use crate::{Error, Session};

/// The git ref `phasegate evidence anchor --git-ref` writes by convention and
/// `phasegate evidence verify` reads when it exists.
pub const DEFAULT_ANCHOR_REF: &str = "refs/phasegate/anchor";

/// The end of the chain as pinned: `SEQ:HASH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// The last entry's sequence number.
    pub seq: u64,
    /// Its hex chain hash.
    pub hash: String,
}

impl fmt::Display for Anchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

impl std::str::FromStr for Anchor {
    type Err = Error;

    /// `SEQ:HASH`, as `phasegate evidence anchor` prints it.
    fn from_str(text: &str) -> Result<Anchor, Error> {
        let bad = || {
            Error::usage(
                format!("`{text}` is not an anchor"),
                "write it as `phasegate evidence anchor` prints it: SEQ:HASH, e.g. \
                 `42:3f2a...` (64 hex digits)",
            )
        };
        let (seq, hash) = text.trim().split_once(':').ok_or_else(bad)?;
        let seq: u64 = seq.parse().map_err(|_| bad())?;
        let hash = hash.to_ascii_lowercase();
        if seq == 0 || hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(Anchor { seq, hash })
    }
}

impl Session {
    /// The chain's end now; `None` for an empty ledger.
    pub fn anchor(&self) -> Result<Option<Anchor>, Error> {
        Ok(self.read_ledger()?.tip()?.map(|e| Anchor {
            seq: e.seq,
            hash: e.hash,
        }))
    }

    /// Whether the ledger still holds `anchor`'s entry with its hash: `Some` names what was
    /// lost (entries removed after the anchor, or the entry replaced).
    pub fn check_anchor(&self, anchor: &Anchor) -> Result<Option<Broken>, Error> {
        let ledger = self.read_ledger()?;
        let broken = |gate, run_id, reason| Broken {
            seq: anchor.seq,
            gate,
            run_id,
            reason,
        };
        Ok(match ledger.get(anchor.seq)? {
            None => {
                let end = ledger.tip()?.map_or(0, |e| e.seq);
                Some(broken(
                    None,
                    None,
                    format!(
                        "missing: the chain ends at entry {end}, before the anchored entry {} \
                         (entries after {end} were removed)",
                        anchor.seq
                    ),
                ))
            }
            Some(e) if e.hash != anchor.hash => {
                let gate = match &e.entry {
                    phasegate_ledger::Entry::Record(r) => Some(r.gate.to_string()),
                    _ => None,
                };
                Some(broken(
                    gate,
                    Some(e.entry.run_id().to_owned()),
                    format!(
                        "its hash is {}, the anchor pinned {} (the chain was rewritten)",
                        e.hash, anchor.hash
                    ),
                ))
            }
            Some(_) => None,
        })
    }

    /// Writes `anchor` as a blob in the roadmap's git repository and points `name` at it.
    pub fn write_anchor_ref(&self, anchor: &Anchor, name: &str) -> Result<(), Error> {
        let blob = self.git(
            &["hash-object", "-w", "--stdin"],
            Some(&format!("{anchor}\n")),
        )?;
        self.git(&["update-ref", name, blob.trim()], None)?;
        Ok(())
    }

    /// The anchor `name` points at, or `None` when there is no such ref (or no repository).
    pub fn read_anchor_ref(&self, name: &str) -> Result<Option<Anchor>, Error> {
        let Ok(object) = self.git(&["rev-parse", "--verify", "--quiet", name], None) else {
            return Ok(None);
        };
        let text = self.git(&["cat-file", "blob", object.trim()], None)?;
        text.parse().map(Some).map_err(|_| {
            Error::usage(
                format!("git ref `{name}` does not hold an anchor"),
                "write it with `phasegate evidence anchor --git-ref NAME`",
            )
        })
    }

    /// Runs git in the roadmap's directory; its stdout, or a usage error with its stderr.
    fn git(&self, args: &[&str], stdin: Option<&str>) -> Result<String, Error> {
        let mut child = Command::new("git")
            .args(args)
            .current_dir(&self.root)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(Error::io("cannot run git"))?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            std::io::Write::write_all(&mut pipe, text.as_bytes())
                .map_err(Error::io("cannot write to git"))?;
        }
        let out = child
            .wait_with_output()
            .map_err(Error::io("cannot run git"))?;
        if !out.status.success() {
            return Err(Error::usage(
                format!(
                    "`git {}` failed: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
                "the roadmap must be in a git repository to keep an anchor as a git ref",
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}
