use phasegate_engine::{Error, Session};
use phasegate_report::{EntryRow, VerifySummary};

use crate::cli::{EvidenceCommand, ExportFormat, Global};
use crate::exit;

pub fn evidence(global: &Global, cmd: EvidenceCommand) -> Result<u8, Error> {
    let session = super::open(global)?;
    match cmd {
        EvidenceCommand::List { limit } => list(&session, limit),
        EvidenceCommand::Show { seq } => show(&session, seq),
        EvidenceCommand::Verify => verify(&session),
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

fn verify(session: &Session) -> Result<u8, Error> {
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
    Ok(if v.broken.is_some() {
        exit::VERIFY
    } else {
        exit::OK
    })
}
