//! Hashing gates' input files: the tree walked the way git sees it (`.gitignore`
//! respected), globs matched, contents hashed, with a stat cache so unchanged files are not
//! read again.
//!
//! File metadata is only a hint: a file is read again unless its size, mtime, ctime and
//! inode are what they were when it was hashed, *and* it was already older than that
//! hashing by more than [`RACY_NS`] (a file written in the same instant as it was hashed
//! may change again without its times moving: git's "racy clean" problem). The content
//! digest is the truth.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use phasegate_model::{Gate, GateId, Manifest, Project, Sha256Hex};
use sha2::{Digest, Sha256};

/// How much older than its hashing a file must be for its metadata to be trusted.
const RACY_NS: i128 = 2_000_000_000;

/// The first line of the stat cache file; another one means "start afresh".
const STAT_HEADER: &str = "phasegate stat cache v1";

/// Below this many files to read, hashing stays on the calling thread.
const PARALLEL_FROM: usize = 16;

/// Why inputs could not be hashed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputsError {
    /// A glob of `inputs` does not parse (the roadmap check refuses these first).
    #[error("invalid glob `{glob}` in `inputs`: {source}")]
    Glob {
        /// The glob.
        glob: String,
        /// Why.
        source: globset::Error,
    },
    /// A matched file could not be read.
    #[error("cannot read input `{}`: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The stat cache could not be written.
    #[error("cannot write the stat cache `{}`: {source}", path.display())]
    Save {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// What is known of one file from its last hashing.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stat {
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
    ino: u64,
    hashed_at_ns: i128,
    sha256: Sha256Hex,
}

impl Stat {
    /// Whether `meta` shows the file as it was hashed, old enough to trust its times.
    fn still(&self, meta: &Observed) -> bool {
        self.size == meta.size
            && self.mtime_ns == meta.mtime_ns
            && self.ctime_ns == meta.ctime_ns
            && self.ino == meta.ino
            && self.mtime_ns.max(self.ctime_ns) + RACY_NS < self.hashed_at_ns
    }
}

/// A file's metadata as seen now.
#[derive(Debug, Clone, Copy)]
struct Observed {
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
    ino: u64,
}

impl Observed {
    fn of(meta: &std::fs::Metadata) -> Observed {
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        Observed {
            size: meta.len(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
            ino: meta.ino(),
        }
    }
}

/// One file of the tree.
#[derive(Debug, Clone)]
struct Listed {
    /// Relative to the root, `/`-separated.
    rel: String,
    path: PathBuf,
}

/// The files of a project and their digests, shared by the gates of a run.
#[derive(Debug)]
pub struct Inputs {
    root: PathBuf,
    /// Directories never walked: phasegate's own state.
    skip: Vec<PathBuf>,
    stat_file: Option<PathBuf>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    stats: BTreeMap<String, Stat>,
    dirty: bool,
    /// The files below each part of the tree walked, until something may have changed it.
    listings: BTreeMap<Base, Arc<Vec<Listed>>>,
    /// Every part of the tree walked since the cache was loaded.
    walked: std::collections::BTreeSet<Base>,
    /// Every path listed since the cache was loaded.
    seen: std::collections::BTreeSet<String>,
}

/// The part of the tree a glob can match in: a directory relative to the root (`""`: the
/// root) and how deep below it (`None`: any depth, for `**`). Walking only that keeps a
/// gate declaring `src/**` from paying for the rest of a large tree.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Base {
    dir: String,
    depth: Option<usize>,
}

impl Base {
    /// Where `pattern` (a glob relative to the root) can match.
    fn of(pattern: &str) -> Base {
        let parts: Vec<&str> = pattern.split('/').filter(|p| !p.is_empty()).collect();
        let literal = parts
            .iter()
            .take(parts.len().saturating_sub(1))
            .take_while(|p| !p.contains(['*', '?', '[', '{', '\\']))
            .count();
        let rest = &parts[literal..];
        Base {
            dir: parts[..literal].join("/"),
            depth: if rest.iter().any(|p| p.contains("**")) {
                None
            } else {
                Some(rest.len())
            },
        }
    }

    /// Whether `self` lists everything `other` does.
    fn covers(&self, other: &Base) -> bool {
        let Some(below) = under(&self.dir, &other.dir) else {
            return false;
        };
        match (self.depth, other.depth) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(mine), Some(theirs)) => below + theirs <= mine,
        }
    }

    /// Whether a walk of `self` would list the file `rel`.
    fn lists(&self, rel: &str) -> bool {
        under(&self.dir, rel).is_some_and(|below| self.depth.is_none_or(|d| below <= d))
    }
}

/// How many components `path` lies below `dir` (`None`: not below it).
fn under(dir: &str, path: &str) -> Option<usize> {
    let rest = if dir.is_empty() {
        path
    } else {
        path.strip_prefix(dir)?
            .strip_prefix('/')
            .or_else(|| (path == dir).then_some(""))?
    };
    Some(rest.split('/').filter(|p| !p.is_empty()).count())
}

impl Inputs {
    /// The inputs below `root`, leaving out `skip` (the state directories), with the stat
    /// cache in `stat_file` (`None`: none). An unreadable or foreign stat cache is
    /// ignored: it is only a hint.
    pub fn new(root: &Path, skip: Vec<PathBuf>, stat_file: Option<PathBuf>) -> Inputs {
        let stats = stat_file
            .as_deref()
            .and_then(|f| std::fs::read_to_string(f).ok())
            .map(|text| parse_stats(&text))
            .unwrap_or_default();
        Inputs {
            root: root.to_path_buf(),
            skip,
            stat_file,
            state: Mutex::new(State {
                stats,
                ..State::default()
            }),
        }
    }

    /// Forgets the tree's listings: a gate ran and may have added or removed files.
    pub fn invalidate(&self) {
        self.lock().listings.clear();
    }

    /// The content digest of every file `globs` match (`!glob` excludes), by path
    /// relative to the root. Blocking: it walks the tree (once until
    /// [`Inputs::invalidate`]) and reads the files the stat cache cannot vouch for.
    pub fn files(&self, globs: &[&str]) -> Result<BTreeMap<String, Sha256Hex>, InputsError> {
        let (include, exclude) = glob_sets(globs)?;
        if include.is_empty() {
            return Ok(BTreeMap::new());
        }
        let listings = self.listings(globs);
        // Bases may overlap (`src/**` and `src/*.rs`): each file once.
        let matched: BTreeMap<&str, &Listed> = listings
            .iter()
            .flat_map(|l| l.iter())
            .filter(|f| include.is_match(&f.rel) && !exclude.is_match(&f.rel))
            .map(|f| (f.rel.as_str(), f))
            .collect();
        let matched: Vec<&Listed> = matched.into_values().collect();
        let mut out = BTreeMap::new();
        let mut to_read: Vec<(&Listed, Observed)> = Vec::new();
        {
            let state = self.lock();
            for f in &matched {
                // A file gone since the listing is simply not an input any more.
                let Ok(meta) = std::fs::metadata(&f.path) else {
                    continue;
                };
                let seen = Observed::of(&meta);
                match state.stats.get(&f.rel) {
                    Some(s) if s.still(&seen) => {
                        out.insert(f.rel.clone(), s.sha256.clone());
                    }
                    _ => to_read.push((f, seen)),
                }
            }
        }
        let read = hash_all(&to_read)?;
        let now = now_ns();
        let mut state = self.lock();
        for ((f, seen), sha256) in to_read.iter().zip(read) {
            state.stats.insert(
                f.rel.clone(),
                Stat {
                    size: seen.size,
                    mtime_ns: seen.mtime_ns,
                    ctime_ns: seen.ctime_ns,
                    ino: seen.ino,
                    hashed_at_ns: now,
                    sha256: sha256.clone(),
                },
            );
            state.dirty = true;
            out.insert(f.rel.clone(), sha256);
        }
        Ok(out)
    }

    /// Writes the stat cache when it changed, keeping only files seen in this session (a
    /// deleted file leaves it). Atomic: a crash leaves the old file or the new one.
    pub fn save(&self) -> Result<(), InputsError> {
        let Some(file) = &self.stat_file else {
            return Ok(());
        };
        let text = {
            let state = self.lock();
            if !state.dirty {
                return Ok(());
            }
            let mut text = String::with_capacity(state.stats.len() * 120);
            text.push_str(STAT_HEADER);
            text.push('\n');
            for (rel, s) in &state.stats {
                // A file walked past and not listed is gone; one nobody looked for may
                // still be there for the next run.
                let looked = state.walked.iter().any(|b| b.lists(rel));
                if looked && !state.seen.contains(rel) {
                    continue;
                }
                text.push_str(&format!(
                    "{} {} {} {} {} {} {rel}\n",
                    s.sha256, s.size, s.mtime_ns, s.ctime_ns, s.ino, s.hashed_at_ns
                ));
            }
            text
        };
        let save = |source| InputsError::Save {
            path: file.clone(),
            source,
        };
        let dir = file.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(save)?;
        let tmp = dir.join(format!(
            ".{}.{}.tmp",
            file.file_name().and_then(|n| n.to_str()).unwrap_or("stat"),
            std::process::id()
        ));
        std::fs::write(&tmp, text).map_err(save)?;
        std::fs::rename(&tmp, file).map_err(save)?;
        self.lock().dirty = false;
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves a cache that is still only a hint.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The listings of the parts of the tree `globs` can match, walking those not listed
    /// since the last [`Inputs::invalidate`].
    fn listings(&self, globs: &[&str]) -> Vec<Arc<Vec<Listed>>> {
        let mut bases: Vec<Base> = Vec::new();
        for g in globs.iter().filter(|g| !g.starts_with('!')) {
            let base = Base::of(g.strip_prefix("./").unwrap_or(g));
            if bases.iter().any(|b| b.covers(&base)) {
                continue;
            }
            bases.retain(|b| !base.covers(b));
            bases.push(base);
        }
        bases
            .into_iter()
            .map(|base| {
                if let Some(l) = self.lock().listings.get(&base) {
                    return l.clone();
                }
                let listing = Arc::new(walk(&self.root, &base, &self.skip));
                let mut state = self.lock();
                state.seen.extend(listing.iter().map(|f| f.rel.clone()));
                state.walked.insert(base.clone());
                state.listings.insert(base, listing.clone());
                listing
            })
            .collect()
    }
}

/// The globs of `inputs` as an include and an exclude set. `*` does not cross `/`; `**`
/// does.
fn glob_sets(globs: &[&str]) -> Result<(GlobSet, GlobSet), InputsError> {
    let mut include = GlobSetBuilder::new();
    let mut exclude = GlobSetBuilder::new();
    for g in globs {
        let (set, pattern) = match g.strip_prefix('!') {
            Some(p) => (&mut exclude, p),
            None => (&mut include, *g),
        };
        let glob = GlobBuilder::new(pattern.strip_prefix("./").unwrap_or(pattern))
            .literal_separator(true)
            .build()
            .map_err(|source| InputsError::Glob {
                glob: (*g).to_owned(),
                source,
            })?;
        set.add(glob);
    }
    let build = |b: GlobSetBuilder, glob: &str| {
        b.build().map_err(|source| InputsError::Glob {
            glob: glob.to_owned(),
            source,
        })
    };
    let joined = globs.join(", ");
    Ok((build(include, &joined)?, build(exclude, &joined)?))
}

/// A walk of `start` the way git sees the tree, as inputs are found: `.gitignore` files
/// (also outside a git repository and in the directories above `start`) and
/// `.git/info/exclude` respected, not the user's global excludes (which would make a key
/// depend on whose machine it is), `.git` and the directories `skip` left out, links not
/// followed. `phasegate watch` watches the directories of this walk.
pub fn tree(start: &Path, skip: Vec<PathBuf>) -> ignore::WalkBuilder {
    let mut walker = ignore::WalkBuilder::new(start);
    walker
        .hidden(false)
        .git_global(false)
        .require_git(false)
        .follow_links(false)
        .filter_entry(move |e| {
            let is_dir = e.file_type().is_some_and(|t| t.is_dir());
            !(is_dir && (e.file_name() == ".git" || skip.iter().any(|s| s == e.path())))
        });
    walker
}

/// Every regular file of `base` below `root` that git would not ignore (`.gitignore`
/// files, also outside a git repository and in the directories above `base`, and
/// `.git/info/exclude`; not the user's global excludes, which would make the key depend on
/// whose machine it is), leaving out `.git` and `skip`. Unreadable directories are passed
/// over.
fn walk(root: &Path, base: &Base, skip: &[PathBuf]) -> Vec<Listed> {
    let skip = skip.to_vec();
    let start = if base.dir.is_empty() {
        root.to_path_buf()
    } else {
        root.join(&base.dir)
    };
    let walker = tree(&start, skip).max_depth(base.depth).build();
    let mut out = Vec::new();
    for entry in walker.flatten() {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(root) else {
            continue;
        };
        // Paths are stored one per line, space-separated after the digests: a name that
        // is not UTF-8 or holds a newline cannot be recorded faithfully, so it is no input.
        let Some(rel) = rel.to_str().filter(|r| !r.contains('\n')) else {
            continue;
        };
        out.push(Listed {
            rel: rel.replace(std::path::MAIN_SEPARATOR, "/"),
            path: entry.path().to_path_buf(),
        });
    }
    out
}

/// SHA-256 of each file, in order; on several threads when there are many.
fn hash_all(files: &[(&Listed, Observed)]) -> Result<Vec<Sha256Hex>, InputsError> {
    if files.len() < PARALLEL_FROM {
        return files.iter().map(|(f, _)| hash_file(&f.path)).collect();
    }
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = files.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|(f, _)| hash_file(&f.path))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(files.len());
        for h in handles {
            out.extend(h.join().expect("hashing a file does not panic")?);
        }
        Ok(out)
    })
}

fn hash_file(path: &Path) -> Result<Sha256Hex, InputsError> {
    let read = |source| InputsError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(read)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(read)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX))
}

fn parse_stats(text: &str) -> BTreeMap<String, Stat> {
    let mut lines = text.lines();
    if lines.next() != Some(STAT_HEADER) {
        return BTreeMap::new();
    }
    lines
        .filter_map(|line| {
            let mut parts = line.splitn(7, ' ');
            let sha256 = parts.next()?.to_owned();
            let size = parts.next()?.parse().ok()?;
            let mtime_ns = parts.next()?.parse().ok()?;
            let ctime_ns = parts.next()?.parse().ok()?;
            let ino = parts.next()?.parse().ok()?;
            let hashed_at_ns = parts.next()?.parse().ok()?;
            let rel = parts.next()?.to_owned();
            let valid = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
            valid.then_some((
                rel,
                Stat {
                    size,
                    mtime_ns,
                    ctime_ns,
                    ino,
                    hashed_at_ns,
                    sha256,
                },
            ))
        })
        .collect()
}

/// The manifest of `gate` now: its definition, the files its `inputs` globs match (hashed
/// through `inputs`), the values of the variables it declares (looked up in `vars`), and
/// the keys of the gates it needs (`need_key`; a need without a known key counts as
/// `unknown`, which no real key equals).
pub fn manifest(
    gate: &Gate,
    project: &Project,
    tool_version: &str,
    inputs: &Inputs,
    vars: &BTreeMap<String, String>,
    need_key: impl Fn(&GateId) -> Option<Sha256Hex>,
) -> Result<Manifest, InputsError> {
    let globs: Vec<&str> = gate.input_globs().collect();
    let files = if globs.is_empty() {
        BTreeMap::new()
    } else {
        inputs.files(&globs)?
    };
    let env = gate
        .cache_vars(project)
        .into_iter()
        .map(|n| (n.to_owned(), vars.get(n).cloned()));
    let needs = gate
        .needs
        .iter()
        .map(|n| {
            (
                n.clone(),
                need_key(n).unwrap_or_else(|| "unknown".to_owned()),
            )
        })
        .collect();
    Ok(Manifest::new(gate, tool_version, files, env, needs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn globs_match_below_the_root_respecting_gitignore_and_exclusions() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "src/a.rs", "a");
        write(root, "src/deep/b.rs", "b");
        write(root, "src/gen.rs", "generated");
        write(root, "top.rs", "t");
        write(root, ".gitignore", "/src/gen.rs\n");
        write(root, ".phasegate/ledger.rs", "state");
        write(root, ".git/x.rs", "git");
        let inputs = Inputs::new(root, vec![root.join(".phasegate")], None);
        let names =
            |globs: &[&str]| -> Vec<String> { inputs.files(globs).unwrap().into_keys().collect() };
        assert_eq!(names(&["**/*.rs"]), ["src/a.rs", "src/deep/b.rs", "top.rs"]);
        assert_eq!(names(&["*.rs"]), ["top.rs"]);
        assert_eq!(names(&["src/**", "!src/deep/**"]), ["src/a.rs"]);
        assert_eq!(names(&["./top.rs", ".gitignore"]), [".gitignore", "top.rs"]);
        // Walked from `src` only, the root's `.gitignore` still applies.
        assert_eq!(names(&["src/*.rs"]), ["src/a.rs"]);
        assert_eq!(
            names(&["src/*.rs", "src/**/b.rs"]),
            ["src/a.rs", "src/deep/b.rs"]
        );
        assert!(names(&["missing/**"]).is_empty());
    }

    #[test]
    fn a_glob_is_walked_only_where_it_can_match() {
        let base = |g: &str| {
            let b = Base::of(g);
            (b.dir, b.depth)
        };
        assert_eq!(base("**/*.rs"), (String::new(), None));
        assert_eq!(base("*.rs"), (String::new(), Some(1)));
        assert_eq!(base("Cargo.lock"), (String::new(), Some(1)));
        assert_eq!(base("src/**"), ("src".into(), None));
        assert_eq!(base("crates/*/src/*.rs"), ("crates".into(), Some(3)));
        assert_eq!(base("a/b/c.txt"), ("a/b".into(), Some(1)));
        assert!(Base::of("src/**").covers(&Base::of("src/deep/*.rs")));
        assert!(!Base::of("src/*.rs").covers(&Base::of("src/deep/*.rs")));
        assert!(Base::of("*/*.rs").covers(&Base::of("src/*.rs")));
        assert!(Base::of("src/**").lists("src/a/b.rs") && !Base::of("src/*").lists("src/a/b"));
        assert!(!Base::of("src/**").lists("srcx/a"));
    }

    #[test]
    fn the_stat_cache_round_trips_and_content_is_the_truth() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let stat = root.join(".phasegate/cache/stat");
        write(root, "a.txt", "one");
        let first = Inputs::new(root, vec![root.join(".phasegate")], Some(stat.clone()));
        let before = first.files(&["a.txt"]).unwrap();
        first.save().unwrap();
        let saved = std::fs::read_to_string(&stat).unwrap();
        assert!(saved.starts_with(STAT_HEADER) && saved.contains(" a.txt\n"));
        assert_eq!(parse_stats(&saved).len(), 1);

        // Same size, new content, written at once: the times alone cannot be trusted.
        write(root, "a.txt", "two");
        let second = Inputs::new(root, vec![root.join(".phasegate")], Some(stat));
        let after = second.files(&["a.txt"]).unwrap();
        assert_ne!(before, after);
    }
}
