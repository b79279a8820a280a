//! Services: processes the gates need running. Started on demand by the first gate that
//! needs one, shared by every gate of the run, stopped when the run ends (also on failure,
//! timeout and interruption), with the same process-tree guarantees as gates.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use phasegate_model::{Ready, Service, ServiceId};
use phasegate_probes::ChildEnv;
use tokio::sync::{Mutex, OnceCell};

use crate::capture::Pending;
use crate::tree;

/// How many lines of a failing service's output go into the gate's reason.
const TAIL_LINES: usize = 15;

/// A service that is up.
#[derive(Debug, Clone)]
pub struct Running {
    /// Its base URL, `{port}` replaced.
    pub url: String,
    /// The loopback port picked for it.
    pub port: u16,
    leader: i32,
    marker: String,
    log: PathBuf,
    stop: Option<String>,
    env: ChildEnv,
    cwd: PathBuf,
    // The capture of its output into its log, awaited when it stops so the log is whole.
    output: Arc<Mutex<Option<Pending>>>,
    // Kept until the service is stopped: tokio may still wait for the leader.
    _spawned: Arc<tree::Spawned>,
    child: Arc<Mutex<tokio::process::Child>>,
}

/// One service's start, shared by the gates that need it: done once, success or failure.
type Start = OnceCell<Result<Running, String>>;

/// The services of one run.
pub struct Services {
    defs: BTreeMap<ServiceId, Service>,
    root: PathBuf,
    log_dir: PathBuf,
    run_id: String,
    env: ChildEnv,
    secrets: Vec<String>,
    grace: Duration,
    started: Mutex<BTreeMap<ServiceId, Arc<Start>>>,
}

impl Services {
    /// Nothing is started until a gate asks. Services run with `env` (plus their own) and
    /// `secrets` are redacted from their logs.
    pub fn new(
        defs: BTreeMap<ServiceId, Service>,
        root: PathBuf,
        log_dir: PathBuf,
        run_id: String,
        env: ChildEnv,
        secrets: Vec<String>,
        grace: Duration,
    ) -> Self {
        Services {
            defs,
            root,
            log_dir,
            run_id,
            env,
            secrets,
            grace,
            started: Mutex::new(BTreeMap::new()),
        }
    }

    /// The running service `id`, starting it when this is the first gate that needs it;
    /// every later caller gets the same instance, or the same error.
    pub async fn ensure(&self, id: &ServiceId) -> Result<Running, String> {
        let cell = self
            .started
            .lock()
            .await
            .entry(id.clone())
            .or_default()
            .clone();
        cell.get_or_init(|| self.start(id)).await.clone()
    }

    async fn start(&self, id: &ServiceId) -> Result<Running, String> {
        let def = self
            .defs
            .get(id)
            .ok_or_else(|| format!("no service `{id}` in the roadmap"))?;
        let port = free_port()
            .map_err(|e| format!("cannot find a free loopback port for service `{id}`: {e}"))?;
        let fill = |s: &str| s.replace("{port}", &port.to_string());
        let mut env = self.env.clone();
        env.set
            .extend(def.env.iter().map(|(k, v)| (k.clone(), fill(v))));
        env.set.insert("PORT".into(), port.to_string());
        let cwd = def
            .cwd
            .as_ref()
            .map_or_else(|| self.root.clone(), |c| self.root.join(c));
        let log = self.log_dir.join(format!("service-{id}.log"));
        let marker = format!("{}/service/{id}", self.run_id);
        let (child, spawned, output) = crate::process::spawn_sh(&crate::process::Sh {
            script: &fill(&def.run),
            cwd: &cwd,
            marker: &marker,
            env: &env,
            log: &log,
            secrets: self.secrets.clone(),
        })
        .map_err(|e| format!("cannot start service `{id}`: {e}"))?;
        let running = Running {
            url: fill(&def.url),
            port,
            leader: spawned.pid(),
            marker,
            log,
            stop: def.stop.as_deref().map(fill),
            env,
            cwd,
            output: Arc::new(Mutex::new(Some(output))),
            _spawned: Arc::new(spawned),
            child: Arc::new(Mutex::new(child)),
        };
        let ready = def.ready.as_ref().map(|r| match r {
            Ready::Http(u) => Ready::Http(fill(u)),
            Ready::Tcp(p) => Ready::Tcp(fill(p)),
        });
        match wait_ready(&running, ready.as_ref(), def.ready_within).await {
            Ok(()) => Ok(running),
            Err(why) => {
                stop(&running, self.grace).await;
                Err(format!("service {id} {why}{}", tail(&running.log)))
            }
        }
    }

    /// Stops every service that was started, in reverse order of id.
    pub async fn stop_all(&self) {
        let started = std::mem::take(&mut *self.started.lock().await);
        for (_, cell) in started.into_iter().rev() {
            if let Some(Ok(running)) = cell.get() {
                stop(running, self.grace).await;
            }
        }
    }
}

/// A port the kernel says is free now. Another process may take it before the service
/// binds it; services that accept `--port 0` and report their port would avoid that, but
/// the `{port}` contract is what existing services support.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()?
        .port())
}

async fn wait_ready(
    running: &Running,
    ready: Option<&Ready>,
    within: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + within;
    // reqwest is built without a default crypto provider and panics without one; the
    // embedding program may not have installed it (phasegate's binary does), and another
    // part of it may have already, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .no_proxy()
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    loop {
        if let Ok(Some(status)) = running.child.lock().await.try_wait() {
            return Err(format!("exited ({status}) before it was ready"));
        }
        let ok = match ready {
            None => true,
            Some(Ready::Http(url)) => client
                .get(url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success()),
            Some(Ready::Tcp(port)) => match port.parse::<u16>() {
                Ok(p) => tokio::net::TcpStream::connect(("127.0.0.1", p))
                    .await
                    .is_ok(),
                Err(_) => return Err(format!("has an invalid ready port `{port}`")),
            },
        };
        if ok {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "not ready within {}",
                humantime::format_duration(within)
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs the service's stop command (bounded by the grace period), then ends whatever is
/// left of its process tree.
async fn stop(running: &Running, grace: Duration) {
    if let Some(cmd) = &running.stop {
        let mut c = tokio::process::Command::new("sh");
        running.env.apply(&mut c);
        c.arg("-c")
            .arg(cmd)
            .current_dir(&running.cwd)
            // The service's marker: a stop command still running after its grace period is
            // ended with the service's tree below.
            .env(tree::MARKER_VAR, &running.marker)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Registered while it is waited for, so that the reaper of orphans leaves it alone.
        if let Ok((mut child, _spawned)) = tree::spawn(&mut c) {
            let _ = tokio::time::timeout(grace, child.wait()).await;
        }
        let mut leader = running.child.lock().await;
        let _ = tokio::time::timeout(grace, leader.wait()).await;
    }
    tree::terminate(running.leader, &running.marker, grace).await;
    let _ = running.child.lock().await.wait().await;
    tree::reap_orphans();
    // Its tree is gone, so the pipe is closing; the bound covers a process outside it
    // holding the pipe open, which must not hang the run.
    if let Some(output) = running.output.lock().await.take() {
        let _ = tokio::time::timeout(grace + Duration::from_secs(2), output).await;
    }
}

/// The last lines of a service's log, for the reason of the gates that needed it.
fn tail(log: &std::path::Path) -> String {
    let text = std::fs::read(log)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    if lines.is_empty() {
        return "; it printed nothing".to_owned();
    }
    let last = &lines[lines.len().saturating_sub(TAIL_LINES)..];
    format!("; its last output:\n{}", last.join("\n"))
}
