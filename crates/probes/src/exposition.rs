//! A strict reader of the Prometheus text exposition format (version 0.0.4).
//!
//! Strict where a scraper would drop data or a dashboard would lie: metric and label names,
//! label value escapes (`\\`, `\"`, `\n` only), numbers, `# TYPE` before a family's samples and
//! at most once, a family's samples in one group, no duplicate series, and histograms whose
//! buckets are cumulative with a `+Inf` bucket equal to `_count`. It keeps reading after an
//! error so that every problem is reported with its line number.

use std::collections::HashSet;

/// Label pairs in the order written.
type Labels = Vec<(String, String)>;

/// The type a `# TYPE` line declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
}

impl Kind {
    pub fn parse(text: &str) -> Option<Kind> {
        Some(match text {
            "counter" => Kind::Counter,
            "gauge" => Kind::Gauge,
            "histogram" => Kind::Histogram,
            "summary" => Kind::Summary,
            "untyped" => Kind::Untyped,
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
        }
    }

    /// Sample-name suffixes that belong to a family of this kind.
    fn suffixes(self) -> &'static [&'static str] {
        match self {
            Kind::Histogram => &["_bucket", "_sum", "_count"],
            Kind::Summary => &["", "_sum", "_count"],
            // Counters named without `_total` in TYPE are exposed with it (OpenMetrics style).
            Kind::Counter => &["", "_total"],
            Kind::Gauge | Kind::Untyped => &[""],
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
#[derive(Debug, Default)]
pub(crate) struct Exposition {
    pub families: Vec<Family>,
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

/// Parses `text`, returning what could be read and every problem found.
pub(crate) fn parse(text: &str) -> (Exposition, Vec<Problem>) {
    let mut reader = Reader::default();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            continue;
        }
        match trimmed.strip_prefix('#') {
            Some(rest) => reader.comment(line, rest),
            None => reader.sample(line, trimmed),
        }
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
#[derive(Default)]
struct Reader {
    exp: Exposition,
    problems: Vec<Problem>,
    /// Index of the family whose samples are being read; a family's samples must be contiguous.
    current: Option<usize>,
    /// Every series read (name and sorted labels), so that a repeated one is caught.
    series: HashSet<(String, Labels)>,
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

    /// A `#` line: `# HELP` and `# TYPE` are read, anything else is a plain comment.
    fn comment(&mut self, line: usize, rest: &str) {
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
        match Kind::parse(arg) {
            None => problem(format!(
                "expected counter, gauge, histogram, summary or untyped after # TYPE {name}, saw {arg:?}"
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
        let sample = match parse_sample(text, line) {
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

/// The family a sample name belongs to: declared families first, by their kind's suffixes.
fn family_of(exp: &Exposition, name: &str) -> Option<usize> {
    exp.families.iter().position(|f| {
        f.kind
            .suffixes()
            .iter()
            .any(|suffix| name.strip_suffix(suffix) == Some(f.name.as_str()))
    })
}

fn parse_sample(line: &str, number: usize) -> Result<Sample, String> {
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
    let mut fields = rest.split_whitespace();
    let value_text = fields.next().unwrap_or_default();
    let value = parse_value(value_text)
        .ok_or_else(|| format!("expected a number for {name}, saw {value_text:?}"))?;
    if let Some(ts) = fields.next()
        && ts.parse::<i64>().is_err()
    {
        return Err(format!(
            "expected an integer timestamp after the value of {name}, saw {ts:?}"
        ));
    }
    if let Some(extra) = fields.next() {
        return Err(format!(
            "expected the end of the line after {name}'s value, saw {extra:?}"
        ));
    }
    Ok(Sample {
        name: name.to_string(),
        labels,
        value,
        line: number,
    })
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
        let (exp, problems) = parse(GOOD);
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
        parse(text)
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
