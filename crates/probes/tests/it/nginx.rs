//! The headers probe against a real nginx: the `add_header` inheritance pitfall (a location
//! with its own `add_header` drops every server-level one) and `server_tokens on`.

use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use phasegate_testkit::{Server, Signal};
use serde_json::json;

use crate::support::*;

const NGINX: &str = "/usr/sbin/nginx";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn config(dir: &Path, port: u16) -> String {
    let d = dir.display();
    format!(
        r#"worker_processes 1;
daemon off;
master_process on;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    default_type text/html;
    server {{
        listen 127.0.0.1:{port};
        root {d}/www;
        server_tokens off;
        add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;
        add_header Content-Security-Policy "default-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'" always;
        add_header Cross-Origin-Opener-Policy "same-origin" always;
        add_header Cross-Origin-Resource-Policy "same-origin" always;
        add_header Permissions-Policy "camera=(), microphone=()" always;
        add_header X-Content-Type-Options "nosniff" always;
        add_header Referrer-Policy "no-referrer" always;
        location / {{ }}
        location /bad/ {{
            server_tokens on;
            add_header X-Served-By "bad-location";
        }}
    }}
}}
"#
    )
}

/// nginx with `dir` as its prefix, on a free port. SIGQUIT is nginx's graceful stop: the
/// master ends its workers, then itself.
fn start(dir: &Path) -> (Server, url::Url) {
    assert!(
        Path::new(NGINX).exists(),
        "{NGINX} is missing: install nginx (`apt-get install -y nginx`); CI installs it and this test must not be skipped"
    );
    for sub in ["www/bad", "tmp"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::write(dir.join("www/index.html"), "<html><body>home</body></html>").unwrap();
    std::fs::write(
        dir.join("www/bad/index.html"),
        "<html><body>bad</body></html>",
    )
    .unwrap();
    // Workers drop to an unprivileged user when nginx starts as root; let them read the tree.
    for sub in ["", "www", "www/bad", "tmp"] {
        std::fs::set_permissions(dir.join(sub), std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let port = free_port();
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, config(dir, port)).unwrap();
    let mut nginx = Server::start(
        Command::new(NGINX)
            .arg("-c")
            .arg(&conf)
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
        Signal::QUIT,
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        let log = || std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
        if let Some(status) = nginx.try_wait() {
            panic!("nginx exited with {status}: {}", log());
        }
        assert!(
            Instant::now() < deadline,
            "nginx did not listen within 10s: {}",
            log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (
        nginx,
        url::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap(),
    )
}

#[tokio::test]
async fn nginx_location_with_its_own_add_header_drops_the_server_headers() {
    let dir = tempfile::tempdir().unwrap();
    let (_nginx, url) = start(dir.path());

    let o = run("headers", &url, json!({ "paths": ["/"], "https": "yes" })).await;
    assert_pass(&o);

    let o = run(
        "headers",
        &url,
        json!({ "paths": ["/bad/"], "https": "yes" }),
    )
    .await;
    let at_bad: Vec<&str> = o
        .findings
        .iter()
        .filter(|f| f.location.as_deref() == Some("GET /bad/"))
        .map(|f| f.code.as_str())
        .collect();
    for code in [
        "hsts-missing",
        "csp-missing",
        "nosniff-missing",
        "framing-missing",
        "referrer-policy-missing",
        "server-version",
    ] {
        assert_fails_with(&o, code);
        assert!(at_bad.contains(&code), "{code} at GET /bad/: {o:#?}");
    }
    assert_eq!(
        at_bad.len(),
        o.findings.len(),
        "the error routes keep the server-level headers: {o:#?}"
    );
}
