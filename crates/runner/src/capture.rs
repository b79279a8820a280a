//! Bounded capture of a gate's output: everything streams to a log file and a SHA-256,
//! only a head and a tail stay in memory, and secret values are replaced before any byte
//! is stored.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;
use std::process::Stdio;

use aho_corasick::AhoCorasick;
use sha2::{Digest, Sha256};

/// What replaces a secret value.
pub const REDACTED: &str = "[REDACTED]";

/// Bytes of the beginning and of the end of the output kept for the excerpt.
const HEAD_BYTES: usize = 8 * 1024;
const TAIL_BYTES: usize = 8 * 1024;

/// The captured output of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// SHA-256 (hex) of the redacted output, as written to the log.
    pub sha256: String,
    /// Its length.
    pub bytes: u64,
    /// Head and tail, with a marker where the middle was left out.
    pub excerpt: String,
    /// Whether the middle was left out.
    pub truncated: bool,
}

/// The capture of a child's output, delivered when the pipe closes: what [`capture`]
/// returned, or why it failed.
pub type Pending = tokio::sync::oneshot::Receiver<Result<Captured, String>>;

/// Creates the log `log` and a pipe whose read end is captured into it (redacting `secrets`)
/// on a thread of its own; returns the write end twice, for a child's stdout and stderr.
/// The caller must drop its copies once the child is spawned, or the capture never ends.
pub fn start(log: &Path, secrets: Vec<String>) -> Result<(Stdio, Stdio, Pending), String> {
    let file = log
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| File::create(log))
        .map_err(|e| format!("cannot create log `{}`: {e}", log.display()))?;
    // One pipe for both streams keeps stdout and stderr interleaved as the child wrote them.
    let (reader, writer) = io::pipe()
        .and_then(|(r, w)| Ok((r, (w.try_clone()?, w))))
        .map_err(|e| format!("cannot create a pipe: {e}"))?;
    let log_path = log.to_owned();
    let (tx, rx) = tokio::sync::oneshot::channel();
    // Blocking reads on a dedicated thread: the pipe is drained at full speed whatever
    // the async runtime is doing, and a child printing gigabytes never blocks on us.
    std::thread::spawn(move || {
        let captured = capture(reader, file, &secrets)
            .map_err(|e| format!("cannot write log `{}`: {e}", log_path.display()));
        let _ = tx.send(captured);
    });
    Ok((Stdio::from(writer.0), Stdio::from(writer.1), rx))
}

/// Replaces every secret value in `text` (for command lines, reasons and other short strings).
pub fn redact_str(text: &str, secrets: &[String]) -> String {
    // Most strings hold no secret: finding that out costs less than building the automaton,
    // which every record would otherwise pay several times.
    if !secrets
        .iter()
        .any(|s| !s.is_empty() && text.contains(s.as_str()))
    {
        return text.to_owned();
    }
    match matcher(secrets) {
        Some(ac) => ac.replace_all(text, &vec![REDACTED; secrets_len(secrets)]),
        None => text.to_owned(),
    }
}

fn secrets_len(secrets: &[String]) -> usize {
    secrets.iter().filter(|s| !s.is_empty()).count()
}

fn matcher(secrets: &[String]) -> Option<AhoCorasick> {
    let patterns: Vec<&str> = secrets
        .iter()
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .collect();
    if patterns.is_empty() {
        return None;
    }
    // Leftmost-longest so that a secret containing another secret is replaced whole.
    Some(
        AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostLongest)
            .build(patterns)
            .expect("literal patterns always build"),
    )
}

/// Reads `input` to its end, writing the redacted stream to `log` and returning the digest
/// and excerpt. Memory stays bounded whatever the size of the stream.
pub fn capture(input: impl Read, log: File, secrets: &[String]) -> io::Result<Captured> {
    let mut sink = Sink::new(log);
    let mut reader = io::BufReader::with_capacity(64 * 1024, input);
    match matcher(secrets) {
        Some(ac) => {
            let longest = secrets.iter().map(String::len).max().unwrap_or(0);
            let mut redactor = Redactor {
                ac,
                longest,
                pending: Vec::new(),
                out: &mut sink,
            };
            io::copy(&mut reader, &mut redactor)?;
            redactor.finish()?;
        }
        None => {
            io::copy(&mut reader, &mut sink)?;
        }
    }
    sink.finish()
}

/// Replaces secrets in a byte stream, including secrets split across writes.
///
/// aho-corasick's own stream replacement only supports the standard match kind, which
/// replaces the first secret found; when one secret is a prefix of another that would leave
/// the rest of the longer one in clear. This keeps leftmost-longest semantics by holding
/// back the last `longest - 1` bytes, where a match could still be growing.
struct Redactor<'a, W: Write> {
    ac: AhoCorasick,
    longest: usize,
    pending: Vec<u8>,
    out: &'a mut W,
}

impl<W: Write> Redactor<'_, W> {
    /// Writes out everything that can no longer be part of a match; all of it at the end.
    fn drain(&mut self, at_end: bool) -> io::Result<()> {
        let settled = if at_end {
            self.pending.len()
        } else {
            self.pending.len().saturating_sub(self.longest - 1)
        };
        let mut pos = 0;
        for m in self.ac.find_iter(&self.pending) {
            if m.start() >= settled {
                break;
            }
            self.out.write_all(&self.pending[pos..m.start()])?;
            self.out.write_all(REDACTED.as_bytes())?;
            pos = m.end();
        }
        let keep_from = pos.max(settled);
        self.out.write_all(&self.pending[pos..keep_from])?;
        self.pending.drain(..keep_from);
        Ok(())
    }

    fn finish(mut self) -> io::Result<()> {
        self.drain(true)
    }
}

impl<W: Write> Write for Redactor<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        self.drain(false)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

struct Sink {
    log: BufWriter<File>,
    hasher: Sha256,
    bytes: u64,
    head: Vec<u8>,
    /// The last bytes seen; grows to twice the kept size before trimming, so that trimming
    /// (a memmove) happens once per `TAIL_BYTES` of output, not per write.
    tail: Vec<u8>,
}

impl Sink {
    fn new(log: File) -> Self {
        Sink {
            log: BufWriter::with_capacity(64 * 1024, log),
            hasher: Sha256::new(),
            bytes: 0,
            head: Vec::with_capacity(HEAD_BYTES),
            tail: Vec::with_capacity(2 * TAIL_BYTES),
        }
    }

    fn finish(mut self) -> io::Result<Captured> {
        // No fsync: a killed phasegate loses nothing of what reached the page cache, and the
        // ledger (which is synced) holds the digest and the excerpt. Syncing every log cost
        // more than running a quick gate.
        self.log.flush()?;
        let truncated = self.bytes > (HEAD_BYTES + TAIL_BYTES) as u64;
        let mut excerpt = String::from_utf8_lossy(&self.head).into_owned();
        if truncated {
            let elided = self.bytes - (HEAD_BYTES + TAIL_BYTES) as u64;
            excerpt.push_str(&format!(
                "\n… [{elided} bytes not shown; full output in the log] …\n"
            ));
        }
        let keep = self
            .tail
            .len()
            .min(TAIL_BYTES)
            .min(usize::try_from(self.bytes).unwrap_or(usize::MAX) - self.head.len());
        excerpt.push_str(&String::from_utf8_lossy(
            &self.tail[self.tail.len() - keep..],
        ));
        Ok(Captured {
            sha256: hex::encode(self.hasher.finalize()),
            bytes: self.bytes,
            excerpt,
            truncated,
        })
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.log.write_all(buf)?;
        self.hasher.update(buf);
        self.bytes += buf.len() as u64;
        let room = HEAD_BYTES - self.head.len();
        let (to_head, rest) = buf.split_at(room.min(buf.len()));
        self.head.extend_from_slice(to_head);
        let rest = &rest[rest.len().saturating_sub(TAIL_BYTES)..];
        if self.tail.len() + rest.len() > 2 * TAIL_BYTES {
            let drop = self.tail.len().saturating_sub(TAIL_BYTES);
            self.tail.drain(..drop);
        }
        self.tail.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.log.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8], secrets: &[&str]) -> (Captured, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("out.log");
        let secrets: Vec<String> = secrets.iter().map(|s| s.to_string()).collect();
        let c = capture(input, File::create(&log).unwrap(), &secrets).unwrap();
        (c, std::fs::read(log).unwrap())
    }

    #[test]
    fn short_output_is_kept_whole() {
        let (c, log) = run(b"hello\n", &[]);
        assert_eq!(c.excerpt, "hello\n");
        assert!(!c.truncated);
        assert_eq!(c.bytes, 6);
        assert_eq!(log, b"hello\n");
        assert_eq!(c.sha256, hex::encode(Sha256::digest(b"hello\n")));
    }

    #[test]
    fn long_output_keeps_head_and_tail_only() {
        let mut input = vec![b'a'; HEAD_BYTES];
        input.extend(vec![b'm'; 100_000]);
        input.extend(vec![b'z'; TAIL_BYTES]);
        let (c, log) = run(&input, &[]);
        assert!(c.truncated);
        assert_eq!(log.len(), input.len());
        assert!(!c.excerpt.contains('m'), "the middle is elided");
        assert!(c.excerpt.starts_with(&"a".repeat(HEAD_BYTES)));
        assert!(c.excerpt.ends_with(&"z".repeat(TAIL_BYTES)));
        assert!(c.excerpt.contains("100000 bytes not shown"));
    }

    #[test]
    fn secrets_are_redacted_in_log_digest_and_excerpt_even_across_buffers() {
        let secret = "s3cr3t-value";
        let mut input = vec![b'x'; 64 * 1024 - 5];
        input.extend(format!("{secret} and again {secret}\n").bytes());
        let (c, log) = run(&input, &[secret, "s3cr3t", ""]);
        let log = String::from_utf8(log).unwrap();
        assert!(!log.contains(secret));
        assert_eq!(log.matches(REDACTED).count(), 2);
        assert!(!c.excerpt.contains(secret));
        assert_eq!(c.sha256, hex::encode(Sha256::digest(log.as_bytes())));
        assert_eq!(
            redact_str("token=s3cr3t-value", &[secret.into()]),
            "token=[REDACTED]"
        );
    }

    #[test]
    fn redaction_holds_for_every_split_of_the_stream() {
        // Feed the stream one byte at a time: every secret straddles a write boundary.
        let secrets = vec!["tok".to_owned(), "token-123".to_owned()];
        let ac = matcher(&secrets).unwrap();
        let mut out = Vec::new();
        let mut r = Redactor {
            ac,
            longest: 9,
            pending: Vec::new(),
            out: &mut out,
        };
        for b in b"a token-123 b tok c token-12" {
            r.write_all(&[*b]).unwrap();
        }
        r.finish().unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a [REDACTED] b [REDACTED] c [REDACTED]en-12"
        );
    }
}
