use phasegate_engine::{Anchor, DEFAULT_ANCHOR_REF, Error, Session};
use phasegate_report::{EntryRow, VerifySummary};

use crate::cli::{EvidenceCommand, ExportFormat, Global};
use crate::exit;

pub fn evidence(global: &Global, cmd: EvidenceCommand) -> Result<u8, Error> {
    let session = super::open(global)?;
    // Read-only subcommands see an empty ledger where there is none, and say so.
    if !matches!(cmd, EvidenceCommand::Key) {
        super::status::no_ledger_note(&session);
    }
    match cmd {
        EvidenceCommand::List { limit } => list(&session, limit),
        EvidenceCommand::Show { seq } => show(&session, seq),
        EvidenceCommand::Verify { anchor, anchor_ref } => {
            verify(&session, anchor.as_deref(), anchor_ref.as_deref())
        }
        EvidenceCommand::Anchor { git_ref } => anchor(&session, git_ref.as_deref()),
        EvidenceCommand::Export {
            format: ExportFormat::Jsonl,
        } => {
            let stdout = std::io::stdout();
            session.export_jsonl(&mut std::io::BufWriter::new(stdout.lock()))?;
            Ok(exit::OK)
        }
        EvidenceCommand::Key => {
            let key = session.signing_key()?;
            println!("key id:     {}", key.key_id());
            println!("public key: {} (ed25519, hex)", key.public_hex());
            Ok(exit::OK)
        }
    }
}

fn list(session: &Session, limit: Option<usize>) -> Result<u8, Error> {
    let entries = session.entries(limit)?;
    let rows: Vec<EntryRow<'_>> = entries
        .iter()
        .map(|s| EntryRow {
            seq: s.seq,
            kind: s.kind.as_str(),
            at: s.at,
            run_id: &s.run_id,
            gate: s.gate.as_deref(),
            verdict: s.verdict,
        })
        .collect();
    print!("{}", phasegate_report::entry_list(&rows));
    Ok(exit::OK)
}

fn show(session: &Session, seq: u64) -> Result<u8, Error> {
    let Some(doc) = session.entry_json(seq)? else {
        return Err(Error::usage(
            format!("no ledger entry {seq}"),
            "`phasegate evidence list` shows the sequence numbers",
        ));
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&doc).expect("an entry always serializes")
    );
    Ok(exit::OK)
}

fn anchor(session: &Session, git_ref: Option<&str>) -> Result<u8, Error> {
    let Some(anchor) = session.anchor()? else {
        return Err(Error::usage(
            "the ledger is empty: there is no end to pin yet",
            "run some gates first (`phasegate run`)",
        ));
    };
    println!("{anchor}");
    if let Some(name) = git_ref {
        session.write_anchor_ref(&anchor, name)?;
        eprintln!("wrote anchor {anchor} to git ref {name}");
    }
    Ok(exit::OK)
}

fn verify(session: &Session, anchor: Option<&str>, anchor_ref: Option<&str>) -> Result<u8, Error> {
    let anchor = match (anchor, anchor_ref) {
        (Some(text), _) => Some((text.parse::<Anchor>()?, "--anchor".to_owned())),
        (None, Some(name)) => match session.read_anchor_ref(name)? {
            Some(a) => Some((a, format!("git ref {name}"))),
            None => {
                return Err(Error::usage(
                    format!("no git ref `{name}`"),
                    "write one with `phasegate evidence anchor --git-ref NAME`",
                ));
            }
        },
        (None, None) => session
            .read_anchor_ref(DEFAULT_ANCHOR_REF)?
            .map(|a| (a, format!("git ref {DEFAULT_ANCHOR_REF}"))),
    };
    let v = session.verify()?;
    let broken = v.broken.as_ref().map(ToString::to_string);
    print!(
        "{}",
        phasegate_report::verification(&VerifySummary {
            broken: broken.as_deref(),
            entries: v.entries,
            records: v.records,
            runs_closed: v.runs_closed,
            key_ids: &v.key_ids,
            last: v.last_hash.as_deref().map(|h| (v.last_seq.unwrap_or(0), h)),
            incomplete: &v.incomplete,
        })
    );
    let mut lost = None;
    if let Some((anchor, from)) = &anchor {
        lost = session.check_anchor(anchor)?;
        match &lost {
            Some(b) => println!("BROKEN anchor {anchor} (from {from}): {b}"),
            None => println!("anchor {anchor} (from {from}): present"),
        }
    }
    Ok(if v.broken.is_some() || lost.is_some() {
        exit::VERIFY
    } else {
        exit::OK
    })
}
