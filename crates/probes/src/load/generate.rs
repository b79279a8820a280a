//! The load generator: worker threads, each with its own current-thread runtime and its own
//! connections, recording into its own histograms (nothing shared on the hot path but a few
//! relaxed counters for the progress line).
//!
//! Open loop (a rate): request `i` of the whole run is due at `t0 + i / rate`, computed, never
//! stamped after a timer wake (a starved scheduler would stamp late and hide its own lag).
//! Shard `s` of `n` owns the indexes `i ≡ s (mod n)`; worker `w` of `W` inside it owns every
//! `W`-th of those. A connection that is free takes its worker's next due index, waits for its
//! time if it is early, and sends; when every connection is busy the due requests wait, and
//! their latency is still counted from `t_i` (the coordinated-omission correction, wrk2's way).
//! A request sent more than [`LATE_START`] after its time is a missed start.
//!
//! Closed loop (no rate): each connection sends its next request as soon as the previous answer
//! is read; only service time exists, and no correction is applied.
//!
//! HTTP/2: a connection carries `streams` request loops, each the same as an HTTP/1.1
//! connection's; they share the TCP (or TLS) connection through its group, which opens it once
//! and again only when it has closed. With HTTP/1.1 a group has one loop.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};

use super::result::{ErrorCounts, LoadResult, Opened, new_histogram};
use super::{LoadError, Mode, Spec, Tls};

/// A request sent later than this after its due time counts as a missed start: tokio's timers
/// have a granularity of about a millisecond, so anything under that is pacing noise.
pub const LATE_START: Duration = Duration::from_millis(2);

/// How often a worker hands its recent latencies to the progress line.
const FLUSH_EVERY: Duration = Duration::from_millis(250);

/// What the progress line shows, about once a second.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// Since the first request was due.
    pub elapsed: Duration,
    /// Requests completed (answered, whatever the status) and failed so far.
    pub completed: u64,
    /// Requests that failed (transport error or status ≥ 400) so far.
    pub errors: u64,
    /// Completions per second over the last interval.
    pub rate: f64,
    /// p99 of the latencies recorded so far, in milliseconds (corrected in open loop); `None`
    /// before the first answer.
    pub p99_ms: Option<f64>,
}

/// Counters the workers bump and the progress line reads.
#[derive(Default)]
struct Live {
    completed: AtomicU64,
    errors: AtomicU64,
    recent: Mutex<Option<Histogram<u64>>>,
}

/// Runs the load described by `spec`, blocking the calling thread; `progress` is called about
/// once a second from this thread; `cancel` ends the run early (what was measured is kept).
pub fn generate(
    spec: &Spec,
    cancel: &AtomicBool,
    mut progress: impl FnMut(&Progress),
) -> Result<LoadResult, LoadError> {
    let addr = spec.socket_addr()?;
    let live = Arc::new(Live::default());
    let threads = spec.threads.max(1);
    let started_at = jiff::Timestamp::now();
    // Leave the workers a moment to build their runtimes before the first request is due.
    let t0 = Instant::now() + Duration::from_millis(20);
    let deadline = t0 + spec.duration;
    let cancel_flag = Arc::new(AtomicBool::new(false));
    let results = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|w| {
                let plan = WorkerPlan::new(spec, addr, w, threads, t0, deadline);
                let live = live.clone();
                let stop = cancel_flag.clone();
                std::thread::Builder::new()
                    .name(format!("phasegate-load-{w}"))
                    .spawn_scoped(scope, move || plan.run(&live, &stop))
                    .map_err(|e| LoadError::Thread(e.to_string()))
            })
            .collect::<Result<_, _>>()?;
        let mut last = (Instant::now(), 0u64);
        while handles
            .iter()
            .any(|h: &std::thread::ScopedJoinHandle<_>| !h.is_finished())
        {
            std::thread::sleep(Duration::from_millis(50));
            if cancel.load(Ordering::Relaxed) {
                cancel_flag.store(true, Ordering::Relaxed);
            }
            let now = Instant::now();
            if now.duration_since(last.0) >= Duration::from_secs(1) {
                let completed = live.completed.load(Ordering::Relaxed);
                let p99 = live
                    .recent
                    .lock()
                    .expect("a worker panicking while holding the lock ends the run anyway")
                    .as_ref()
                    .filter(|h| !h.is_empty())
                    .map(|h| micros_to_ms(h.value_at_quantile(0.99)));
                progress(&Progress {
                    elapsed: now.saturating_duration_since(t0),
                    completed,
                    errors: live.errors.load(Ordering::Relaxed),
                    rate: (completed - last.1) as f64 / now.duration_since(last.0).as_secs_f64(),
                    p99_ms: p99,
                });
                last = (now, completed);
            }
        }
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|p| LoadError::Thread(crate::panic_message(&*p)))?
            })
            .collect::<Result<Vec<_>, LoadError>>()
    })?;
    let mut total = LoadResult::empty(spec, started_at);
    let end = results.iter().filter_map(|w| w.last_done).max();
    total.elapsed = end.map_or(Duration::ZERO, |e| e.saturating_duration_since(t0));
    for r in results {
        total.add_worker(r)?;
    }
    Ok(total)
}

pub(super) fn micros_to_ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// One worker's share of the run.
struct WorkerPlan {
    connections: u32,
    /// Request loops on each connection (HTTP/2 streams; 1 with HTTP/1.1).
    streams: u32,
    dialer: Dialer,
    /// Requests this worker may start at most.
    max_requests: u64,
    mode: Mode,
    /// Open loop: the global index of this worker's first request and the stride between its
    /// requests.
    first: u64,
    stride: u64,
    /// Shards of the whole run.
    shards: u32,
    t0: Instant,
    deadline: Instant,
    timeout: Duration,
    template: Template,
}

impl WorkerPlan {
    fn new(
        spec: &Spec,
        addr: std::net::SocketAddr,
        w: u32,
        threads: u32,
        t0: Instant,
        deadline: Instant,
    ) -> WorkerPlan {
        let share = |total: u64| super::share(total, w, threads);
        let shard = spec.shard;
        WorkerPlan {
            connections: u32::try_from(share(u64::from(spec.connections)))
                .expect("a share of a u32"),
            streams: spec.streams.max(1),
            dialer: Dialer {
                addr,
                tls: spec.tls.clone(),
                http2: spec.http2,
            },
            max_requests: share(spec.max_requests),
            mode: spec.mode,
            first: u64::from(shard.index) + u64::from(shard.count) * u64::from(w),
            stride: u64::from(shard.count) * u64::from(threads),
            shards: shard.count,
            t0,
            deadline,
            timeout: spec.timeout,
            template: Template::new(spec),
        }
    }

    fn run(self, live: &Arc<Live>, stop: &Arc<AtomicBool>) -> Result<Worker, LoadError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| LoadError::Thread(format!("cannot start a runtime: {e}")))?;
        let shared = Rc::new(Shared {
            next: Cell::new(0),
            worker: std::cell::RefCell::new(Worker::new()),
        });
        let plan = Rc::new(self);
        rt.block_on(async {
            let local = tokio::task::LocalSet::new();
            for _ in 0..plan.connections {
                let group = Rc::new(Group::default());
                for _ in 0..plan.streams {
                    local.spawn_local(connection(
                        plan.clone(),
                        shared.clone(),
                        group.clone(),
                        live.clone(),
                        stop.clone(),
                    ));
                }
            }
            local.await;
        });
        // Safe to unwrap the Rc: every connection task has ended with the LocalSet.
        let shared = Rc::try_unwrap(shared)
            .map_err(|_| LoadError::Thread("a connection task outlived its worker".into()))?;
        let mut worker = shared.worker.into_inner();
        worker.flush(live);
        Ok(worker)
    }

    /// The due time of this worker's request `j`, in open loop.
    fn due(&self, j: u64, rate: f64) -> Instant {
        let i = self.first + self.stride * j;
        self.t0 + Duration::from_secs_f64(i as f64 / rate)
    }
}

/// What a worker's connections share (one thread, so `Cell`s).
struct Shared {
    next: Cell<u64>,
    worker: std::cell::RefCell<Worker>,
}

/// One worker's measurements.
pub(super) struct Worker {
    pub service: Histogram<u64>,
    pub corrected: Histogram<u64>,
    pub lag: Histogram<u64>,
    pub recent: Histogram<u64>,
    pub last_flush: Instant,
    pub sent: u64,
    pub errors: ErrorCounts,
    pub missed_starts: u64,
    pub last_done: Option<Instant>,
    /// Completed and failed requests not yet added to the shared counters.
    pub unflushed: (u64, u64),
    pub opened: Opened,
    /// Why the first failed connection failed.
    pub first_error: Option<String>,
}

impl Worker {
    fn new() -> Worker {
        Worker {
            service: new_histogram(),
            corrected: new_histogram(),
            lag: new_histogram(),
            recent: new_histogram(),
            last_flush: Instant::now(),
            sent: 0,
            errors: ErrorCounts::default(),
            missed_starts: 0,
            last_done: None,
            unflushed: (0, 0),
            opened: Opened::default(),
            first_error: None,
        }
    }

    /// Hands the counts and latencies since the last flush to the progress line: a few times
    /// a second rather than per request, so that threads do not contend on shared counters.
    fn flush(&mut self, live: &Live) {
        live.completed
            .fetch_add(self.unflushed.0, Ordering::Relaxed);
        live.errors.fetch_add(self.unflushed.1, Ordering::Relaxed);
        self.unflushed = (0, 0);
        let mut recent = live.recent.lock().expect("see generate");
        match recent.as_mut() {
            Some(h) => {
                let _ = h.add(&self.recent);
            }
            None => *recent = Some(self.recent.clone()),
        }
        self.recent.reset();
        self.last_flush = Instant::now();
    }
}

/// The request, prepared once per worker, in the form of each protocol.
struct Template {
    method: hyper::Method,
    http1: Form,
    /// HTTP/2 requests carry the scheme and authority in their pseudo-headers, so their URIs
    /// are absolute and they have no `Host` header; empty unless HTTP/2 was asked for.
    http2: Form,
    body: Bytes,
}

/// The URIs of the weighted rotation and the headers, for one protocol.
struct Form {
    paths: Vec<hyper::Uri>,
    /// Every header of a request, prepared once: cloning the map is cheaper than building it.
    headers: hyper::HeaderMap,
}

impl Template {
    fn new(spec: &Spec) -> Template {
        let mut headers = hyper::HeaderMap::new();
        headers.insert(
            hyper::header::USER_AGENT,
            hyper::header::HeaderValue::from_static(crate::net::USER_AGENT),
        );
        for (k, v) in &spec.headers {
            headers.append(k, v.clone());
        }
        let http2 = Form {
            paths: if spec.http2 {
                let absolute = |p: &hyper::Uri| {
                    format!("{}{p}", spec.origin)
                        .parse()
                        .expect("an origin and a valid path make a valid URI")
                };
                spec.rotation.iter().map(absolute).collect()
            } else {
                Vec::new()
            },
            headers: headers.clone(),
        };
        headers.insert(hyper::header::HOST, spec.host_header.clone());
        Template {
            method: spec.method.clone(),
            http1: Form {
                paths: spec.rotation.clone(),
                headers,
            },
            http2,
            body: spec.body.clone(),
        }
    }

    fn request(&self, i: u64, http2: bool) -> hyper::Request<Full<Bytes>> {
        let form = if http2 { &self.http2 } else { &self.http1 };
        let path =
            &form.paths[usize::try_from(i % form.paths.len() as u64).expect("below a usize")];
        let mut req = hyper::Request::new(Full::new(self.body.clone()));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = path.clone();
        *req.headers_mut() = form.headers.clone();
        req
    }
}

/// An open connection's request side.
enum Sender {
    Http1(http1::SendRequest<Full<Bytes>>),
    Http2(http2::SendRequest<Full<Bytes>>),
}

impl Sender {
    fn is_closed(&self) -> bool {
        match self {
            Sender::Http1(s) => s.is_closed(),
            Sender::Http2(s) => s.is_closed(),
        }
    }

    async fn send(
        &mut self,
        req: hyper::Request<Full<Bytes>>,
    ) -> hyper::Result<hyper::Response<hyper::body::Incoming>> {
        match self {
            Sender::Http1(s) => {
                s.ready().await?;
                s.send_request(req).await
            }
            Sender::Http2(s) => {
                s.ready().await?;
                s.send_request(req).await
            }
        }
    }
}

/// The HTTP/2 connection the request loops of one group share; locked only to open it.
type Group = tokio::sync::Mutex<Option<http2::SendRequest<Full<Bytes>>>>;

/// How connections are opened: TCP, TLS when the target is `https://`, then the HTTP
/// handshake of the protocol asked for or, over TLS, the one ALPN chose.
struct Dialer {
    addr: std::net::SocketAddr,
    tls: Option<Tls>,
    http2: bool,
}

impl Dialer {
    /// A connection for a request loop of `group`: the group's HTTP/2 connection while it is
    /// open, else a new one, and whether it is new (the reason of a failure is returned for
    /// the result).
    async fn open(&self, group: &Group) -> Result<(Sender, bool), String> {
        let mut shared = group.lock().await;
        if let Some(s) = shared.as_ref().filter(|s| !s.is_closed()) {
            return Ok((Sender::Http2(s.clone()), false));
        }
        let sender = self.dial().await?;
        if let Sender::Http2(s) = &sender {
            *shared = Some(s.clone());
        }
        Ok((sender, true))
    }

    async fn dial(&self) -> Result<Sender, String> {
        let stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", self.addr))?;
        // Requests are small and latency-bound: Nagle's algorithm would delay them.
        let _ = stream.set_nodelay(true);
        let Some(tls) = &self.tls else {
            return handshake(stream, self.http2).await;
        };
        let stream = tls
            .connector
            .connect(tls.server_name.clone(), stream)
            .await
            .map_err(|e| {
                format!(
                    "TLS handshake with `{}` failed: {e}",
                    tls.server_name.to_str()
                )
            })?;
        let http2 = stream.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
        handshake(stream, http2).await
    }
}

async fn handshake<S>(stream: S, http2: bool) -> Result<Sender, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(stream);
    if http2 {
        let (send, driver) = http2::handshake(TokioExecutor::new(), io)
            .await
            .map_err(|e| format!("HTTP/2 handshake failed: {e}"))?;
        tokio::task::spawn_local(async move {
            let _ = driver.await;
        });
        Ok(Sender::Http2(send))
    } else {
        let (send, driver) = http1::handshake(io)
            .await
            .map_err(|e| format!("HTTP/1.1 handshake failed: {e}"))?;
        tokio::task::spawn_local(async move {
            let _ = driver.await;
        });
        Ok(Sender::Http1(send))
    }
}

/// How one request ended.
enum Ended {
    Status(u16),
    Connect,
    Timeout,
    Io,
}

/// One request loop: an HTTP/1.1 connection, or one stream of an HTTP/2 connection.
async fn connection(
    plan: Rc<WorkerPlan>,
    shared: Rc<Shared>,
    group: Rc<Group>,
    live: Arc<Live>,
    stop: Arc<AtomicBool>,
) {
    let live = &*live;
    let limit = tokio::time::sleep(plan.timeout);
    tokio::pin!(limit);
    let mut conn: Option<Sender> = None;
    loop {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let j = shared.next.get();
        if j >= plan.max_requests {
            return;
        }
        shared.next.set(j + 1);
        // The due time: computed in open loop; "now" in closed loop.
        let due = match plan.mode {
            Mode::Rate { per_second } => {
                // Indexes are global (every shard's), so the schedule runs at the whole rate.
                let due = plan.due(j, per_second * f64::from(plan.shards));
                if due >= plan.deadline {
                    return;
                }
                tokio::time::sleep_until(due.into()).await;
                Some(due)
            }
            Mode::Closed => None,
        };
        let sent_at = Instant::now();
        if due.is_none() && sent_at >= plan.deadline {
            return;
        }
        let index = plan.first + plan.stride * j;
        // One timer per connection, moved for each request: cheaper than a new one each time.
        limit.as_mut().reset((sent_at + plan.timeout).into());
        let ended = tokio::select! {
            biased;
            e = exchange(&mut conn, &plan, &group, &shared, index) => e,
            () = limit.as_mut() => {
                conn = None;
                Ended::Timeout
            }
        };
        let done = Instant::now();
        let mut w = shared.worker.borrow_mut();
        w.sent += 1;
        w.last_done = Some(done);
        let failed = match ended {
            Ended::Status(s) => {
                let service = micros(done - sent_at);
                w.service.saturating_record(service);
                w.recent.saturating_record(service);
                if let Some(due) = due {
                    let corrected = micros(done.saturating_duration_since(due));
                    w.corrected.saturating_record(corrected);
                    w.recent.saturating_record(corrected);
                }
                w.errors.status(s)
            }
            Ended::Connect => {
                w.errors.connect += 1;
                true
            }
            Ended::Timeout => {
                w.errors.timeout += 1;
                true
            }
            Ended::Io => {
                w.errors.io += 1;
                true
            }
        };
        if let Some(due) = due {
            let lag = sent_at.saturating_duration_since(due);
            w.lag.saturating_record(micros(lag));
            if lag > LATE_START {
                w.missed_starts += 1;
            }
        }
        w.unflushed.0 += 1;
        w.unflushed.1 += u64::from(failed);
        if done.duration_since(w.last_flush) >= FLUSH_EVERY {
            w.flush(live);
        }
        drop(w);
        // A connection hyper has closed (the server said `Connection: close`) is opened again
        // for the next request.
        if conn.as_ref().is_some_and(Sender::is_closed) {
            conn = None;
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// One request and its whole response on `conn`, opening the connection first when needed.
async fn exchange(
    conn: &mut Option<Sender>,
    plan: &WorkerPlan,
    group: &Group,
    shared: &Shared,
    index: u64,
) -> Ended {
    if conn.is_none() {
        let opened = plan.dialer.open(group).await;
        let mut w = shared.worker.borrow_mut();
        match opened {
            Ok((sender, new)) => {
                // Counted once per connection, by the loop that opened it.
                match &sender {
                    Sender::Http1(_) => w.opened.http1 += u64::from(new),
                    Sender::Http2(_) => w.opened.http2 += u64::from(new),
                }
                *conn = Some(sender);
            }
            Err(reason) => {
                w.first_error.get_or_insert(reason);
                return Ended::Connect;
            }
        }
    }
    let send = conn.as_mut().expect("opened above");
    let http2 = matches!(send, Sender::Http2(_));
    let resp = match send.send(plan.template.request(index, http2)).await {
        Ok(r) => r,
        Err(_) => {
            *conn = None;
            return Ended::Io;
        }
    };
    let status = resp.status().as_u16();
    let mut body = resp.into_body();
    // The body is read to its end (a response is complete only then) and dropped frame by
    // frame, so memory does not grow with its size.
    while let Some(frame) = body.frame().await {
        if frame.is_err() {
            *conn = None;
            return Ended::Io;
        }
    }
    Ended::Status(status)
}
