//! `every`, `cron`, `timezone` and `cooldown` of a gate or a phase.

use super::*;

/// The schedule keys of one table, with the spans their problems point at.
#[derive(Default)]
pub(super) struct ScheduleDraft {
    every: Option<(Duration, Range<usize>)>,
    cron: Option<(String, Range<usize>)>,
    timezone: Option<(String, Range<usize>)>,
    cooldown: Option<Duration>,
}

impl Checker<'_> {
    /// Takes in one schedule key of a gate or phase.
    pub(super) fn schedule_key(&mut self, draft: &mut ScheduleDraft, key: &Key<'_>, val: &Val<'_>) {
        match key.get_ref().as_ref() {
            "every" => draft.every = self.duration("every", val).map(|d| (d, key.span())),
            "cooldown" => draft.cooldown = self.duration("cooldown", val),
            "cron" => {
                let Some(expr) = self.string("cron", val) else {
                    return;
                };
                match crate::cron(expr) {
                    Ok(_) => draft.cron = Some((expr.to_owned(), key.span())),
                    Err(e) => self.push(
                        Problem::new(
                            format!("invalid cron expression `{expr}`: {e}"),
                            val.span(),
                            "not a cron expression",
                        )
                        .help(CRON_HELP),
                    ),
                }
            }
            _ => {
                let Some(name) = self.string("timezone", val) else {
                    return;
                };
                match jiff::tz::TimeZone::get(name) {
                    Ok(_) => draft.timezone = Some((name.to_owned(), key.span())),
                    Err(_) => self.push(
                        Problem::new(
                            format!("unknown time zone `{name}`"),
                            val.span(),
                            "not a time zone this system knows",
                        )
                        .help("an IANA time zone name, e.g. `Europe/Paris`, `America/New_York` or `UTC`"),
                    ),
                }
            }
        }
    }

    /// The schedule of `draft`, with what does not go together reported.
    pub(super) fn schedule(&mut self, draft: ScheduleDraft, place: &str) -> Schedule {
        if let (Some((_, every)), Some((_, cron))) = (&draft.every, &draft.cron) {
            self.push(
                Problem::new(
                    format!("both `every` and `cron` {place}"),
                    cron.clone(),
                    "`cron`",
                )
                .label(every.clone(), "and `every`")
                .help("keep one: `every` counts from the last run, `cron` names the times"),
            );
        }
        if let (Some((_, span)), None) = (&draft.timezone, &draft.cron) {
            self.push(
                Problem::new(
                    format!("`timezone` without `cron` {place}"),
                    span.clone(),
                    "no `cron` to read in it",
                )
                .help(
                    "`timezone` says how `cron` is read; add `cron = \"0 3 * * *\"` or remove it",
                ),
            );
        }
        Schedule {
            every: draft.every.map(|(d, _)| d),
            cron: draft.cron.map(|(expr, _)| phasegate_model::Cron {
                expr,
                zone: draft.timezone.map_or_else(|| "UTC".to_owned(), |(z, _)| z),
            }),
            cooldown: draft.cooldown,
        }
    }
}

const CRON_HELP: &str = "five fields, minute hour day-of-month month day-of-week (or six, seconds first), e.g. `0 3 * * *` for every day at 03:00; read in `timezone` (UTC by default)";
