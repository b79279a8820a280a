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
    /// Ledger directory [default: .phasegate/ beside the roadmap], or a PostgreSQL URL
    /// (`postgres://user@host/db?schema=NAME`, schema `phasegate` by default) to keep the
    /// entries there; the signing key and logs then stay in .phasegate/
    #[arg(long, global = true, value_name = "DIR|URL", env = "PHASEGATE_LEDGER")]
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
    ///
    /// A cacheable gate (one with `inputs` and no running service, or `cache = true`)
    /// whose cache key — its definition, input files, declared variables, phasegate's
    /// version and the keys of the gates it needs — matches its passing, fresh, trusted
    /// evidence is not run: a `cached` record pointing at that evidence is recorded
    /// instead. Failures are never reused.
    Run(RunArgs),
    /// Print the scorecard: each gate pass / fail / stale / missing / waived / untrusted, each phase done /
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
    /// Keys: show this machine's run key, make a personal key, trust a key ([trust])
    #[command(subcommand)]
    Key(KeyCommand),
    /// Turn a markdown roadmap into a phasegate.toml draft
    ///
    /// Each phase or milestone heading becomes a phase, each checkbox item and each
    /// acceptance / exit criterion a gate linked back to its text (`item = "..."`):
    /// backticked commands become `run` gates, items naming a known check (headers, CORS,
    /// readiness, rate limit, ...) the matching probe, with a `todo` listing what its claim
    /// still needs (the gate stays missing until it is removed) and `require` naming the rules
    /// the claim rests on; items about a workflow (rollback, promotion) and everything else a
    /// `signoff` gate, so nothing is dropped. The same document gives the same file.
    Import(ImportArgs),
    /// Tick the markdown roadmap's checkboxes from the evidence
    ///
    /// Rewrites only the boxes of items linked to gates: `[x]` when the gate passes on fresh
    /// evidence, `[ ]` otherwise (a box ticked by hand with nothing behind it is un-ticked and
    /// reported); every other byte stays as it was. With --check nothing is written and the
    /// exit code is 1 when the document disagrees with the evidence.
    Sync(SyncArgs),
    /// Write a snapshot of a done phase: a manifest of its evidence and a readable report
    ///
    /// The manifest lists the phase's gates with the ledger entries (sequence numbers and
    /// hashes) their state rests on, the git commit and the signed heads of the runs; the
    /// report says the same for people. `phasegate run` writes one by itself when a phase
    /// becomes done. Exit 1 when the phase is not done.
    Close(CloseArgs),
    /// Approve a `signoff` gate, as one of its roles (recorded and signed in the ledger)
    ///
    /// The approval covers the phases requiring the gate and the evidence of their other
    /// gates as it is now (a digest of their latest records): when any of them re-runs, or
    /// the approval is older than the gate's `fresh_for`, it no longer counts. A gate
    /// needing k approvals passes with k distinct approvers. The approver is `--by`, else
    /// `git config user.email` in the roadmap's directory, else $USER.
    Signoff(SignoffArgs),
    /// Record a signed, expiring exception for a gate: shown as waived, never as a pass
    ///
    /// Only what the roadmap's `[[waiver]]` rules allow: a gate a rule covers (`"*"` covers
    /// every gate but sign-off gates, which must be named), a role the rule lists, and an
    /// `--until` no further than its `max`; anything else is refused, listing what the
    /// rules allow. Under a rule with `approvals = k`, the gate is waived only once k
    /// distinct granters have each recorded a waiver, until the earliest of their ends.
    ///
    /// While the waiver lasts, the gate does not block its phase (unless it passes, the
    /// scorecard shows it as `waived` with who, why and until when). A granter's latest
    /// waiver of a gate replaces their earlier ones. The granter is `--by`, else
    /// `git config user.email` in the roadmap's directory, else $USER.
    Waive(WaiveArgs),
    /// Run one probe ad hoc against a URL (or a directory) and print its findings
    ///
    /// The quickest way to try phasegate on your own service, e.g.
    /// `phasegate probe headers https://staging.example.com -p paths='["/", "/login"]'`.
    /// Exit 0 when the probe passes, 1 when it finds problems, 2 for bad parameters, 3 when it
    /// could not run (service unreachable, hook failed).
    Probe(ProbeArgs),
    /// Load a URL (closed loop or at a constant rate) and print throughput, errors and latency
    ///
    /// Closed loop (--connections only): each connection sends as soon as its answer is read;
    /// latencies are service time. Constant rate (--rate): requests are due on a fixed
    /// schedule whether or not earlier ones were answered, and latency is counted from the due
    /// time (corrected for coordinated omission), with service time beside it. Always bounded
    /// by --duration and --max-requests; a host other than loopback needs --allow-remote.
    /// HTTP/1.1 keep-alive by default; --http2 for HTTP/2 (ALPN over https://, h2c over
    /// http://) with --streams per connection; https:// certificates are checked against the
    /// system's roots plus --ca-file. A live progress line goes to stderr when it is a
    /// terminal. Run one share of a larger load with --shard I/N and --save, then
    /// `phasegate load merge` the files.
    Load(LoadArgs),
    /// Run the bundled membership roadmap against the bundled sample service
    ///
    /// Starts the sample service as a service, runs every gate of the bundled membership
    /// roadmap (crates/phasegate/demo/membership.toml), and prints the scorecard. With --flaw, the same
    /// service runs with hardenings switched off and the scorecard says which gates caught
    /// them. The roadmap copy, the service's database and the evidence stay in the directory
    /// it prints.
    #[cfg(feature = "demo")]
    Demo(DemoArgs),
    /// The bundled sample service (used by `phasegate demo`; see `--help` of this command)
    #[cfg(feature = "demo")]
    #[command(hide = true, disable_help_flag = true)]
    SampleService {
        /// Arguments of the sample service
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Keep the gates current: re-run what changed whenever a file changes
    ///
    /// Watches the roadmap's directory as git sees it (`.gitignore`d directories,
    /// phasegate's own state and `.git` aside; directories created later are added). Each burst
    /// of changes, once quiet for --debounce, starts a cycle that runs exactly the gates
    /// `run --changed` would (those whose cache key changed, and their dependants), then
    /// shows the board again: the scorecard and the cycle's run. An edit that breaks the
    /// roadmap prints its diagnostics and watching goes on; the next edit that fixes it
    /// resumes. A gate with `cooldown` does not run again sooner than that after its last
    /// run: it runs when the cooldown ends. Ctrl-C ends running gates, closes the run and
    /// exits (130).
    Watch(WatchArgs),
    /// The autopilot: `watch` in the background, plus the gates' schedules (`every`, `cron`)
    ///
    /// One daemon per roadmap, its pid file, lock and log under the ledger directory
    /// (`.phasegate/daemon/`). It runs what changes as `watch` does, each gate with `every`
    /// that long after its last run and each gate with `cron` at the times it names (in
    /// its `timezone`), reusing no evidence, and honours `cooldown`. A
    /// failing cycle is logged and the daemon goes on; `stop` or SIGTERM ends running gates
    /// and closes the run.
    #[command(subcommand)]
    Daemon(DaemonCommand),
    /// The OSV mirror the `advisories` gates read
    #[command(subcommand)]
    Advisories(AdvisoriesCommand),
    /// Scan the project without a roadmap (`scan secrets`)
    #[command(subcommand)]
    Scan(ScanCommand),
}

#[derive(Debug, Subcommand)]
pub enum AdvisoriesCommand {
    /// Refresh the mirror each `advisories` gate names (`db = "..."`) from OSV
    ///
    /// Downloads, for each ecosystem, OSV's published archive
    /// https://osv-vulnerabilities.storage.googleapis.com/ECOSYSTEM/all.zip (the
    /// gs://osv-vulnerabilities bucket) into DB/ECOSYSTEM/all.zip, each replaced only once
    /// complete and readable as a zip archive. Ecosystems: crates.io, npm, PyPI, Go. Needs
    /// network (proxies from the environment are not used): without it the command fails
    /// naming the URL (exit 3); copy the same archives into the mirror by other means.
    Update {
        /// Only this ecosystem (repeatable): crates.io, npm, PyPI, Go
        #[arg(long = "ecosystem", value_name = "ECOSYSTEM")]
        ecosystems: Vec<String>,
        /// Where the archives are published (SOURCE/ECOSYSTEM/all.zip)
        #[arg(long, value_name = "URL", default_value = phasegate_engine::OSV_BUCKET)]
        source: String,
        /// Limit on each download
        #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = humantime_duration)]
        timeout: std::time::Duration,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScanCommand {
    /// Find secrets (keys, tokens, passwords) in a tree, the staged files or the git history
    ///
    /// One pass per file for every rule (the providers' token formats, with their checksums
    /// where they have one; private keys; JWTs; URLs and connection strings with passwords;
    /// high-entropy values assigned to password/secret/token/key names), the tree walked as
    /// git sees it (.gitignore applies), binaries and files over 10 MB skipped. Placeholders,
    /// documented example keys, UUIDs, lockfile hashes and files marked `phasegate:fixture`
    /// are not findings; a line with `phasegate:allow-secret` (or `gitleaks:allow`) is
    /// ignored. Output never holds a secret: a redacted excerpt and a fingerprint. Exit 0
    /// when nothing is found, 1 when secrets are found, 2 for bad arguments or rule files.
    Secrets(SecretsArgs),
}

#[derive(Debug, Args)]
pub struct SecretsArgs {
    /// The directory (or file) to scan; with --history or --staged, a path inside the
    /// repository
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Scan every blob reachable in the git history once (each finding with the commit that
    /// introduced it) instead of the working tree
    #[arg(long, conflicts_with = "staged")]
    pub history: bool,
    /// Scan the staged content of the files staged for the next commit (a pre-commit hook)
    #[arg(long)]
    pub staged: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = SecretsFormat::Table)]
    pub format: SecretsFormat,
    /// Write the report to FILE instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Accept the findings listed in FILE (written by --write-baseline): only new ones fail
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Write the findings of this scan to FILE as a baseline (the scan then exits 0)
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// A gitleaks-style TOML rule file (default: `.gitleaks.toml` at PATH when present, else
    /// the built-in rules)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Paths (globs, relative to PATH) never scanned, e.g. `tests/fixtures/**`
    #[arg(long, value_name = "GLOB")]
    pub allow: Vec<String>,
    /// Files larger than this many bytes are skipped (and counted)
    #[arg(long, value_name = "BYTES", default_value_t = 10_000_000)]
    pub max_size: u64,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SecretsFormat {
    Table,
    Json,
    Sarif,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Phases or gates to keep current (all phases when none is given)
    #[arg(value_name = "PHASE|GATE")]
    pub names: Vec<String>,
    #[command(flatten)]
    pub execution: Execution,
    /// Reuse no evidence: every gate a cycle selects runs
    #[arg(long)]
    pub no_cache: bool,
    /// How long files must be quiet before a burst of changes starts a cycle
    #[arg(long, value_name = "DURATION", default_value = "200ms", value_parser = humantime_duration)]
    pub debounce: std::time::Duration,
}

#[derive(Debug, Subcommand)]
pub enum DaemonCommand {
    /// Start the daemon in the background (refused when one runs for this roadmap)
    Start(WatchArgs),
    /// Stop the daemon: running gates are ended and the run is closed
    Stop {
        /// How long to wait for it to exit
        #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = humantime_duration)]
        wait: std::time::Duration,
    },
    /// Whether the daemon runs, its next scheduled runs and its last cycles (exit 0 when it
    /// runs, 1 when not; a daemon killed without stopping cleanly is named as such)
    Status,
    /// Print the daemon's log
    Logs {
        /// Only the last N lines
        #[arg(short = 'n', long, value_name = "N")]
        lines: Option<usize>,
    },
    /// Print a systemd user unit that runs the daemon for this roadmap
    ///
    /// For those who prefer their init system to supervise it: save it as
    /// `~/.config/systemd/user/phasegate-<project>.service`, then
    /// `systemctl --user daemon-reload && systemctl --user enable --now phasegate-<project>`.
    PrintUnit,
    /// Run the daemon in the foreground (what `start` runs, and what a unit runs)
    Run(WatchArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The markdown roadmap
    pub markdown: PathBuf,
    /// Where to write the draft
    #[arg(short, long, value_name = "PATH", default_value = "phasegate.toml")]
    pub output: PathBuf,
    /// Replace an existing file
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The markdown roadmap [default: `[project] markdown` of the roadmap]
    pub markdown: Option<PathBuf>,
    /// Change nothing; exit 1 when the document disagrees with the evidence
    #[arg(long)]
    pub check: bool,
    /// First turn each linked plain bullet item into a checkbox item (`- text` becomes
    /// `- [ ] text`), every other byte kept; run it once, `sync` keeps the boxes after
    #[arg(long, conflicts_with = "check")]
    pub add_boxes: bool,
}

#[derive(Debug, Args)]
pub struct CloseArgs {
    /// The phase
    pub phase: String,
    /// Also create an annotated git tag `phase-<id>-<timestamp>` (refused on a dirty tree)
    #[arg(long)]
    pub tag: bool,
}

#[derive(Debug, Args)]
pub struct SignoffArgs {
    /// The `signoff` gate
    pub gate: String,
    /// The role you approve in (one of the gate's `roles`)
    #[arg(long = "as", value_name = "ROLE")]
    pub role: String,
    /// A note kept with the approval
    #[arg(long)]
    pub note: Option<String>,
    /// Who approves [default: `git config user.email`, else $USER]; refused when the
    /// roadmap pins keys (`[trust]`): you are then your key's principal
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
    /// Your OpenSSH private key, when the roadmap pins keys [default: ssh-agent's key]
    #[arg(long, value_name = "PATH")]
    pub key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct WaiveArgs {
    /// The gate
    pub gate: String,
    /// Why the gate may be waived
    #[arg(long)]
    pub reason: String,
    /// When the waiver ends: a date (`2026-12-31`, until the end of that day UTC) or an
    /// RFC 3339 time (`2026-12-31T12:00:00Z`); in the future, within the rule's `max`
    #[arg(long, value_name = "DATE")]
    pub until: String,
    /// The role you grant the waiver in; one of the `roles` of a `[[waiver]]` rule
    /// covering the gate
    #[arg(long = "as", value_name = "ROLE")]
    pub role: String,
    /// Who grants it [default: `git config user.email`, else $USER]; refused when the
    /// roadmap pins keys (`[trust]`): you are then your key's principal
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
    /// Your OpenSSH private key, when the roadmap pins keys [default: ssh-agent's key]
    #[arg(long, value_name = "PATH")]
    pub key: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Print the key that signs this machine's runs, as the allowed-signers file lists it
    Show,
    /// Write a new OpenSSH ed25519 key pair for a person (PATH and PATH.pub, PATH 0600)
    New {
        /// Where the private key goes
        path: PathBuf,
        /// The comment of the key (e.g. your email)
        #[arg(long, default_value = "phasegate")]
        comment: String,
    },
    /// List a key for PRINCIPAL in the roadmap's allowed-signers file ([trust])
    ///
    /// Without --pub, the key of this machine's runs: the machine becomes PRINCIPAL, and its
    /// runs count once PRINCIPAL is in `run_signers`. Review the change like code.
    Trust {
        /// The principal (an email address, a CI machine's name)
        principal: String,
        /// The OpenSSH public key to trust [default: this machine's run key]
        #[arg(long = "pub", value_name = "FILE")]
        public: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Probe: one of the kinds `docs/probes.md` lists (http, headers, cors, health, load, ...)
    pub kind: String,
    /// Base URL of the service, e.g. http://127.0.0.1:8080; for a probe of the project's
    /// files, the directory it reads
    #[arg(value_name = "URL|DIR")]
    pub url: String,
    /// A parameter of the probe, KEY=VALUE; VALUE is read as TOML (`limit=5`,
    /// `allowed=["https://app.example.com"]`) and as a plain string when it is not TOML
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Limit on each request
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime_duration)]
    pub timeout: std::time::Duration,
    /// The least severe finding that fails the probe (critical, high, medium, low); less
    /// severe ones are shown as warnings
    #[arg(long, value_name = "SEVERITY", default_value = "medium", value_parser = severity)]
    pub fail_on: phasegate_model::Severity,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct LoadArgs {
    #[command(subcommand)]
    pub command: Option<LoadCommand>,
    /// The URL to load, e.g. http://127.0.0.1:8080/api/v1/items
    #[arg(required = true)]
    pub url: Option<String>,
    /// Constant arrival rate, requests per second (all shards together) [default: closed loop]
    #[arg(long, value_name = "R")]
    pub rate: Option<f64>,
    /// Connections (all shards together); with --rate, the most requests in flight
    #[arg(long, value_name = "C", default_value_t = 10)]
    pub connections: u32,
    /// How long requests are sent
    #[arg(short, long, value_name = "DURATION", default_value = "10s", value_parser = humantime_duration)]
    pub duration: std::time::Duration,
    /// Worker threads, each with its own connections
    #[arg(short, long, value_name = "T", default_value_t = 1)]
    pub threads: u32,
    /// Requests sent at most (all shards together) [default: rate × duration, or 20000000]; the run ends at the first bound reached
    #[arg(long, value_name = "N")]
    pub max_requests: Option<u64>,
    /// Request method
    #[arg(short = 'X', long, default_value = "GET")]
    pub method: String,
    /// A request header, `NAME: VALUE` (repeatable)
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Request body
    #[arg(long)]
    pub body: Option<String>,
    /// Limit on each request (connect plus response)
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime_duration)]
    pub timeout: std::time::Duration,
    /// Run shard I of N (0-based): 1/N of the rate or of the connections
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Allow a target that is not loopback (only load hosts you are responsible for)
    #[arg(long)]
    pub allow_remote: bool,
    /// Speak HTTP/2: by ALPN over https:// (the result says if the server chose HTTP/1.1),
    /// with prior knowledge (h2c) over http://
    #[arg(long)]
    pub http2: bool,
    /// With --http2, concurrent requests (streams) on each connection
    #[arg(long, value_name = "S", default_value_t = 1, requires = "http2")]
    pub streams: u32,
    /// PEM file of CA certificates to trust besides the system's roots (a staging CA);
    /// certificates are always verified
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Write the result (histograms included) to FILE, for `load merge` or a `baseline`
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = LoadFormat::Text)]
    pub format: LoadFormat,
}

#[derive(Debug, Subcommand)]
pub enum LoadCommand {
    /// Merge the result files of the shards of one run, exactly (histograms add bucket by bucket)
    Merge {
        /// Files written by `phasegate load --shard I/N --save FILE`
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Write the merged result to FILE
        #[arg(long, value_name = "FILE")]
        save: Option<PathBuf>,
        /// Output format
        #[arg(long, value_enum, default_value_t = LoadFormat::Text)]
        format: LoadFormat,
    },
}

/// How `phasegate load` prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LoadFormat {
    /// A summary for people
    Text,
    /// The result file (histograms as base64 of HDR V2 + DEFLATE)
    Json,
    /// One line `rps=… p50_ms=… p99_ms=… errors=…` (load-bench.sh's contract)
    Kv,
}

#[cfg(feature = "demo")]
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Switch one hardening of the sample service off (repeatable); `phasegate sample-service
    /// --list-flaws` lists them
    #[arg(long = "flaw", value_name = "NAME")]
    pub flaws: Vec<String>,
    /// Where the roadmap copy, the database and the evidence go [default: a new directory
    /// under the system's temporary directory]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// How gates are executed: shared by `run`, `watch` and the daemon.
#[derive(Debug, Args)]
pub struct Execution {
    /// Gates running at once [default: number of cores]
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Time a gate gets between SIGTERM and SIGKILL when it is ended
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = humantime_duration)]
    pub grace: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Phases or gates to run (all phases when none is given)
    #[arg(value_name = "PHASE|GATE")]
    pub names: Vec<String>,
    #[command(flatten)]
    pub execution: Execution,
    /// Run every selected gate, reusing no evidence (cache keys are still recorded)
    #[arg(long)]
    pub no_cache: bool,
    /// Run only the gates whose cache key changed since their latest evidence (or that have
    /// none), the gates that need them, and what those need that does not pass now
    #[arg(long)]
    pub changed: bool,
    /// After the run, say for each gate whether its evidence was reused and, when it ran,
    /// why: what changed since its evidence (file, variable, definition field, needed gate)
    #[arg(long)]
    pub explain: bool,
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
    ///
    /// With an anchor (`--anchor SEQ:HASH`, else the git ref `refs/phasegate/anchor` when
    /// it exists), also check that the chain still holds the anchored entry with its hash:
    /// entries removed from the end, which the chain alone cannot show, fail with exit 4.
    Verify {
        /// The chain's end as pinned earlier, as `phasegate evidence anchor` prints it
        #[arg(long, value_name = "SEQ:HASH", conflicts_with = "anchor_ref")]
        anchor: Option<String>,
        /// The git ref holding the anchor [default: refs/phasegate/anchor, when it exists]
        #[arg(long, value_name = "NAME")]
        anchor_ref: Option<String>,
    },
    /// Print the chain's end (SEQ:HASH) to pin elsewhere, so truncation can be detected
    ///
    /// With --git-ref, also store it in the roadmap's git repository: a blob holding the
    /// line, pointed to by the ref (e.g. refs/phasegate/anchor, which `evidence verify`
    /// reads by default). Push the ref to keep it out of reach of whoever holds the ledger.
    Anchor {
        /// The git ref to write, e.g. refs/phasegate/anchor
        #[arg(long, value_name = "NAME")]
        git_ref: Option<String>,
    },
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

fn severity(s: &str) -> Result<phasegate_model::Severity, String> {
    phasegate_model::Severity::from_name(s.trim())
        .ok_or_else(|| "expected `critical`, `high`, `medium` or `low`".to_owned())
}

fn humantime_duration(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (expected e.g. `5s`, `500ms`)"))
}
