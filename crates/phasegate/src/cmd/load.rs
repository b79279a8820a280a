//! `phasegate load URL` and `phasegate load merge FILES`.

use std::io::{IsTerminal, Write};
use std::path::Path;

use phasegate_engine::load::{Histogram, LoadResult, PERCENTILES, Progress, Shard};
use phasegate_engine::{Error, LoadRequest};

use crate::cli::{LoadArgs, LoadCommand, LoadFormat};
use crate::exit;

pub fn load(args: &LoadArgs) -> Result<u8, Error> {
    if let Some(LoadCommand::Merge {
        files,
        save,
        format,
    }) = &args.command
    {
        return merge(files, save.as_deref(), *format);
    }
    let url = args
        .url
        .clone()
        .expect("clap requires URL without a subcommand");
    let shard = match &args.shard {
        Some(s) => Shard::parse(s).map_err(|e| Error::usage(e, "e.g. --shard 0/4"))?,
        None => Shard::ALL,
    };
    let mut params = phasegate_engine::parse_params(&[])?;
    let mut set = |k: &str, v: serde_json::Value| params.insert(k.to_owned(), v);
    set("connections", args.connections.into());
    set(
        "duration",
        humantime::format_duration(args.duration).to_string().into(),
    );
    set("threads", args.threads.into());
    set("method", args.method.clone().into());
    set("allow_remote", args.allow_remote.into());
    set("http2", args.http2.into());
    set("streams", args.streams.into());
    if let Some(f) = &args.ca_file {
        set("ca_file", f.display().to_string().into());
    }
    if let Some(r) = args.rate {
        set("rate", r.into());
    }
    if let Some(n) = args.max_requests {
        set("max_requests", n.into());
    }
    if let Some(b) = &args.body {
        set("body", b.clone().into());
    }
    let mut headers = serde_json::Map::new();
    for h in &args.headers {
        let (k, v) = h.split_once(':').ok_or_else(|| {
            Error::usage(
                format!("header `{h}` is not `NAME: VALUE`"),
                "e.g. -H 'accept: application/json'",
            )
        })?;
        headers.insert(k.trim().to_owned(), v.trim().into());
    }
    set("headers", headers.into());
    let request = LoadRequest {
        url,
        params,
        timeout: args.timeout,
        shard,
    };
    let live = std::io::stderr().is_terminal();
    let result =
        super::runtime()?.block_on(phasegate_engine::load(&request, move |p: &Progress| {
            if live {
                progress_line(p);
            }
        }))?;
    if live {
        eprint!("\r\x1b[K");
    }
    finish(&result, args.save.as_deref(), args.format)
}

fn merge(
    files: &[std::path::PathBuf],
    save: Option<&Path>,
    format: LoadFormat,
) -> Result<u8, Error> {
    let mut texts = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f)
            .map_err(Error::io(format!("cannot read `{}`", f.display())))?;
        texts.push((f.display().to_string(), text));
    }
    let merged = phasegate_engine::merge_load(&texts)?;
    finish(&merged, save, format)
}

fn finish(result: &LoadResult, save: Option<&Path>, format: LoadFormat) -> Result<u8, Error> {
    let json = || result.to_json().map_err(Error::Load);
    if let Some(path) = save {
        std::fs::write(path, json()?)
            .map_err(Error::io(format!("cannot write `{}`", path.display())))?;
    }
    match format {
        LoadFormat::Json => println!("{}", json()?),
        LoadFormat::Kv => println!("{}", kv(result)),
        LoadFormat::Text => print!("{}", text(result)),
    }
    Ok(exit::OK)
}

fn progress_line(p: &Progress) {
    let p99 = p
        .p99_ms
        .map_or_else(|| "-".to_owned(), |v| format!("{v:.2} ms"));
    eprint!(
        "\r\x1b[K{:>5.1}s  {:>9.0} req/s  {} answered  {} errors  p99 {p99}",
        p.elapsed.as_secs_f64(),
        p.rate,
        p.completed,
        p.errors
    );
    let _ = std::io::stderr().flush();
}

/// The line `load-bench.sh` reads: figures of the judged latency (corrected in open loop).
fn kv(r: &LoadResult) -> String {
    let h = r.judged_latency();
    let p = |q| LoadResult::percentile_ms(h, q).unwrap_or(0.0);
    format!(
        "rps={:.1} p50_ms={:.3} p99_ms={:.3} errors={} sent={} missed_starts={}",
        r.rps(),
        p(50.0),
        p(99.0),
        r.errors.failed(),
        r.sent,
        r.missed_starts
    )
}

/// What the connections spoke, and whether it is what was asked for.
fn protocol_line(r: &LoadResult) -> String {
    let o = &r.opened;
    let spoke = r.protocol().unwrap_or("no connection opened");
    let over = if r.tls { "TLS" } else { "plain TCP" };
    let fell_back = if r.http2 && o.http1 > 0 {
        format!(
            "; HTTP/2 was asked for, but {} of {} connections got HTTP/1.1 (the server chose it by ALPN)",
            o.http1,
            o.http1 + o.http2
        )
    } else {
        String::new()
    };
    format!(
        "protocol: {spoke} over {over} ({} HTTP/1.1 and {} HTTP/2 connections opened){fell_back}\n",
        o.http1, o.http2
    )
}

fn text(r: &LoadResult) -> String {
    let mode = match r.rate {
        Some(rate) => format!("constant rate {rate} req/s"),
        None => "closed loop".to_owned(),
    };
    let shards = if r.shard_count > 1 {
        format!(", shards {:?} of {}", r.shards, r.shard_count)
    } else {
        String::new()
    };
    let e = &r.errors;
    let mut out = format!(
        "{}  {mode}, {} connections{shards}\n\
         {} sent in {:.2}s: {:.1} req/s; {} answered; {} failed ({} connect, {} timeout, {} broken, {} 4xx, {} 5xx)\n",
        r.target,
        r.connections,
        r.sent,
        r.elapsed.as_secs_f64(),
        r.rps(),
        r.answered(),
        e.failed(),
        e.connect,
        e.timeout,
        e.io,
        e.status_4xx,
        e.status_5xx,
    );
    out.push_str(&protocol_line(r));
    if let Some(e) = &r.first_error {
        out.push_str(&format!("first failed connection: {e}\n"));
    }
    if r.rate.is_some() {
        out.push_str(&format!(
            "missed starts (sent more than {} ms late): {}\n",
            phasegate_engine::load::LATE_START.as_millis(),
            r.missed_starts
        ));
    }
    out.push_str(&format!("{:<48}", "latency, ms"));
    for (name, _) in PERCENTILES {
        out.push_str(&format!("{name:>9}"));
    }
    out.push_str(&format!("{:>9}\n", "max"));
    let mut row = |label: &str, h: &Histogram<u64>| {
        out.push_str(&format!("{label:<48}"));
        for (_, p) in PERCENTILES {
            out.push_str(&format!(
                "{:>9.3}",
                LoadResult::percentile_ms(h, *p).unwrap_or(f64::NAN)
            ));
        }
        out.push_str(&format!(
            "{:>9.3}\n",
            LoadResult::percentile_ms(h, 100.0).unwrap_or(f64::NAN)
        ));
    };
    if let Some(c) = &r.corrected {
        row("from due time (corrected, coordinated omission)", c);
    }
    row("service time (from send, uncorrected)", &r.service);
    if let Some(l) = &r.lag {
        row("send lag behind schedule", l);
    }
    out
}
