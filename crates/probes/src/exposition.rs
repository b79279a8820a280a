//! A strict reader of the Prometheus text exposition format (version 0.0.4) and of the
//! OpenMetrics 1.0 text format, the two text formats Prometheus scrapes.
//!
//! Strict where a scraper would drop data or a dashboard would lie: metric and label names,
//! label value escapes (`\\`, `\"`, `\n` only), numbers, `# TYPE` before a family's samples and
//! at most once, a family's samples in one group, no duplicate series, and histograms whose
//! buckets are cumulative with a `+Inf` bucket equal to `_count`. It keeps reading after an
//! error so that every problem is reported with its line number.
//!
//! The [`Format`] decides what else is legal, as Prometheus's two text parsers decide it:
//! OpenMetrics adds the `gaugehistogram`, `info`, `stateset` and `unknown` types (and drops
//! `untyped`), `# UNIT`, `_created` series, float timestamps in seconds, exemplars after a
//! value (`# {trace_id="..."} 1.0`, label set at most 128 characters) and requires `# EOF` as
//! the last line. In the 0.0.4 format an exemplar is a syntax error and `# EOF` a comment.

use std::collections::HashSet;

/// Label pairs in the order written.
type Labels = Vec<(String, String)>;

/// The text format an exposition is written in, as its `Content-Type` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `text/plain; version=0.0.4` (the Prometheus text exposition format).
    Text,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

/// The type a `# TYPE` line declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
    /// `untyped` in the 0.0.4 format, `unknown` in OpenMetrics: the same thing.
    Untyped,
    GaugeHistogram,
    Info,
    StateSet,
}

/// The types a declared family may name, in any format.
pub(crate) const KIND_NAMES: &str =
    "counter, gauge, histogram, summary, untyped, unknown, gaugehistogram, info or stateset";

impl Kind {
    /// Any type name of either format (a roadmap may declare either).
    pub fn parse(text: &str) -> Option<Kind> {
        Kind::parse_in(text, Format::Text).or_else(|| Kind::parse_in(text, Format::OpenMetrics))
    }

    /// A type name legal in `format`: Prometheus's 0.0.4 parser refuses the OpenMetrics-only
    /// types and its OpenMetrics parser refuses `untyped`.
    fn parse_in(text: &str, format: Format) -> Option<Kind> {
        Some(match (text, format) {
            ("counter", _) => Kind::Counter,
            ("gauge", _) => Kind::Gauge,
            ("histogram", _) => Kind::Histogram,
            ("summary", _) => Kind::Summary,
            ("untyped", Format::Text) | ("unknown", Format::OpenMetrics) => Kind::Untyped,
            ("gaugehistogram", Format::OpenMetrics) => Kind::GaugeHistogram,
            ("info", Format::OpenMetrics) => Kind::Info,
            ("stateset", Format::OpenMetrics) => Kind::StateSet,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
            Kind::Summary => "summary",
            Kind::Untyped => "untyped",
            Kind::GaugeHistogram => "gaugehistogram",
            Kind::Info => "info",
            Kind::StateSet => "stateset",
        }
    }

    /// Whether a declared `type` names this kind (`unknown` is OpenMetrics' `untyped`).
    pub fn is_named(self, name: &str) -> bool {
        Kind::parse(name) == Some(self)
    }

    /// Sample-name suffixes that belong to a family of this kind. `_created` (OpenMetrics)
    /// is listed in both formats: in 0.0.4 a sample matches its exact family name first, so a
    /// separately declared `x_created` family keeps its own samples.
    fn suffixes(self) -> &'static [&'static str] {
        match self {
            Kind::Histogram => &["_bucket", "_sum", "_count", "_created"],
            Kind::GaugeHistogram => &["_bucket", "_gsum", "_gcount"],
            Kind::Summary => &["", "_sum", "_count", "_created"],
            // Counters named without `_total` in TYPE are exposed with it (OpenMetrics style).
            Kind::Counter => &["", "_total", "_created"],
            Kind::Info => &["_info"],
            Kind::Gauge | Kind::Untyped | Kind::StateSet => &[""],
        }
    }
}

/// One metric family: its declared type and its samples.
#[derive(Debug, Clone)]
pub(crate) struct Family {
    pub name: String,
    pub kind: Kind,
    pub samples: Vec<Sample>,
    /// Whether a `# TYPE` line declared it (otherwise it is implicitly untyped).
    typed: bool,
    has_help: bool,
}

/// One sample line.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
    pub line: usize,
}

impl Sample {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A problem at a line (1-based; 0 when it concerns a whole family).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub line: usize,
    /// `parse` for syntax and grouping, `histogram` for bucket consistency.
    pub kind: &'static str,
    pub message: String,
}

impl Problem {
    fn parse(line: usize, message: String) -> Problem {
        Problem {
            line,
            kind: "parse",
            message,
        }
    }

    fn histogram(line: usize, message: String) -> Problem {
        Problem {
            line,
            kind: "histogram",
            message,
        }
    }
}

/// A parsed exposition.
#[derive(Debug)]
pub(crate) struct Exposition {
    pub families: Vec<Family>,
    pub format: Format,
}

impl Exposition {
    pub fn family(&self, name: &str) -> Option<&Family> {
        self.families.iter().find(|f| f.name == name)
    }
}

fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_value(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ if s
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) =>
        {
            s.parse().ok()
        }
        _ => None,
    }
}

/// Parses `text` written in `format`, returning what could be read and every problem found.
pub(crate) fn parse(text: &str, format: Format) -> (Exposition, Vec<Problem>) {
    let mut reader = Reader {
        exp: Exposition {
            families: Vec::new(),
            format,
        },
        problems: Vec::new(),
        current: None,
        series: HashSet::new(),
        eof: None,
    };
    let mut last = 0;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            continue;
        }
        last = line;
        if let Some(eof) = reader.eof {
            // OpenMetrics: "# EOF" ends the exposition; Prometheus refuses anything after it.
            let message = format!("expected nothing after # EOF (line {eof}), saw {trimmed:?}");
            reader.problems.push(Problem::parse(line, message));
            continue;
        }
        match trimmed.strip_prefix('#') {
            Some(rest) => reader.comment(line, rest),
            None => reader.sample(line, trimmed),
        }
    }
    if format == Format::OpenMetrics && reader.eof.is_none() {
        // A missing terminator is how a truncated scrape looks; Prometheus refuses it.
        let message = "expected # EOF as the last line of an OpenMetrics exposition, saw none";
        reader
            .problems
            .push(Problem::parse(last + 1, message.to_string()));
    }
    let Reader {
        exp, mut problems, ..
    } = reader;
    for family in &exp.families {
        if family.kind == Kind::Histogram {
            problems.extend(check_histogram(family));
        }
    }
    problems.sort_by_key(|p| p.line);
    (exp, problems)
}

/// What has been read so far, line by line.
struct Reader {
    exp: Exposition,
    problems: Vec<Problem>,
    /// Index of the family whose samples are being read; a family's samples must be contiguous.
    current: Option<usize>,
    /// Every series read (name and sorted labels), so that a repeated one is caught.
    series: HashSet<(String, Labels)>,
    /// The line of `# EOF` (OpenMetrics only).
    eof: Option<usize>,
}

impl Reader {
    /// Adds an untyped family named `name` and returns its index.
    fn add_family(&mut self, name: &str) -> usize {
        self.exp.families.push(Family {
            name: name.to_string(),
            kind: Kind::Untyped,
            samples: Vec::new(),
            typed: false,
            has_help: false,
        });
        self.exp.families.len() - 1
    }

    /// A `#` line: `# HELP` and `# TYPE` are read (and in OpenMetrics `# EOF`; `# UNIT` is
    /// metadata no rule looks at), anything else is a plain comment.
    fn comment(&mut self, line: usize, rest: &str) {
        let format = self.exp.format;
        if format == Format::OpenMetrics && rest.trim() == "EOF" {
            self.eof = Some(line);
            return;
        }
        let mut parts = rest.trim_start().splitn(3, char::is_whitespace);
        let keyword = parts.next().unwrap_or_default();
        if keyword != "HELP" && keyword != "TYPE" {
            return;
        }
        let name = parts.next().unwrap_or_default();
        let arg = parts.next().unwrap_or_default().trim();
        if !is_metric_name(name) {
            let message = format!("expected a metric name after # {keyword}, saw {name:?}");
            self.problems.push(Problem::parse(line, message));
            return;
        }
        let idx = self
            .exp
            .families
            .iter()
            .position(|f| f.name == name)
            .unwrap_or_else(|| self.add_family(name));
        let family = &mut self.exp.families[idx];
        let mut problem = |message: String| self.problems.push(Problem::parse(line, message));
        if keyword == "HELP" {
            if family.has_help {
                problem(format!("expected one # HELP for {name}, saw a second"));
            }
            family.has_help = true;
            return;
        }
        match Kind::parse_in(arg, format) {
            None => problem(format!(
                "expected {} after # TYPE {name}, saw {arg:?}",
                match format {
                    Format::Text => "counter, gauge, histogram, summary or untyped",
                    Format::OpenMetrics =>
                        "counter, gauge, histogram, gaugehistogram, summary, info, stateset or unknown",
                }
            )),
            Some(_) if family.typed => {
                problem(format!("expected one # TYPE for {name}, saw a second"))
            }
            Some(_) if !family.samples.is_empty() => problem(format!(
                "expected # TYPE {name} before its samples, saw it after"
            )),
            Some(kind) => {
                family.kind = kind;
                family.typed = true;
            }
        }
    }

    /// A sample line: read, added to its family and checked against it.
    fn sample(&mut self, line: usize, text: &str) {
        let sample = match parse_sample(text, line, self.exp.format) {
            Ok(s) => s,
            Err(message) => {
                self.problems.push(Problem::parse(line, message));
                return;
            }
        };
        let idx =
            family_of(&self.exp, &sample.name).unwrap_or_else(|| self.add_family(&sample.name));
        let family = &self.exp.families[idx];
        let mut problem = |message: String| self.problems.push(Problem::parse(line, message));
        if self.current != Some(idx) && !family.samples.is_empty() {
            problem(format!(
                "expected the samples of {} in one group, saw {} again after other families",
                family.name, sample.name
            ));
        }
        if family.kind == Kind::Histogram && sample.name == family.name {
            problem(format!(
                "expected histogram {} samples to end in _bucket, _sum or _count, saw {}",
                family.name, sample.name
            ));
        }
        // OpenMetrics: a stateset sample is 1 (the state holds) or 0, an info sample is 1.
        if family.kind == Kind::StateSet && sample.value != 0.0 && sample.value != 1.0 {
            problem(format!(
                "expected stateset {} samples to be 0 or 1, saw {}",
                family.name, sample.value
            ));
        }
        if family.kind == Kind::Info && sample.value != 1.0 {
            problem(format!(
                "expected info {} samples to be 1, saw {}",
                family.name, sample.value
            ));
        }
        if family.kind == Kind::Counter && (sample.value < 0.0 || sample.value.is_nan()) {
            problem(format!(
                "expected counter {} to be non-negative, saw {}",
                sample.name, sample.value
            ));
        }
        let mut key_labels = sample.labels.clone();
        key_labels.sort();
        if !self.series.insert((sample.name.clone(), key_labels)) {
            problem(format!(
                "expected each series once, saw {} with the same labels again",
                sample.name
            ));
        }
        self.current = Some(idx);
        self.exp.families[idx].samples.push(sample);
    }
}

/// The family a sample name belongs to: one of that exact name first, then by the kinds'
/// suffixes.
fn family_of(exp: &Exposition, name: &str) -> Option<usize> {
    if let Some(exact) = exp
        .families
        .iter()
        .position(|f| f.name == name && f.kind.suffixes().contains(&""))
    {
        return Some(exact);
    }
    exp.families.iter().position(|f| {
        f.kind
            .suffixes()
            .iter()
            .any(|suffix| name.strip_suffix(suffix) == Some(f.name.as_str()))
    })
}

fn parse_sample(line: &str, number: usize, format: Format) -> Result<Sample, String> {
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .unwrap_or(line.len());
    let name = &line[..name_end];
    if !is_metric_name(name) {
        return Err(format!("expected a metric name, saw {name:?}"));
    }
    let mut rest = &line[name_end..];
    let mut labels: Vec<(String, String)> = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        let (parsed, remainder) = parse_labels(after)?;
        labels = parsed;
        rest = remainder;
    }
    if !rest.starts_with(char::is_whitespace) {
        return Err(format!(
            "expected whitespace and a value after {name}, saw {rest:?}"
        ));
    }
    // Label values are behind us, so a `#` now can only start an exemplar.
    let (rest, exemplar) = match rest.split_once('#') {
        Some((before, after)) if format == Format::OpenMetrics => (before, Some(after)),
        Some(_) => {
            return Err(format!(
                "expected no exemplar after {name}'s value (exemplars are OpenMetrics only, and this exposition is text/plain), saw \"#\""
            ));
        }
        None => (rest, None),
    };
    let mut fields = rest.split_whitespace();
    let value_text = fields.next().unwrap_or_default();
    let value = parse_value(value_text)
        .ok_or_else(|| format!("expected a number for {name}, saw {value_text:?}"))?;
    if let Some(ts) = fields.next() {
        check_timestamp(ts, name, format)?;
    }
    if let Some(extra) = fields.next() {
        return Err(format!(
            "expected the end of the line after {name}'s value, saw {extra:?}"
        ));
    }
    if let Some(exemplar) = exemplar {
        check_exemplar(exemplar, name)?;
    }
    Ok(Sample {
        name: name.to_string(),
        labels,
        value,
        line: number,
    })
}

/// 0.0.4: integer milliseconds; OpenMetrics: seconds, possibly fractional.
fn check_timestamp(ts: &str, name: &str, format: Format) -> Result<(), String> {
    let ok = match format {
        Format::Text => ts.parse::<i64>().is_ok(),
        Format::OpenMetrics => parse_value(ts).is_some_and(f64::is_finite),
    };
    if ok {
        return Ok(());
    }
    Err(format!(
        "expected {} timestamp after the value of {name}, saw {ts:?}",
        match format {
            Format::Text => "an integer",
            Format::OpenMetrics => "a number",
        }
    ))
}

/// An OpenMetrics exemplar after `#`: `{labels} value [timestamp]`, its label names and values
/// at most 128 characters together (OpenMetrics 1.0, "Exemplars").
fn check_exemplar(text: &str, name: &str) -> Result<(), String> {
    let Some(after) = text.trim_start().strip_prefix('{') else {
        return Err(format!(
            "expected an exemplar `{{labels}} value` after # on {name}, saw {text:?}"
        ));
    };
    let (labels, rest) = parse_labels(after)?;
    let length: usize = labels
        .iter()
        .map(|(n, v)| n.chars().count() + v.chars().count())
        .sum();
    if length > 128 {
        return Err(format!(
            "expected an exemplar label set of at most 128 characters on {name}, saw {length}"
        ));
    }
    let mut fields = rest.split_whitespace();
    let value = fields.next().unwrap_or_default();
    if parse_value(value).is_none() {
        return Err(format!(
            "expected a number as the exemplar value on {name}, saw {value:?}"
        ));
    }
    if let Some(ts) = fields.next() {
        check_timestamp(ts, name, Format::OpenMetrics)?;
    }
    match fields.next() {
        Some(extra) => Err(format!(
            "expected the end of the line after {name}'s exemplar, saw {extra:?}"
        )),
        None => Ok(()),
    }
}

/// Reads `name="value",...}`; returns the labels and what follows the `}`.
fn parse_labels(mut s: &str) -> Result<(Labels, &str), String> {
    let mut labels: Vec<(String, String)> = Vec::new();
    loop {
        s = s.trim_start();
        if let Some(rest) = s.strip_prefix('}') {
            return Ok((labels, rest));
        }
        let eq = s
            .find('=')
            .ok_or_else(|| format!("expected label=\"value\", saw {s:?}"))?;
        let name = s[..eq].trim();
        if !is_label_name(name) {
            return Err(format!("expected a label name, saw {name:?}"));
        }
        if labels.iter().any(|(n, _)| n == name) {
            return Err(format!("expected label {name} once, saw it twice"));
        }
        let after = s[eq + 1..].trim_start();
        let mut chars = after.char_indices();
        if chars.next().map(|(_, c)| c) != Some('"') {
            return Err(format!(
                "expected a quoted value for label {name}, saw {after:?}"
            ));
        }
        let mut value = String::new();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    end = Some(i + 1);
                    break;
                }
                '\\' => match chars.next().map(|(_, c)| c) {
                    Some('\\') => value.push('\\'),
                    Some('"') => value.push('"'),
                    Some('n') => value.push('\n'),
                    other => {
                        return Err(format!(
                            "expected \\\\, \\\" or \\n in the value of label {name}, saw \\{}",
                            other.map(String::from).unwrap_or_default()
                        ));
                    }
                },
                c => value.push(c),
            }
        }
        let end = end.ok_or_else(|| {
            format!("expected a closing quote for label {name}, saw the end of the line")
        })?;
        labels.push((name.to_string(), value));
        s = after[end..].trim_start();
        if let Some(rest) = s.strip_prefix(',') {
            s = rest;
        } else if !s.starts_with('}') {
            return Err(format!(
                "expected `,` or `}}` after label {name}, saw {s:?}"
            ));
        }
    }
}

/// One label set of a histogram, as far as consistency goes.
#[derive(Default)]
struct Series {
    /// `(le, value, line)` of each bucket.
    buckets: Vec<(f64, f64, usize)>,
    sum: bool,
    /// `(value, line)` of `_count`.
    count: Option<(f64, usize)>,
    first_line: usize,
}

/// Bucket, sum and count consistency for every label set of a histogram.
fn check_histogram(family: &Family) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (key, series) in histogram_series(family, &mut problems) {
        check_series(&family.name, &key, series, &mut problems);
    }
    problems
}

/// A histogram's samples grouped by their labels other than `le`, in the order first seen.
fn histogram_series(family: &Family, problems: &mut Vec<Problem>) -> Vec<(Labels, Series)> {
    let mut all: Vec<(Labels, Series)> = Vec::new();
    let name = &family.name;
    for s in &family.samples {
        let mut key: Labels = s
            .labels
            .iter()
            .filter(|(n, _)| n != "le")
            .cloned()
            .collect();
        key.sort();
        let idx = match all.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                all.push((
                    key,
                    Series {
                        first_line: s.line,
                        ..Series::default()
                    },
                ));
                all.len() - 1
            }
        };
        let series = &mut all[idx].1;
        if s.name.ends_with("_bucket") {
            match s.label("le").and_then(parse_value) {
                Some(le) if !le.is_nan() => series.buckets.push((le, s.value, s.line)),
                _ => problems.push(Problem::histogram(
                    s.line,
                    format!(
                        "expected {name}_bucket to carry a numeric le label, saw {:?}",
                        s.label("le")
                    ),
                )),
            }
        } else if s.name.ends_with("_sum") {
            series.sum = true;
        } else if s.name.ends_with("_count") {
            series.count = Some((s.value, s.line));
        }
    }
    all
}

/// Cumulative buckets, a `+Inf` bucket equal to `_count`, and a `_sum`.
fn check_series(name: &str, key: &Labels, mut series: Series, problems: &mut Vec<Problem>) {
    let labels: Vec<String> = key.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
    let which = format!("{name}{{{}}}", labels.join(","));
    let mut problem = |line: usize, message: String| {
        problems.push(Problem::histogram(line, message));
    };
    series.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    for pair in series.buckets.windows(2) {
        let (lo, hi) = (pair[0], pair[1]);
        if hi.1 < lo.1 {
            problem(
                hi.2,
                format!(
                    "expected cumulative buckets in {which}, saw le={} with {} below le={} with {}",
                    hi.0, hi.1, lo.0, lo.1
                ),
            );
        }
    }
    let inf = series.buckets.iter().find(|b| b.0 == f64::INFINITY);
    match (inf, series.count) {
        (None, _) => problem(
            series.first_line,
            format!("expected a le=\"+Inf\" bucket in {which}, saw none"),
        ),
        (Some(_), None) => problem(
            series.first_line,
            format!("expected {name}_count for {which}, saw none"),
        ),
        (Some(b), Some((count, line))) if b.1 != count => problem(
            line,
            format!(
                "expected {name}_count to equal the +Inf bucket ({}) in {which}, saw {count}",
                b.1
            ),
        ),
        _ => {}
    }
    if !series.sum {
        problem(
            series.first_line,
            format!("expected {name}_sum for {which}, saw none"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{route="/a",status="200"} 3
http_requests_total{route="/b\"x\\y\n",status="500",} 1 1700000000000
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{route="/a",le="0.1"} 1
http_request_duration_seconds_bucket{route="/a",le="0.5"} 2
http_request_duration_seconds_bucket{route="/a",le="+Inf"} 3
http_request_duration_seconds_sum{route="/a"} 0.7
http_request_duration_seconds_count{route="/a"} 3
# a comment
up 1
"#;

    #[test]
    fn reads_a_good_exposition() {
        let (exp, problems) = parse(GOOD, Format::Text);
        assert_eq!(problems, []);
        let counter = exp.family("http_requests_total").unwrap();
        assert_eq!(counter.kind, Kind::Counter);
        assert_eq!(counter.samples[1].label("route"), Some("/b\"x\\y\n"));
        let hist = exp.family("http_request_duration_seconds").unwrap();
        assert_eq!(hist.kind, Kind::Histogram);
        assert_eq!(hist.samples.len(), 5);
        assert_eq!(exp.family("up").unwrap().kind, Kind::Untyped);
    }

    fn lines(text: &str) -> Vec<(usize, &'static str)> {
        parse(text, Format::Text)
            .1
            .into_iter()
            .map(|p| (p.line, p.kind))
            .collect()
    }

    #[test]
    fn syntax_errors_name_their_line() {
        assert_eq!(lines("a 1\nb{x=\"1\" 2\n"), [(2, "parse")]);
        assert_eq!(lines("a{x=\"\\t\"} 1\n"), [(1, "parse")]);
        assert_eq!(lines("a one\n"), [(1, "parse")]);
        assert_eq!(lines("1a 1\n"), [(1, "parse")]);
        assert_eq!(lines("a{x=\"1\",x=\"2\"} 1\n"), [(1, "parse")]);
        assert_eq!(lines("a 1 2 3\n"), [(1, "parse")]);
        assert_eq!(lines("# TYPE a bogus\n"), [(1, "parse")]);
    }

    #[test]
    fn type_after_samples_duplicates_and_split_groups_are_errors() {
        assert_eq!(lines("a 1\n# TYPE a counter\n"), [(2, "parse")]);
        assert_eq!(lines("a{x=\"1\"} 1\na{x=\"1\"} 2\n"), [(2, "parse")]);
        assert_eq!(lines("a 1\nb 1\na{x=\"2\"} 1\n"), [(3, "parse")]);
        assert_eq!(lines("# TYPE c counter\nc -1\n"), [(2, "parse")]);
    }

    #[test]
    fn histogram_consistency() {
        let base = "# TYPE h histogram\nh_bucket{le=\"1\"} 5\nh_bucket{le=\"2\"} 4\nh_bucket{le=\"+Inf\"} 6\nh_sum 1\nh_count 7\n";
        assert_eq!(lines(base), [(3, "histogram"), (6, "histogram")]);
        let no_inf = "# TYPE h histogram\nh_bucket{le=\"1\"} 5\nh_sum 1\nh_count 5\n";
        assert_eq!(lines(no_inf), [(2, "histogram")]);
        let no_sum = "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 5\nh_count 5\n";
        assert_eq!(lines(no_sum), [(2, "histogram")]);
    }
}
