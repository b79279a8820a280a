use std::io::Write;

use crate::cli::{EvidenceCommand, ExportFormat, Global};
use crate::project::Project;
use crate::{Error, exit};

pub fn evidence(global: &Global, cmd: EvidenceCommand) -> Result<u8, Error> {
    let project = Project::load(global)?;
    match cmd {
        EvidenceCommand::List { limit } => list(&project, limit),
        EvidenceCommand::Show { seq } => show(&project, seq),
        EvidenceCommand::Verify => verify(&project),
        EvidenceCommand::Export {
            format: ExportFormat::Jsonl,
        } => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            project.ledger()?.export_jsonl(&mut out)?;
            out.flush().map_err(Error::io("cannot write the export"))?;
            Ok(exit::OK)
        }
        EvidenceCommand::Key => {
            let key = project.signing_key()?;
            println!("key id:     {}", key.key_id());
            println!("public key: {} (ed25519, hex)", key.public_hex());
            Ok(exit::OK)
        }
    }
}

fn list(project: &Project, limit: Option<usize>) -> Result<u8, Error> {
    let rows = project.ledger()?.list(limit)?;
    if rows.is_empty() {
        println!("the ledger is empty; `phasegate run` adds evidence");
    }
    println!(
        "{:>8}  {:<10}  {:<20}  {:<26}  {:<14}  verdict",
        "seq", "kind", "at", "run", "gate"
    );
    for s in rows {
        println!(
            "{:>8}  {:<10}  {:<20}  {:<26}  {:<14}  {}",
            s.seq,
            s.kind.as_str(),
            s.at.strftime("%Y-%m-%d %H:%M:%S"),
            s.run_id,
            s.gate.as_deref().unwrap_or("-"),
            s.verdict.map_or("-", |v| v.as_str())
        );
    }
    Ok(exit::OK)
}

fn show(project: &Project, seq: u64) -> Result<u8, Error> {
    let Some(e) = project.ledger()?.get(seq)? else {
        return Err(Error::usage(
            format!("no ledger entry {seq}"),
            "`phasegate evidence list` shows the sequence numbers",
        ));
    };
    // The canonical encoding is what the chain hashes: show exactly that, pretty-printed.
    let body: serde_json::Value = serde_json::from_slice(&phasegate_ledger::encode(&e.entry)?)
        .expect("the canonical encoding is JSON");
    let doc = serde_json::json!({ "seq": e.seq, "hash": e.hash, "prev_hash": e.prev_hash, "entry": body });
    println!(
        "{}",
        serde_json::to_string_pretty(&doc).expect("an entry always serializes")
    );
    Ok(exit::OK)
}

fn verify(project: &Project) -> Result<u8, Error> {
    let v = project.ledger()?.verify()?;
    if let Some(broken) = &v.broken {
        println!("BROKEN: {broken}");
        println!(
            "{} entries before it matched; nothing after it can be trusted",
            v.entries.saturating_sub(1)
        );
        return Ok(exit::VERIFY);
    }
    println!(
        "ok: {} entries verified: {} records, {} closed runs with valid signed heads (keys: {})",
        v.entries,
        v.records,
        v.runs_closed,
        if v.key_ids.is_empty() {
            "none".to_owned()
        } else {
            v.key_ids.join(", ")
        }
    );
    if let Some(hash) = &v.last_hash {
        println!("chain head: entry {} hash {hash}", v.last_seq.unwrap_or(0));
    }
    if !v.incomplete.is_empty() {
        println!(
            "incomplete runs (opened, never closed: still running or killed): {}",
            v.incomplete.join(", ")
        );
    }
    Ok(exit::OK)
}
