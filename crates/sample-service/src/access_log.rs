//! The access log: one line per request, `time method target status duration`.
//!
//! The target is the path only: query strings carry secrets (download tokens travel as
//! `?token=`), and a log is read by far more people and tools than the service's users. The
//! `token-in-url-logged` flaw writes the full URI, as a default framework logger does.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::config::Config;
use crate::error::Error;
use crate::flaw::Flaw;

/// An open access log.
pub(crate) struct AccessLog {
    file: Mutex<File>,
    full_uri: bool,
}

impl AccessLog {
    /// Opens `config.access_log` for appending, when one is configured.
    pub(crate) fn open(config: &Config) -> Result<Option<Arc<AccessLog>>, Error> {
        let Some(path) = &config.access_log else {
            return Ok(None);
        };
        let file = open_append(path).map_err(|source| Error::AccessLog {
            path: path.clone(),
            source,
        })?;
        Ok(Some(Arc::new(AccessLog {
            file: Mutex::new(file),
            full_uri: config.has(Flaw::TokenInUrlLogged),
        })))
    }

    fn write(&self, line: &str) {
        // One unbuffered write per line on an O_APPEND file: lines from concurrent requests
        // never interleave, and a reader sees each line as soon as its response is sent. A
        // failed write must not fail the request it describes.
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = file.write_all(line.as_bytes());
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

/// Logs every request once its response is ready; passes through when there is no log.
pub(crate) async fn middleware(
    State(log): State<Option<Arc<AccessLog>>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(log) = log else {
        return next.run(req).await;
    };
    let started = Instant::now();
    let method = req.method().clone();
    let target = if log.full_uri {
        req.uri()
            .path_and_query()
            .map_or_else(|| req.uri().path().to_owned(), ToString::to_string)
    } else {
        req.uri().path().to_owned()
    };
    let response = next.run(req).await;
    log.write(&format!(
        "{} {method} {target} {} {:.1}ms\n",
        jiff::Timestamp::now(),
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    ));
    response
}
