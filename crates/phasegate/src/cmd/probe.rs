use phasegate_engine::{Error, ProbeRequest};
use phasegate_model::Verdict;
use phasegate_report::ProbeView;

use crate::cli::{Format, ProbeArgs};
use crate::exit;

pub fn probe(args: &ProbeArgs) -> Result<u8, Error> {
    let request = ProbeRequest {
        kind: args.kind.clone(),
        url: args.url.clone(),
        params: phasegate_engine::parse_params(&args.params)?,
        timeout: args.timeout,
        fail_on: args.fail_on,
        workdir: std::env::current_dir().map_err(Error::io("cannot read the current directory"))?,
    };
    let o = super::runtime()?.block_on(phasegate_engine::probe(&request))?;
    let view = ProbeView {
        kind: &args.kind,
        url: &args.url,
        verdict: o.verdict,
        reason: o.reason.as_deref(),
        findings: &o.findings,
        measurements: &o.measurements,
        requests: o.requests,
    };
    match args.format {
        Format::Table => print!("{}", phasegate_report::probe_text(&view)),
        Format::Json => print!("{}", phasegate_report::probe_json(&view)),
    }
    Ok(match o.verdict {
        Verdict::Pass => exit::OK,
        Verdict::Fail => exit::FAILED,
        Verdict::Error | Verdict::Skipped => exit::RUNTIME,
    })
}
