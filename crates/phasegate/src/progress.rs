//! Live progress of a run: one spinner per running gate with its elapsed time on a
//! terminal, one line per finished gate otherwise (CI logs).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use phasegate_engine::Event;
use phasegate_model::{Record, Verdict};

/// Shows what is running and what finished.
pub struct Progress {
    multi: Option<MultiProgress>,
    bars: HashMap<String, ProgressBar>,
}

impl Progress {
    /// Spinners when stderr is a terminal, plain lines otherwise.
    pub fn new() -> Self {
        let multi = std::io::stderr()
            .is_terminal()
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10)));
        Progress {
            multi,
            bars: HashMap::new(),
        }
    }

    /// Shows one event of a run.
    pub fn event(&mut self, ev: &Event) {
        match ev {
            Event::Started {
                gate,
                attempt,
                max_attempts,
            } => self.started(gate.as_str(), *attempt, *max_attempts),
            Event::Finished(record) => self.finished(record),
        }
    }

    /// An attempt started.
    fn started(&mut self, gate: &str, attempt: u32, max_attempts: u32) {
        let Some(multi) = &self.multi else { return };
        let label = if attempt > 1 {
            format!("{gate} (attempt {attempt}/{max_attempts})")
        } else {
            gate.to_owned()
        };
        let bar = multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .expect("the template is valid")
                .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ "),
        );
        bar.set_message(label);
        bar.enable_steady_tick(Duration::from_millis(100));
        if let Some(old) = self.bars.insert(gate.to_owned(), bar) {
            old.finish_and_clear();
        }
    }

    /// An attempt ended (or a gate was skipped).
    fn finished(&mut self, r: &Record) {
        let skipped = r.coverage.as_ref().map_or(0, |c| c.skipped.len());
        let mark = match r.verdict {
            Verdict::Pass if skipped > 0 => "◐",
            Verdict::Pass => "✔",
            Verdict::Fail => "✘",
            Verdict::Error => "‼",
            Verdict::Skipped => "↷",
        };
        let retry = if r.attempt > 1 || (r.verdict == Verdict::Fail && r.attempt < r.max_attempts) {
            format!(" [attempt {}/{}]", r.attempt, r.max_attempts)
        } else {
            String::new()
        };
        let why = match r.cached_from() {
            Some(from) => format!(": cached from evidence #{}", from.seq),
            None => r
                .reason
                .as_deref()
                .map(|w| format!(": {w}"))
                .unwrap_or_default(),
        };
        let verdict = if r.verdict == Verdict::Pass && skipped > 0 {
            format!("pass (partial: {skipped} skipped)")
        } else {
            r.verdict.to_string()
        };
        let line = format!(
            "{mark} {} {verdict}{retry} ({:.1}s){why}",
            r.gate,
            r.duration_ms as f64 / 1000.0
        );
        match (&self.multi, self.bars.remove(r.gate.as_str())) {
            (Some(multi), bar) => {
                if let Some(bar) = bar {
                    bar.finish_and_clear();
                    multi.remove(&bar);
                }
                let _ = multi.println(line);
            }
            (None, _) => eprintln!("{line}"),
        }
    }

    /// Removes whatever is still shown.
    pub fn clear(&mut self) {
        for (_, bar) in self.bars.drain() {
            bar.finish_and_clear();
        }
        if let Some(m) = &self.multi {
            let _ = m.clear();
        }
    }
}
