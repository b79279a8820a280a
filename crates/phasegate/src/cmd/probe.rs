use std::fmt::Write;

use phasegate_model::Verdict;
use phasegate_probes::{Context, Outcome, Params};

use crate::cli::{Format, ProbeArgs};
use crate::{Error, exit};

pub fn probe(args: &ProbeArgs) -> Result<u8, Error> {
    let params = parse_params(&args.params)?;
    if let Err(errors) = phasegate_probes::validate(&args.kind, &params) {
        let lines: Vec<String> = errors
            .iter()
            .map(|e| match &e.key {
                Some(k) => format!("`{k}`: {}", e.message),
                None => e.message.clone(),
            })
            .collect();
        return Err(Error::usage(
            format!(
                "invalid parameters for probe `{}`: {}",
                args.kind,
                lines.join("; ")
            ),
            format!("probes: {}", phasegate_probes::KINDS.join(", ")),
        ));
    }
    let base_url = url::Url::parse(&args.url).map_err(|e| {
        Error::usage(
            format!("invalid URL `{}`: {e}", args.url),
            "give a base URL such as http://127.0.0.1:8080",
        )
    })?;
    let ctx = Context {
        base_url,
        timeout: args.timeout,
        workdir: std::env::current_dir().map_err(Error::io("cannot read the current directory"))?,
        env: Default::default(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::io("cannot start the async runtime"))?;
    let outcome = runtime.block_on(phasegate_probes::run(&args.kind, &params, &ctx));
    match args.format {
        Format::Table => print!("{}", render(&args.kind, &args.url, &outcome)),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json(&outcome)).expect("an outcome serializes")
        ),
    }
    Ok(match outcome.verdict {
        Verdict::Pass => exit::OK,
        Verdict::Fail => exit::FAILED,
        Verdict::Error | Verdict::Skipped => exit::RUNTIME,
    })
}

/// `KEY=VALUE` pairs; a value that parses as TOML (a number, an array, an inline table, a
/// quoted string) is taken as such, anything else as a plain string.
fn parse_params(pairs: &[String]) -> Result<Params, Error> {
    let mut params = Params::new();
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(Error::usage(
                format!("parameter `{pair}` is not KEY=VALUE"),
                "e.g. -p limit=5 or -p paths='[\"/\", \"/login\"]'",
            ));
        };
        let parsed = toml::from_str::<toml::Table>(&format!("v = {value}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .and_then(|v| serde_json::to_value(v).ok())
            .unwrap_or_else(|| serde_json::Value::String(value.to_owned()));
        params.insert(key.trim().to_owned(), parsed);
    }
    Ok(params)
}

fn render(kind: &str, url: &str, o: &Outcome) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "probe {kind} on {url}: {}", o.verdict);
    if let Some(r) = &o.reason {
        let _ = writeln!(s, "  {r}");
    }
    for f in &o.findings {
        let _ = writeln!(s, "  ✘ [{}] {}", f.code, f.message);
        if let Some(l) = &f.location {
            let _ = writeln!(s, "      at {l}");
        }
    }
    let measured: Vec<String> = o
        .measurements
        .iter()
        .map(|(k, v)| format!("{k}={v:.1}"))
        .collect();
    let _ = writeln!(
        s,
        "  {} requests{}",
        o.requests,
        if measured.is_empty() {
            String::new()
        } else {
            format!("; {}", measured.join(", "))
        }
    );
    s
}

fn json(o: &Outcome) -> serde_json::Value {
    serde_json::json!({
        "verdict": o.verdict,
        "reason": o.reason,
        "findings": o.findings,
        "measurements": o.measurements,
        "requests": o.requests,
    })
}
