//! Refreshing an OSV mirror: each ecosystem's `all.zip`, as OSV publishes it, downloaded
//! into `<db>/<ecosystem>/all.zip` and swapped in only once complete and readable.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where OSV publishes every ecosystem's advisories: `<OSV_BUCKET>/<ecosystem>/all.zip`
/// (the `gs://osv-vulnerabilities` bucket, served over HTTPS).
pub const OSV_BUCKET: &str = "https://osv-vulnerabilities.storage.googleapis.com";

/// The ecosystems whose lockfiles the `advisories` probe reads, as OSV names them.
pub const ECOSYSTEMS: &[&str] = &["crates.io", "npm", "PyPI", "Go"];

/// Why the mirror could not be refreshed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MirrorError {
    /// The download failed (no network, refused, a status other than 200).
    #[error("cannot download `{url}`: {reason}")]
    Download { url: String, reason: String },
    /// What was downloaded is not a zip archive.
    #[error("`{url}` is not a zip archive of OSV advisories: {reason}")]
    NotZip { url: String, reason: String },
    /// The mirror could not be written.
    #[error("cannot write `{}`: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// One ecosystem refreshed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Updated {
    pub ecosystem: String,
    pub path: PathBuf,
    pub bytes: u64,
    /// JSON files in the archive.
    pub advisories: usize,
}

/// Downloads `<source>/<ecosystem>/all.zip` for each ecosystem into `db`, stopping at the
/// first failure (the archives already swapped in stay: each is complete on its own).
pub async fn update_mirror(
    db: &Path,
    ecosystems: &[String],
    source: &str,
    timeout: Duration,
) -> Result<Vec<Updated>, MirrorError> {
    // reqwest is built without a default crypto provider (see `crate::run_until`).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        // Libraries do not read the environment behind the caller's back (HTTP_PROXY).
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(30)))
        .build()
        .map_err(|e| MirrorError::Download {
            url: source.to_owned(),
            reason: crate::net::chain(&e),
        })?;
    let mut done = Vec::new();
    for eco in ecosystems {
        let url = format!("{}/{eco}/all.zip", source.trim_end_matches('/'));
        let failed = |reason: String| MirrorError::Download {
            url: url.clone(),
            reason,
        };
        let response = client
            .get(&url)
            .send()
            .await
            .map_err(|e| failed(crate::net::chain(&e)))?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(failed(format!("status {}", response.status())));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| failed(crate::net::chain(&e)))?;
        let advisories = zip::ZipArchive::new(std::io::Cursor::new(&bytes[..]))
            .map(|a| {
                a.file_names()
                    .filter(|n| n.as_ref().is_ok_and(|n| n.ends_with(".json")))
                    .count()
            })
            .map_err(|e| MirrorError::NotZip {
                url: url.clone(),
                reason: e.to_string(),
            })?;
        let dir = db.join(eco);
        let write = |path: &Path| {
            let path = path.to_owned();
            move |source| MirrorError::Write { path, source }
        };
        std::fs::create_dir_all(&dir).map_err(write(&dir))?;
        let target = dir.join("all.zip");
        // Written beside the old archive and renamed over it: a reader never sees half.
        let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(write(&dir))?;
        tmp.write_all(&bytes).map_err(write(tmp.path()))?;
        tmp.persist(&target).map_err(|e| MirrorError::Write {
            path: target.clone(),
            source: e.error,
        })?;
        done.push(Updated {
            ecosystem: eco.clone(),
            path: target,
            bytes: bytes.len() as u64,
            advisories,
        });
    }
    Ok(done)
}
