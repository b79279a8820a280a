//! Scanning what git holds: every blob reachable from any ref (`--history`), or the staged
//! files (`--staged`, for a pre-commit hook).
//!
//! git runs as processes (`git log --raw`, `git cat-file --batch`) rather than through gix or
//! git2: the output is what the user's own git sees (their config, their object formats,
//! alternates and partial clones), nothing is linked into phasegate, and `cat-file --batch`
//! streams every blob through one pipe, which is as fast as reading the pack in-process.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, mpsc};

use crate::{Error, Finding, Options, Scan, Scanner, Stats};

/// One object to scan: how to name it to `cat-file`, its path, the commit that brought it.
struct Item {
    object: String,
    path: String,
    commit: Option<String>,
}

/// Scans every blob reachable from any ref once, each under the first path and commit it
/// appeared with (oldest first). A secret (same rule, path and value) found in several blobs
/// is reported once, with the first commit that introduced it, even when a later commit
/// removed it. Paths are relative to the repository's top level.
pub fn scan_history(scanner: &Scanner, repo: &Path, options: &Options) -> Result<Scan, Error> {
    let top = toplevel(repo)?;
    let log = git(
        &top,
        &[
            "-c",
            "core.quotePath=false",
            "log",
            "--all",
            "--reverse",
            "--topo-order",
            "--no-renames",
            "--diff-merges=first-parent",
            "--raw",
            "--no-abbrev",
            "--format=commit %H",
        ],
    )?;
    let mut items = Vec::new();
    let mut seen = HashSet::new();
    let mut commit = String::new();
    for line in log.lines() {
        if let Some(c) = line.strip_prefix("commit ") {
            c.clone_into(&mut commit);
        } else if let Some(raw) = line.strip_prefix(':') {
            // `:old_mode new_mode old_oid new_oid status\tpath`
            let Some((meta, path)) = raw.split_once('\t') else {
                continue;
            };
            let fields: Vec<&str> = meta.split(' ').collect();
            let [_, mode, _, oid, status] = fields[..] else {
                continue;
            };
            let is_blob = mode.starts_with("100");
            if is_blob && !status.starts_with('D') && seen.insert(oid.to_owned()) {
                items.push(Item {
                    object: oid.to_owned(),
                    path: path.to_owned(),
                    commit: Some(commit.clone()),
                });
            }
        }
    }
    let mut scan = scan_objects(scanner, &top, items, options)?;
    // Oldest blob first (scan_objects keeps item order): keep each secret's first sighting.
    let mut first = HashSet::new();
    scan.findings
        .retain(|f| first.insert(f.fingerprint.clone()));
    scan.sort();
    Ok(scan)
}

/// Scans the staged content (the index) of the files added, copied, modified or renamed in
/// the index: what the next commit would hold. Paths are relative to the repository's top
/// level.
pub fn scan_staged(scanner: &Scanner, repo: &Path, options: &Options) -> Result<Scan, Error> {
    let top = toplevel(repo)?;
    let names = git(
        &top,
        &[
            "diff",
            "--cached",
            "--name-only",
            "-z",
            "--diff-filter=ACMR",
        ],
    )?;
    let items = names
        .split('\0')
        .filter(|p| !p.is_empty() && !p.contains('\n'))
        .map(|p| Item {
            object: format!(":{p}"),
            path: p.to_owned(),
            commit: None,
        })
        .collect();
    let mut scan = scan_objects(scanner, &top, items, options)?;
    scan.sort();
    Ok(scan)
}

fn toplevel(repo: &Path) -> Result<PathBuf, Error> {
    let dir = if repo.is_file() {
        repo.parent().unwrap_or(repo)
    } else {
        repo
    };
    let out = git(dir, &["rev-parse", "--show-toplevel"])?;
    Ok(PathBuf::from(out.trim_end_matches(['\n', '\r'])))
}

fn git(dir: &Path, args: &[&str]) -> Result<String, Error> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Git {
            command: args.join(" "),
            message: format!("cannot run git: {e}"),
        })?;
    if !out.status.success() {
        return Err(Error::Git {
            command: args.join(" "),
            message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Streams `items` through one `git cat-file --batch` and scans them on a few threads;
/// findings come back in item order.
fn scan_objects(
    scanner: &Scanner,
    top: &Path,
    items: Vec<Item>,
    options: &Options,
) -> Result<Scan, Error> {
    let batch_error = |message: String| Error::Git {
        command: "cat-file --batch".to_owned(),
        message,
    };
    let mut child = Command::new("git")
        .arg("-C")
        .arg(top)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| batch_error(format!("cannot run git: {e}")))?;
    let mut stdin = child.stdin.take().expect("stdin was piped");
    let stdout = child.stdout.take().expect("stdout was piped");
    let names: Vec<String> = items.iter().map(|i| i.object.clone()).collect();
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(2, usize::from),
        n => n,
    };
    let results: Mutex<HashMap<usize, Vec<Finding>>> = Mutex::new(HashMap::new());
    let stats = Mutex::new(Stats::default());
    let (tx, rx) = mpsc::sync_channel::<(usize, Vec<u8>)>(threads * 4);
    let rx = Mutex::new(rx);
    let read = std::thread::scope(|s| {
        s.spawn(move || {
            for name in names {
                if writeln!(stdin, "{name}").is_err() {
                    break;
                }
            }
        });
        let rx = &rx;
        let (items, results, stats) = (&items, &results, &stats);
        for _ in 0..threads {
            s.spawn(move || {
                let mut local = Stats::default();
                loop {
                    let next = rx.lock().expect("no scanner thread panicked").recv();
                    let Ok((i, data)) = next else { break };
                    let found = scanner.scan_bytes(&items[i].path, &data, &mut local);
                    if !found.is_empty() {
                        results
                            .lock()
                            .expect("no scanner thread panicked")
                            .insert(i, found);
                    }
                }
                stats
                    .lock()
                    .expect("no scanner thread panicked")
                    .add(&local);
            });
        }
        let mut reader = BufReader::with_capacity(1 << 16, stdout);
        let mut header = String::new();
        let mut skipped = Stats::default();
        for i in 0..items.len() {
            if options.stopped() {
                return Err(Error::Stopped);
            }
            header.clear();
            if reader
                .read_line(&mut header)
                .map_err(|e| batch_error(e.to_string()))?
                == 0
            {
                return Err(batch_error("ended early".to_owned()));
            }
            let mut fields = header.split_whitespace();
            let (Some(_), Some(kind), size) = (fields.next(), fields.next(), fields.next()) else {
                return Err(batch_error(format!(
                    "unexpected header `{}`",
                    header.trim()
                )));
            };
            if kind == "missing" {
                skipped.unreadable += 1;
                continue;
            }
            let size: u64 = size
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| batch_error(format!("unexpected header `{}`", header.trim())))?;
            let mut data = Vec::new();
            (&mut reader)
                .take(size + 1)
                .read_to_end(&mut data)
                .map_err(|e| batch_error(e.to_string()))?;
            data.pop(); // the newline after each object
            if kind != "blob" {
                continue;
            }
            if size > options.max_file_size {
                skipped.skipped_large += 1;
                continue;
            }
            if tx.send((i, data)).is_err() {
                break;
            }
        }
        drop(tx);
        Ok(skipped)
    });
    let _ = child.wait();
    let skipped = read?;
    let mut results = results.into_inner().expect("no scanner thread panicked");
    let mut scan = Scan {
        findings: Vec::new(),
        stats: stats.into_inner().expect("no scanner thread panicked"),
    };
    scan.stats.add(&skipped);
    for (i, item) in items.iter().enumerate() {
        if let Some(found) = results.remove(&i) {
            scan.findings.extend(found.into_iter().map(|mut f| {
                f.commit.clone_from(&item.commit);
                f
            }));
        }
    }
    Ok(scan)
}
