//! The autopilot loop behind `phasegate watch` and `phasegate daemon`: the roadmap's
//! directory watched, bursts of changes debounced into one cycle, each cycle running
//! exactly the gates whose cache key changed and their dependants (the selection of
//! `run --changed`), and, for the daemon, gates with `every` on their schedule.
//!
//! The roadmap is read again at every cycle: an edit that breaks it is reported
//! ([`WatchEvent::Invalid`]) and the loop keeps watching until an edit fixes it. A cycle
//! that fails (the ledger unwritable, a gate's inputs unreadable) is reported
//! ([`WatchEvent::Failed`]) and the loop goes on. The loop ends when `cancel` turns true,
//! ending the running gates and closing the run as interrupted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use notify_debouncer_full::notify::{EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use phasegate_model::{GateId, Schedule};
use tokio::sync::{mpsc, watch};

use crate::{Error, Event, Options, Plan, RunOptions, RunReport, Session};

/// How to watch.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Phases or gates to keep current (empty: every phase).
    pub names: Vec<String>,
    /// How each cycle runs; `no_cache` applies to every cycle.
    pub run: RunOptions,
    /// How long the tree must be quiet before a burst of changes becomes one cycle.
    pub debounce: Duration,
    /// Also run the gates that have `every` on their schedule (the daemon); without it
    /// only changes start cycles.
    pub schedules: bool,
}

/// What started a cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// The loop started: whatever changed since the evidence runs.
    Start,
    /// These files changed (relative to the roadmap's directory where they are inside it).
    Changed(Vec<PathBuf>),
    /// These gates were due on their schedule (`every`); their evidence is not reused.
    Due(Vec<GateId>),
    /// These gates changed while in their cooldown, which is over now.
    CooledDown(Vec<GateId>),
}

/// What the loop reports to its observer.
#[derive(Debug)]
pub enum WatchEvent<'a> {
    /// The loop watches the roadmap's directory.
    Watching {
        /// The directory watched (recursively).
        root: &'a Path,
    },
    /// The roadmap does not load (or no longer names what was asked for); the loop keeps
    /// watching for an edit that fixes it.
    Invalid(&'a Error),
    /// A cycle starts: what started it and the gates it runs.
    Cycle {
        /// What started it.
        trigger: &'a Trigger,
        /// The gates it runs.
        plan: &'a Plan,
    },
    /// Progress of the cycle's run.
    Run(&'a Event),
    /// The cycle's run closed.
    Ran(&'a RunReport),
    /// Changes were seen but no gate's key changed: nothing ran.
    Unchanged {
        /// What was seen.
        trigger: &'a Trigger,
    },
    /// Gates whose key changed wait for their cooldown to end before they run.
    Deferred(&'a [(GateId, Timestamp)]),
    /// A cycle could not run or its run failed; the loop goes on.
    Failed(&'a Error),
    /// Waiting: the next scheduled runs, soonest first.
    Idle {
        /// Each scheduled gate and when it is due next.
        next: &'a [(GateId, Timestamp)],
    },
}

/// Watches the roadmap opened with `options` and keeps the gates of `watch.names` current
/// until `cancel` turns true. Fails only when the roadmap cannot be opened at the start or
/// the directory cannot be watched; everything later is reported to `observe`.
pub async fn watch(
    options: &Options,
    watch: &WatchOptions,
    mut observe: impl FnMut(WatchEvent<'_>),
    mut cancel: watch::Receiver<bool>,
) -> Result<(), Error> {
    let first = Session::open(options.clone())?;
    first.plan(&watch.names)?;
    let root = first.root.clone();
    let ignored = first.state_dirs_and_git();
    // Opened again at each cycle from the same file, wherever the process's directory is.
    let options = Options {
        config: Some(first.loaded.path.clone()),
        ..options.clone()
    };
    drop(first);

    let (tx, mut changes) = mpsc::unbounded_channel::<Vec<PathBuf>>();
    let skip = ignored.clone();
    let filter_root = root.clone();
    let debouncer = new_debouncer(watch.debounce, None, move |res: DebounceEventResult| {
        // Errors of the watcher (a queue overflow) are seen as "anything may have changed".
        let paths: Vec<PathBuf> = match res {
            Ok(events) => events
                .into_iter()
                // Reading a file (phasegate reads the roadmap and the inputs at every
                // cycle) is no change: only what can change a key counts.
                .filter(|e| !matches!(e.event.kind, EventKind::Access(_)))
                .flat_map(|e| e.event.paths)
                .filter(|p| *p != filter_root && !ignored.iter().any(|d| p.starts_with(d)))
                .collect(),
            Err(_) => vec![filter_root.clone()],
        };
        if !paths.is_empty() {
            // The receiver is gone only when the loop has ended.
            let _ = tx.send(paths);
        }
    })
    .map_err(|e| watch_error(&root, e))?;
    let mut watched = Watched {
        debouncer,
        dirs: BTreeSet::new(),
        skip,
    };
    watched.add(&root).map_err(|e| watch_error(&root, e))?;
    observe(WatchEvent::Watching { root: &root });
    let relative = |paths: Vec<PathBuf>| {
        dedup(
            paths
                .into_iter()
                .map(|p| p.strip_prefix(&root).map(Path::to_path_buf).unwrap_or(p))
                .collect(),
        )
    };

    let mut autopilot = Autopilot::new(&options, watch);
    let mut trigger = Some(Trigger::Start);
    // Changes seen and not yet looked at (those made while a cycle ran included: its own
    // writes too, which the next cycle's selection tells from real changes).
    let mut pending: Vec<PathBuf> = Vec::new();
    while !*cancel.borrow() {
        if let Some(t) = trigger.take() {
            autopilot.cycle(t, &mut observe, cancel.clone()).await;
            if *cancel.borrow() {
                break;
            }
            while let Ok(more) = changes.try_recv() {
                watched.seen(&more);
                pending.extend(more);
            }
            // What is due goes first, so that a tree that never stays quiet does not
            // hold the schedules back.
            trigger = autopilot.woken();
            if trigger.is_none() && !pending.is_empty() {
                trigger = Some(Trigger::Changed(relative(std::mem::take(&mut pending))));
            }
            if trigger.is_some() {
                continue;
            }
            observe(WatchEvent::Idle {
                next: &autopilot.next_runs(),
            });
        }
        let wake = autopilot.next_wake();
        let sleep = tokio::time::sleep_until(wake.unwrap_or_else(far_future).into());
        tokio::select! {
            Some(paths) = changes.recv() => {
                watched.seen(&paths);
                pending.extend(paths);
                while let Ok(more) = changes.try_recv() {
                    watched.seen(&more);
                    pending.extend(more);
                }
                trigger = Some(Trigger::Changed(relative(std::mem::take(&mut pending))));
            }
            () = sleep, if wake.is_some() => trigger = autopilot.woken(),
            changed = cancel.changed() => if changed.is_err() { break },
        }
    }
    watched.debouncer.stop();
    Ok(())
}

/// The directories watched, each on its own (not recursively): the tree as git sees it,
/// so that ignored trees (`target/`, `node_modules/`) and phasegate's own state (a new log
/// directory at every run) cost no watch and no memory, however long the loop runs.
/// Directories created later are added as their events arrive (a `.gitignore` edited to
/// take one in is not: restart the loop).
struct Watched {
    debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
    dirs: BTreeSet<PathBuf>,
    skip: Vec<PathBuf>,
}

impl Watched {
    /// Watches `dir` and every directory below it that git would not ignore.
    fn add(&mut self, dir: &Path) -> notify_debouncer_full::notify::Result<()> {
        let walk = phasegate_runner::inputs::tree(dir, self.skip.clone()).build();
        for entry in walk.flatten() {
            if entry.file_type().is_some_and(|t| t.is_dir())
                && self.dirs.insert(entry.path().to_path_buf())
            {
                self.debouncer
                    .watch(entry.path(), RecursiveMode::NonRecursive)?;
            }
        }
        Ok(())
    }

    /// Whether the walk of its (watched) parent lists `dir`: it is not ignored.
    fn is_listed(&self, dir: &Path) -> bool {
        let Some(parent) = dir.parent().filter(|p| self.dirs.contains(*p)) else {
            return false;
        };
        phasegate_runner::inputs::tree(parent, self.skip.clone())
            .max_depth(Some(1))
            .build()
            .flatten()
            .any(|e| e.path() == dir)
    }

    /// Follows the tree: a new directory among `paths` is watched, a removed one let go.
    fn seen(&mut self, paths: &[PathBuf]) {
        for p in paths {
            if p.is_dir() {
                if !self.dirs.contains(p) && self.is_listed(p) {
                    // One that vanished meanwhile is not there to watch.
                    let _ = self.add(p);
                }
            } else if !p.exists() {
                let gone: Vec<PathBuf> = self
                    .dirs
                    .iter()
                    .filter(|d| d.starts_with(p))
                    .cloned()
                    .collect();
                for d in gone {
                    self.dirs.remove(&d);
                    let _ = self.debouncer.unwatch(&d);
                }
            }
        }
    }
}

fn watch_error(root: &Path, e: impl std::fmt::Display) -> Error {
    Error::Io {
        what: format!("cannot watch `{}`", root.display()),
        source: std::io::Error::other(e.to_string()),
    }
}

fn dedup(mut paths: Vec<PathBuf>) -> Vec<PathBuf> {
    paths.sort();
    paths.dedup();
    paths
}

/// A wake-up time for "never": a day away, re-armed after every event.
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400)
}

/// When each gate last ran in this loop and what waits: the schedule's state.
struct Autopilot<'a> {
    options: &'a Options,
    watch: &'a WatchOptions,
    /// Each gate's schedule, as of the last roadmap that loaded.
    schedules: BTreeMap<GateId, Schedule>,
    /// When each gate last ran (or its evidence was made, before this loop ran it).
    last_ran: BTreeMap<GateId, Instant>,
    /// Gates that changed during their cooldown, and when it ends.
    deferred: BTreeMap<GateId, Instant>,
}

impl<'a> Autopilot<'a> {
    fn new(options: &'a Options, watch: &'a WatchOptions) -> Self {
        Autopilot {
            options,
            watch,
            schedules: BTreeMap::new(),
            last_ran: BTreeMap::new(),
            deferred: BTreeMap::new(),
        }
    }

    /// Runs one cycle, reporting everything to `observe`.
    async fn cycle(
        &mut self,
        trigger: Trigger,
        observe: &mut impl FnMut(WatchEvent<'_>),
        cancel: watch::Receiver<bool>,
    ) {
        let session = match Session::open(self.options.clone()) {
            Ok(s) => s,
            Err(e) => return report(observe, &e),
        };
        if let Err(e) = self.prepare(&session) {
            return report(observe, &e);
        }
        let (plan, deferred) = match self.select(&session, &trigger) {
            Ok(p) => p,
            Err(e) => return report(observe, &e),
        };
        if !deferred.is_empty() {
            observe(WatchEvent::Deferred(&deferred));
        }
        if plan.gates.is_empty() {
            observe(WatchEvent::Unchanged { trigger: &trigger });
            return;
        }
        observe(WatchEvent::Cycle {
            trigger: &trigger,
            plan: &plan,
        });
        let mut run = self.watch.run.clone();
        // A schedule exists to check again what the key cannot see (a deployment, the
        // time): a due gate runs whatever its evidence.
        run.no_cache |= matches!(trigger, Trigger::Due(_));
        let started = Instant::now();
        let result = session
            .run(&plan, &run, |ev| observe(WatchEvent::Run(ev)), cancel)
            .await;
        for g in &plan.gates {
            self.last_ran.insert(g.clone(), started);
            self.deferred.remove(g);
        }
        match result {
            Ok(report) => observe(WatchEvent::Ran(&report)),
            Err(e) => observe(WatchEvent::Failed(&e)),
        }
    }

    /// Takes the schedules of the roadmap as it is now; a gate first seen counts as run
    /// when its latest evidence was made, so a restarted daemon keeps the rhythm.
    fn prepare(&mut self, session: &Session) -> Result<(), Error> {
        let roadmap = session.roadmap();
        self.schedules = roadmap
            .gates
            .iter()
            .filter(|g| !matches!(g.kind, phasegate_model::GateKind::Signoff { .. }))
            .map(|g| (g.id.clone(), g.schedule.clone()))
            .collect();
        let unknown: Vec<&GateId> = self
            .schedules
            .keys()
            .filter(|g| !self.last_ran.contains_key(*g))
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let card = session.scorecard()?;
        let now_ts = Timestamp::now();
        let now = Instant::now();
        let mut seen = Vec::new();
        for g in unknown {
            if let Some(at) = card.gate(g.as_str()).and_then(|s| s.last_run) {
                let ago = now_ts.duration_since(at).unsigned_abs();
                seen.push((g.clone(), now.checked_sub(ago).unwrap_or(now)));
            }
        }
        self.last_ran.extend(seen);
        Ok(())
    }

    /// The gates a cycle started by `trigger` runs: those of the `--changed` selection
    /// (plus the due ones), less those in their cooldown, which are deferred.
    fn select(
        &mut self,
        session: &Session,
        trigger: &Trigger,
    ) -> Result<(Plan, Vec<(GateId, Timestamp)>), Error> {
        let plan = session.plan(&self.watch.names)?;
        let mut run: BTreeSet<GateId> = match trigger {
            Trigger::Due(due) => due.iter().cloned().collect(),
            _ => session.changed(&plan)?.0.gates.into_iter().collect(),
        };
        if let Trigger::CooledDown(gates) = trigger {
            run.extend(gates.iter().cloned());
        }
        let now = Instant::now();
        let mut deferred = Vec::new();
        if !matches!(trigger, Trigger::Due(_)) {
            run.retain(|g| match self.cooldown_end(g) {
                Some(end) if end > now => {
                    self.deferred.insert(g.clone(), end);
                    deferred.push((g.clone(), timestamp_of(end)));
                    false
                }
                _ => true,
            });
        }
        let gates = plan
            .gates
            .iter()
            .filter(|g| run.contains(*g))
            .cloned()
            .collect();
        Ok((Plan { gates, ..plan }, deferred))
    }

    /// When `gate`'s cooldown after its last run ends, if it has one.
    fn cooldown_end(&self, gate: &GateId) -> Option<Instant> {
        let cooldown = self.schedules.get(gate)?.cooldown?;
        Some(*self.last_ran.get(gate)? + cooldown)
    }

    /// When each scheduled gate is due: with `every`, that long after it last ran (now
    /// when it never ran); with `cron`, at the first time the expression names after its
    /// last run (or after now): a time missed while no daemon ran is caught up at once.
    fn due_times(&self, now: Instant) -> Vec<(GateId, Instant)> {
        if !self.watch.schedules {
            return Vec::new();
        }
        let mut due: Vec<(GateId, Instant)> = self
            .schedules
            .iter()
            .filter_map(|(g, s)| {
                let last = self.last_ran.get(g);
                if let Some(every) = s.every {
                    return Some((g.clone(), last.map_or(now, |t| *t + every)));
                }
                let after = last.map_or_else(Timestamp::now, |t| timestamp_of(*t));
                let next = next_occurrence(s.cron.as_ref()?, after)?;
                Some((g.clone(), instant_of(next, now)))
            })
            .collect();
        due.sort_by_key(|(_, t)| *t);
        due
    }

    /// The next scheduled runs and the ends of cooldowns, soonest first.
    fn next_runs(&self) -> Vec<(GateId, Timestamp)> {
        let mut next: Vec<(GateId, Instant)> = self.due_times(Instant::now());
        next.extend(self.deferred.iter().map(|(g, t)| (g.clone(), *t)));
        next.sort_by_key(|(_, t)| *t);
        next.into_iter()
            .map(|(g, t)| (g, timestamp_of(t)))
            .collect()
    }

    /// When the loop must wake up by itself: the soonest due gate or end of a cooldown.
    fn next_wake(&self) -> Option<Instant> {
        let due = self.due_times(Instant::now()).first().map(|(_, t)| *t);
        let cooled = self.deferred.values().min().copied();
        due.into_iter().chain(cooled).min()
    }

    /// What is due now that the loop woke up by itself.
    fn woken(&mut self) -> Option<Trigger> {
        let now = Instant::now();
        let due: Vec<GateId> = self
            .due_times(now)
            .into_iter()
            .filter(|(_, t)| *t <= now)
            .map(|(g, _)| g)
            .collect();
        if !due.is_empty() {
            return Some(Trigger::Due(due));
        }
        let cooled: Vec<GateId> = self
            .deferred
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(g, _)| g.clone())
            .collect();
        (!cooled.is_empty()).then_some(Trigger::CooledDown(cooled))
    }
}

/// A roadmap that does not load is the user's to fix (`Invalid`); anything else is a
/// failed cycle.
fn report(observe: &mut impl FnMut(WatchEvent<'_>), e: &Error) {
    if e.is_usage() {
        observe(WatchEvent::Invalid(e));
    } else {
        observe(WatchEvent::Failed(e));
    }
}

/// The first time after `after` that `cron` names, in its time zone; `None` when there is
/// none (the roadmap crate has checked the expression and the zone).
fn next_occurrence(cron: &phasegate_model::Cron, after: Timestamp) -> Option<Timestamp> {
    let parsed = phasegate_roadmap::cron(&cron.expr).ok()?;
    let zone = jiff::tz::TimeZone::get(&cron.zone).ok()?;
    let next = parsed
        .find_next_occurrence(&after.to_zoned(zone), false)
        .ok()?;
    Some(next.timestamp())
}

/// The monotonic instant of a wall-clock time, `now` standing for the present (and for
/// any time already past, so that it compares as due).
fn instant_of(at: Timestamp, now: Instant) -> Instant {
    let ahead = Timestamp::now().duration_until(at);
    std::time::Duration::try_from(ahead).map_or(now, |d| now + d)
}

/// The wall-clock time of a monotonic `instant`, for people.
fn timestamp_of(instant: Instant) -> Timestamp {
    let now = Instant::now();
    let ts = Timestamp::now();
    let signed = if instant >= now {
        jiff::SignedDuration::try_from(instant - now)
    } else {
        jiff::SignedDuration::try_from(now - instant).map(|d| -d)
    };
    signed
        .ok()
        .and_then(|d| ts.checked_add(d).ok())
        .unwrap_or(ts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cron(expr: &str, zone: &str) -> phasegate_model::Cron {
        phasegate_model::Cron {
            expr: expr.to_owned(),
            zone: zone.to_owned(),
        }
    }

    #[test]
    fn a_cron_time_is_read_in_its_zone_across_a_clock_change() {
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        // 03:00 in Paris is 02:00Z in winter and 01:00Z from the night clocks go forward.
        let nightly = cron("0 3 * * *", "Europe/Paris");
        assert_eq!(
            next_occurrence(&nightly, at("2026-03-27T12:00:00Z")),
            Some(at("2026-03-28T02:00:00Z"))
        );
        assert_eq!(
            next_occurrence(&nightly, at("2026-03-28T12:00:00Z")),
            Some(at("2026-03-29T01:00:00Z"))
        );
        assert_eq!(
            next_occurrence(&cron("0 3 * * *", "UTC"), at("2026-03-28T12:00:00Z")),
            Some(at("2026-03-29T03:00:00Z"))
        );
        // Strictly after: a run at the scheduled second does not schedule itself again.
        assert_eq!(
            next_occurrence(&cron("*/10 * * * * *", "UTC"), at("2026-03-28T12:00:10Z")),
            Some(at("2026-03-28T12:00:20Z"))
        );
    }
}
