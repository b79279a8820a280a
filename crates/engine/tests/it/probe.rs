//! An ad hoc probe through the engine, against a real server on 127.0.0.1.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use phasegate_engine::{ProbeRequest, parse_params, probe};
use phasegate_model::Verdict;

use crate::support::runtime;

/// A server answering every request with `status` and a small JSON body, until the test
/// process ends; returns its base URL.
fn serve(status: u16) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let body = "{\"ok\":true}";
            let _ = write!(
                s,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

fn request(url: &str, params: &[&str]) -> ProbeRequest {
    let params: Vec<String> = params.iter().map(|p| p.to_string()).collect();
    ProbeRequest {
        kind: "http".into(),
        url: url.into(),
        params: parse_params(&params).unwrap(),
        timeout: Duration::from_secs(5),
        workdir: std::env::temp_dir(),
        fail_on: phasegate_model::Severity::Medium,
    }
}

const EXPECT_200: &str =
    r#"requests=[{ path = "/", expect = { status = 200, json = { "/ok" = true } } }]"#;

#[test]
fn a_probe_passes_on_a_healthy_server_and_fails_saying_why_on_a_broken_one() {
    let rt = runtime();
    let ok = rt
        .block_on(probe(&request(&serve(200), &[EXPECT_200])))
        .unwrap();
    assert_eq!(ok.verdict, Verdict::Pass, "{ok:?}");
    assert_eq!(ok.requests, 1);

    let bad = rt
        .block_on(probe(&request(&serve(503), &[EXPECT_200])))
        .unwrap();
    assert_eq!(bad.verdict, Verdict::Fail);
    assert!(
        bad.findings.iter().any(|f| f.message.contains("503")),
        "{:?}",
        bad.findings
    );
}

#[test]
fn bad_parameters_and_urls_are_usage_errors_before_any_request() {
    let rt = runtime();
    let e = rt
        .block_on(probe(&request("http://127.0.0.1:9", &["nonsense=1"])))
        .unwrap_err();
    assert!(e.is_usage() && e.to_string().contains("`nonsense`"), "{e}");
    let e = rt
        .block_on(probe(&request("not a url", &[EXPECT_200])))
        .unwrap_err();
    assert!(e.to_string().contains("invalid URL"), "{e}");
    let e = parse_params(&["novalue".to_owned()]).unwrap_err();
    assert!(e.to_string().contains("KEY=VALUE"), "{e}");
}

#[test]
fn values_are_toml_when_they_parse_and_strings_otherwise() {
    let p = parse_params(&["n=5".into(), "s=hello world".into(), "a=[1, 2]".into()]).unwrap();
    assert_eq!(p["n"], serde_json::json!(5));
    assert_eq!(p["s"], serde_json::json!("hello world"));
    assert_eq!(p["a"], serde_json::json!([1, 2]));
}
