//! The command line, as clap types. Only parsing lives here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Exit codes: 0 go / everything passed, 1 a gate failed / no-go, 2 usage or roadmap error,
3 runtime error, 4 ledger verification failed, 130 interrupted.

Start with `phasegate init`, then `phasegate check` and `phasegate run`.";

/// Production readiness as code: a roadmap whose phases close only on verifiable evidence.
///
/// phasegate reads `phasegate.toml` (phases, gates, exit criteria), runs the gates, records
/// every result in a hash-chained, signed evidence ledger, and derives a go / no-go scorecard
/// from that evidence alone.
#[derive(Debug, Parser)]
#[command(name = "phasegate", version, about, long_about, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Roadmap file [default: phasegate.toml in the current directory or its parents]
    #[arg(
        short,
        long,
        global = true,
        value_name = "PATH",
        env = "PHASEGATE_CONFIG"
    )]
    pub config: Option<PathBuf>,
    /// Ledger directory [default: .phasegate/ beside the roadmap]
    #[arg(long, global = true, value_name = "DIR", env = "PHASEGATE_LEDGER")]
    pub ledger: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented starter phasegate.toml for this repository (detects Cargo, npm, pnpm, Make)
    Init {
        /// Replace an existing file
        #[arg(long)]
        force: bool,
    },
    /// Validate the roadmap and print its phases and gates; every error at once (exit 2)
    Check,
    /// Run the gates of the named phases or the named gates (all phases when none is named)
    ///
    /// Each gate runs once even when several phases use it, in parallel up to --jobs,
    /// after the gates it `needs` have passed (a gate whose need did not pass is skipped
    /// with the reason). Every attempt is recorded in the ledger; the run closes with a
    /// signed head. Ctrl-C stops running gates and closes the run as interrupted.
    Run(RunArgs),
    /// Print the scorecard: each gate pass / fail / stale / missing, each phase done /
    /// failing / in progress / blocked, and go / no-go with the reasons (exit 0 go, 1 no-go)
    Status {
        /// Output format
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Explain a gate's current state from the evidence: rule, observation, time, commit, output
    Why {
        /// The gate
        gate: String,
    },
    /// Inspect, verify and export the evidence ledger
    #[command(subcommand)]
    Evidence(EvidenceCommand),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Phases or gates to run (all phases when none is given)
    #[arg(value_name = "PHASE|GATE")]
    pub names: Vec<String>,
    /// Gates running at once [default: number of cores]
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Time a gate gets between SIGTERM and SIGKILL when it is ended
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = humantime_duration)]
    pub grace: std::time::Duration,
}

#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// List ledger entries, oldest first
    List {
        /// Show only the last N entries
        #[arg(short = 'n', long, value_name = "N")]
        limit: Option<usize>,
    },
    /// Print one entry in full (by sequence number, as `list` shows it)
    Show {
        /// Sequence number
        seq: u64,
    },
    /// Recompute every hash and signature; name the first entry that does not match (exit 4)
    Verify,
    /// Export every entry, one JSON object per line
    Export {
        /// Output format
        #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
        format: ExportFormat,
    },
    /// Print the public half of the signing key and its id
    Key,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for people
    Table,
    /// A versioned JSON document for programs
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// JSON lines
    Jsonl,
}

fn humantime_duration(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (expected e.g. `5s`, `500ms`)"))
}
