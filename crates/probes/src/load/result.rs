//! What a load run measured, its file format (JSON with the histograms as base64 of the HDR V2
//! + DEFLATE encoding, so that runs can be compared and merged exactly), and the merge.

use std::time::Duration;

use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

use super::generate::{Worker, micros_to_ms};
use super::{LoadError, Mode, Spec};

/// Version of the load result file; bumped on an incompatible change. Version 2 added the
/// transport (`tls`, `http2`, `opened`, `protocol`) and `first_error`; version 1 files, plain
/// HTTP/1.1 by construction, are still read.
pub const FORMAT_VERSION: u32 = 2;

/// Latencies are recorded in microseconds, from 1 µs to one hour, with 3 significant digits
/// (at most 0.1 % quantization at any magnitude).
const HIGHEST_US: u64 = 3_600_000_000;

pub(super) fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIGHEST_US, 3).expect("constant bounds are valid")
}

/// Failed requests by kind. A request failed when it got no response (connect, timeout, I/O)
/// or a status of 400 or more.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCounts {
    pub connect: u64,
    pub timeout: u64,
    /// The connection broke while sending or reading (reset, malformed response).
    pub io: u64,
    pub status_2xx: u64,
    pub status_3xx: u64,
    pub status_4xx: u64,
    pub status_5xx: u64,
}

impl ErrorCounts {
    /// Counts a response with `status`; true when it is a failure.
    pub(super) fn status(&mut self, status: u16) -> bool {
        match status {
            0..=299 => self.status_2xx += 1,
            300..=399 => self.status_3xx += 1,
            400..=499 => self.status_4xx += 1,
            _ => self.status_5xx += 1,
        }
        status >= 400
    }

    /// Requests that failed, of every kind.
    pub fn failed(&self) -> u64 {
        self.connect + self.timeout + self.io + self.status_4xx + self.status_5xx
    }

    fn add(&mut self, o: &ErrorCounts) {
        self.connect += o.connect;
        self.timeout += o.timeout;
        self.io += o.io;
        self.status_2xx += o.status_2xx;
        self.status_3xx += o.status_3xx;
        self.status_4xx += o.status_4xx;
        self.status_5xx += o.status_5xx;
    }
}

/// Connections opened, by the protocol they spoke (what ALPN chose over TLS).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opened {
    pub http1: u64,
    pub http2: u64,
}

impl Opened {
    fn add(&mut self, o: &Opened) {
        self.http1 += o.http1;
        self.http2 += o.http2;
    }
}

/// One load run (or the merge of several shards).
#[derive(Debug, Clone, PartialEq)]
pub struct LoadResult {
    /// When the run started (the earliest shard's start after a merge).
    pub started_at: jiff::Timestamp,
    /// The target URL.
    pub target: String,
    /// The requested rate (all shards together), `None` in closed loop.
    pub rate: Option<f64>,
    /// Connections (all shards together).
    pub connections: u32,
    /// Shards this result holds, and of how many.
    pub shards: Vec<u32>,
    pub shard_count: u32,
    /// From the first request due to the last answer (the longest shard's, after a merge).
    pub elapsed: Duration,
    /// Requests started.
    pub sent: u64,
    pub errors: ErrorCounts,
    /// Open loop: requests sent later than [`super::LATE_START`] after their due time.
    pub missed_starts: u64,
    /// Service time: from the actual send to the end of the response, in µs.
    pub service: Histogram<u64>,
    /// Open loop only: from the due time to the end of the response (corrected for
    /// coordinated omission), in µs.
    pub corrected: Option<Histogram<u64>>,
    /// Open loop only: how late each request was sent after its due time, in µs.
    pub lag: Option<Histogram<u64>>,
    /// The target is `https://`.
    pub tls: bool,
    /// HTTP/2 was asked for.
    pub http2: bool,
    /// Connections opened, by the protocol they spoke.
    pub opened: Opened,
    /// Why the first connection that failed did (a refused connect, a certificate the roots
    /// do not vouch for): the reason behind `errors.connect`.
    pub first_error: Option<String>,
}

/// One latency figure of the summary.
pub const PERCENTILES: &[(&str, f64)] = &[
    ("p50", 50.0),
    ("p90", 90.0),
    ("p95", 95.0),
    ("p99", 99.0),
    ("p99.9", 99.9),
];

impl LoadResult {
    pub(super) fn empty(spec: &Spec, started_at: jiff::Timestamp) -> LoadResult {
        let open = matches!(spec.mode, Mode::Rate { .. });
        LoadResult {
            started_at,
            target: spec.target.clone(),
            rate: match spec.mode {
                Mode::Rate { per_second } => Some(per_second * f64::from(spec.shard.count)),
                Mode::Closed => None,
            },
            connections: spec.connections,
            shards: vec![spec.shard.index],
            shard_count: spec.shard.count,
            elapsed: Duration::ZERO,
            sent: 0,
            errors: ErrorCounts::default(),
            missed_starts: 0,
            service: new_histogram(),
            corrected: open.then(new_histogram),
            lag: open.then(new_histogram),
            tls: spec.is_tls(),
            http2: spec.http2,
            opened: Opened::default(),
            first_error: None,
        }
    }

    pub(super) fn add_worker(&mut self, w: Worker) -> Result<(), LoadError> {
        self.sent += w.sent;
        self.errors.add(&w.errors);
        self.missed_starts += w.missed_starts;
        self.opened.add(&w.opened);
        if self.first_error.is_none() {
            self.first_error = w.first_error;
        }
        self.service.add(&w.service).map_err(merge_error)?;
        if let Some(c) = &mut self.corrected {
            c.add(&w.corrected).map_err(merge_error)?;
        }
        if let Some(l) = &mut self.lag {
            l.add(&w.lag).map_err(merge_error)?;
        }
        Ok(())
    }

    /// The protocol the connections spoke: `h2`, `http/1.1`, both (`h2+http/1.1`, shards or
    /// connections that negotiated differently), or `None` when none opened.
    pub fn protocol(&self) -> Option<&'static str> {
        match (self.opened.http2 > 0, self.opened.http1 > 0) {
            (true, false) => Some("h2"),
            (false, true) => Some("http/1.1"),
            (true, true) => Some("h2+http/1.1"),
            (false, false) => None,
        }
    }

    /// Whether open-loop latencies (corrected for coordinated omission) exist.
    pub fn is_open_loop(&self) -> bool {
        self.corrected.is_some()
    }

    /// The latency thresholds judge: response time from the due time in open loop, service
    /// time in closed loop.
    pub fn judged_latency(&self) -> &Histogram<u64> {
        self.corrected.as_ref().unwrap_or(&self.service)
    }

    /// Requests answered (whatever the status).
    pub fn answered(&self) -> u64 {
        self.service.len()
    }

    /// Requests per second over the run.
    pub fn rps(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.sent as f64 / secs
        } else {
            0.0
        }
    }

    /// Failed requests over started ones; `None` when nothing was started.
    pub fn error_rate(&self) -> Option<f64> {
        (self.sent > 0).then(|| self.errors.failed() as f64 / self.sent as f64)
    }

    /// The percentile `p` (0 to 100) of `h`, in milliseconds; `None` when it is empty.
    pub fn percentile_ms(h: &Histogram<u64>, p: f64) -> Option<f64> {
        (!h.is_empty()).then(|| micros_to_ms(h.value_at_percentile(p)))
    }

    /// The measurements a gate records: rps, error rate, answered, missed starts, and each
    /// percentile of service time (`service_p99_ms`) and, in open loop, of corrected latency
    /// (`latency_p99_ms`).
    pub fn measurements(&self) -> Vec<(String, f64)> {
        let mut m = vec![
            ("rps".to_owned(), self.rps()),
            ("answered".to_owned(), self.answered() as f64),
            ("failed".to_owned(), self.errors.failed() as f64),
            ("error_rate".to_owned(), self.error_rate().unwrap_or(0.0)),
        ];
        m.push(("connections_http1".to_owned(), self.opened.http1 as f64));
        m.push(("connections_http2".to_owned(), self.opened.http2 as f64));
        if let Some(rate) = self.rate {
            m.push(("target_rps".to_owned(), rate));
            m.push(("missed_starts".to_owned(), self.missed_starts as f64));
        }
        let mut hist = |prefix: &str, h: &Histogram<u64>| {
            for (name, p) in PERCENTILES {
                if let Some(v) = Self::percentile_ms(h, *p) {
                    m.push((format!("{prefix}_{name}_ms"), v));
                }
            }
            if !h.is_empty() {
                m.push((format!("{prefix}_max_ms"), micros_to_ms(h.max())));
            }
        };
        hist("service", &self.service);
        if let Some(c) = &self.corrected {
            hist("latency", c);
        }
        if let Some(l) = &self.lag {
            hist("lag", l);
        }
        m
    }

    /// The JSON file of this result (the format `phasegate load --save` writes and `merge`,
    /// `baseline` and the gate's evidence use).
    pub fn to_json(&self) -> Result<String, LoadError> {
        let file = File {
            version: FORMAT_VERSION,
            started_at: self.started_at,
            target: self.target.clone(),
            mode: if self.is_open_loop() {
                "rate"
            } else {
                "closed"
            }
            .to_owned(),
            rate: self.rate,
            connections: self.connections,
            shards: self.shards.clone(),
            shard_count: self.shard_count,
            elapsed_ms: self.elapsed.as_secs_f64() * 1000.0,
            sent: self.sent,
            answered: self.answered(),
            rps: self.rps(),
            errors: self.errors,
            missed_starts: self.missed_starts,
            tls: self.tls,
            http2: self.http2,
            opened: self.opened,
            protocol: self.protocol().map(str::to_owned),
            first_error: self.first_error.clone(),
            summary: self
                .measurements()
                .into_iter()
                .collect::<std::collections::BTreeMap<_, _>>(),
            histograms: Histograms {
                unit: "us".to_owned(),
                service: encode(&self.service)?,
                corrected: self.corrected.as_ref().map(encode).transpose()?,
                lag: self.lag.as_ref().map(encode).transpose()?,
            },
        };
        serde_json::to_string_pretty(&file).map_err(|e| LoadError::Format(e.to_string()))
    }

    /// Reads a result file back.
    pub fn from_json(text: &str) -> Result<LoadResult, LoadError> {
        let file: File =
            serde_json::from_str(text).map_err(|e| LoadError::Format(e.to_string()))?;
        if !(1..=FORMAT_VERSION).contains(&file.version) {
            return Err(LoadError::Format(format!(
                "version {} of the load result format, expected {FORMAT_VERSION}",
                file.version
            )));
        }
        Ok(LoadResult {
            started_at: file.started_at,
            target: file.target,
            rate: file.rate,
            connections: file.connections,
            shards: file.shards,
            shard_count: file.shard_count,
            elapsed: Duration::from_secs_f64(file.elapsed_ms.max(0.0) / 1000.0),
            sent: file.sent,
            errors: file.errors,
            missed_starts: file.missed_starts,
            service: decode(&file.histograms.service)?,
            corrected: file
                .histograms
                .corrected
                .as_deref()
                .map(decode)
                .transpose()?,
            lag: file.histograms.lag.as_deref().map(decode).transpose()?,
            tls: file.tls,
            http2: file.http2,
            opened: file.opened,
            first_error: file.first_error,
        })
    }

    /// Adds the shard `other` to this one: histograms exactly (bucket by bucket), counts
    /// summed, the elapsed time the longest. The shards must come from one plan (same target,
    /// same shard count, same mode) and be distinct.
    pub fn merge(&mut self, other: &LoadResult) -> Result<(), LoadError> {
        if other.target != self.target
            || other.shard_count != self.shard_count
            || other.is_open_loop() != self.is_open_loop()
        {
            return Err(LoadError::Merge(format!(
                "shards of different runs: {} ({} shards, {}) and {} ({} shards, {})",
                self.target,
                self.shard_count,
                if self.is_open_loop() {
                    "rate"
                } else {
                    "closed"
                },
                other.target,
                other.shard_count,
                if other.is_open_loop() {
                    "rate"
                } else {
                    "closed"
                },
            )));
        }
        if let Some(s) = other.shards.iter().find(|s| self.shards.contains(s)) {
            return Err(LoadError::Merge(format!("shard {s} given twice")));
        }
        self.shards.extend(&other.shards);
        self.shards.sort_unstable();
        self.started_at = self.started_at.min(other.started_at);
        self.elapsed = self.elapsed.max(other.elapsed);
        self.sent += other.sent;
        self.errors.add(&other.errors);
        self.missed_starts += other.missed_starts;
        self.opened.add(&other.opened);
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
        // Shards split the connections of closed loop; open loop splits the rate, which
        // each shard already reports whole.
        if !self.is_open_loop() {
            self.connections += other.connections;
        }
        self.service.add(&other.service).map_err(merge_error)?;
        for (mine, theirs) in [
            (&mut self.corrected, &other.corrected),
            (&mut self.lag, &other.lag),
        ] {
            if let (Some(m), Some(t)) = (mine, theirs) {
                m.add(t).map_err(merge_error)?;
            }
        }
        Ok(())
    }
}

fn merge_error(e: hdrhistogram::AdditionError) -> LoadError {
    LoadError::Merge(format!("histograms do not add up: {e:?}"))
}

fn encode(h: &Histogram<u64>) -> Result<String, LoadError> {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut bytes)
        .map_err(|e| LoadError::Format(format!("cannot encode a histogram: {e:?}")))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn decode(text: &str) -> Result<Histogram<u64>, LoadError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| LoadError::Format(format!("a histogram is not base64: {e}")))?;
    let h: Histogram<u64> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| LoadError::Format(format!("a histogram does not decode: {e:?}")))?;
    // Re-home it in the standard bounds so that any two results add exactly.
    let mut out = new_histogram();
    out.add(&h).map_err(merge_error)?;
    Ok(out)
}

/// The file layout (see docs/load.md).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    version: u32,
    started_at: jiff::Timestamp,
    target: String,
    mode: String,
    rate: Option<f64>,
    connections: u32,
    shards: Vec<u32>,
    shard_count: u32,
    elapsed_ms: f64,
    sent: u64,
    /// Derived (kept for readers without an HDR decoder).
    answered: u64,
    rps: f64,
    errors: ErrorCounts,
    missed_starts: u64,
    // Version 2; a version 1 file was plain HTTP/1.1 and did not count connections.
    #[serde(default)]
    tls: bool,
    #[serde(default)]
    http2: bool,
    #[serde(default)]
    opened: Opened,
    /// Derived from `opened` (for readers).
    #[serde(default)]
    protocol: Option<String>,
    #[serde(default)]
    first_error: Option<String>,
    summary: std::collections::BTreeMap<String, f64>,
    histograms: Histograms,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Histograms {
    unit: String,
    service: String,
    corrected: Option<String>,
    lag: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(values: &[u64], shard: u32) -> LoadResult {
        let mut h = new_histogram();
        for v in values {
            h.record(*v).unwrap();
        }
        LoadResult {
            started_at: jiff::Timestamp::UNIX_EPOCH,
            target: "http://127.0.0.1:1/".into(),
            rate: Some(100.0),
            connections: 2,
            shards: vec![shard],
            shard_count: 3,
            elapsed: Duration::from_secs(1),
            sent: values.len() as u64,
            errors: ErrorCounts::default(),
            missed_starts: 0,
            service: h.clone(),
            corrected: Some(h.clone()),
            lag: Some(h),
            tls: false,
            http2: true,
            opened: Opened { http1: 0, http2: 2 },
            first_error: None,
        }
    }

    #[test]
    fn shard_merge_equals_one_histogram_of_the_same_values() {
        // Values spread over five decades, split round-robin as shards split the schedule.
        let values: Vec<u64> = (0..30_000u64).map(|i| 1 + (i * 7919) % 2_000_000).collect();
        let shards: Vec<Vec<u64>> = (0..3)
            .map(|s| values.iter().skip(s).step_by(3).copied().collect())
            .collect();
        let mut merged = result(&shards[0], 0);
        for (s, vals) in shards.iter().enumerate().skip(1) {
            // Through the file format, as `phasegate load merge` reads shards.
            let file = result(vals, s as u32).to_json().unwrap();
            merged
                .merge(&LoadResult::from_json(&file).unwrap())
                .unwrap();
        }
        let single = result(&values, 0);
        assert_eq!(merged.service, single.service);
        assert_eq!(merged.corrected, single.corrected);
        for (_, p) in PERCENTILES {
            assert_eq!(
                merged.service.value_at_percentile(*p),
                single.service.value_at_percentile(*p)
            );
        }
        assert_eq!(merged.sent, 30_000);
        assert_eq!(merged.shards, vec![0, 1, 2]);
        // A shard given twice is refused rather than counted twice.
        assert!(merged.merge(&result(&shards[1], 1)).is_err());
    }

    #[test]
    fn the_file_round_trips_and_a_foreign_version_is_refused() {
        let r = result(&[5, 50, 500, 5_000_000], 1);
        let back = LoadResult::from_json(&r.to_json().unwrap()).unwrap();
        assert_eq!(back, r);
        let other = r
            .to_json()
            .unwrap()
            .replace("\"version\": 2", "\"version\": 9");
        assert!(LoadResult::from_json(&other).is_err());
    }

    #[test]
    fn a_version_1_file_reads_as_plain_http1_with_no_connection_counts() {
        let mut v: serde_json::Value =
            serde_json::from_str(&result(&[5, 50], 0).to_json().unwrap()).unwrap();
        let file = v.as_object_mut().unwrap();
        for added in ["tls", "http2", "opened", "protocol", "first_error"] {
            assert!(file.remove(added).is_some(), "{added} is written");
        }
        file.insert("version".into(), 1.into());
        let back = LoadResult::from_json(&v.to_string()).unwrap();
        assert_eq!((back.tls, back.http2), (false, false));
        assert_eq!(back.opened, Opened::default());
        assert_eq!(back.protocol(), None);
        assert_eq!(back.sent, 2);
    }
}
