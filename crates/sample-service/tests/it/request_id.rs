use reqwest::header::HeaderValue;

use crate::support::{Service, header};

async fn request_id_for(service: &Service, sent: Option<HeaderValue>) -> String {
    let mut request = service.client.get(service.url("/health/live"));
    if let Some(sent) = sent {
        request = request.header("x-request-id", sent);
    }
    let response = request.send().await.unwrap();
    header(&response, "x-request-id").unwrap().to_owned()
}

fn assert_fresh_uuid(id: &str) {
    let parsed = uuid::Uuid::parse_str(id).unwrap_or_else(|_| panic!("not a UUID: {id}"));
    assert_eq!(parsed.get_version_num(), 4);
}

#[tokio::test]
async fn a_valid_id_is_echoed_unchanged() {
    let service = Service::start().await;
    for id in ["abc-123", "A.b_C-9", &"x".repeat(128)] {
        let echoed = request_id_for(&service, Some(HeaderValue::from_str(id).unwrap())).await;
        assert_eq!(echoed, id);
    }
    // Also on errors.
    let response = service
        .client
        .get(service.url("/nope"))
        .header("x-request-id", "trace-404")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, "x-request-id"), Some("trace-404"));
}

#[tokio::test]
async fn an_absent_id_is_generated_fresh_each_time() {
    let service = Service::start().await;
    let first = request_id_for(&service, None).await;
    let second = request_id_for(&service, None).await;
    assert_fresh_uuid(&first);
    assert_fresh_uuid(&second);
    assert_ne!(first, second);
}

#[tokio::test]
async fn a_bad_id_is_replaced_never_echoed() {
    let service = Service::start().await;
    let bad: Vec<HeaderValue> = vec![
        HeaderValue::from_str(&"x".repeat(129)).unwrap(),
        HeaderValue::from_bytes(b"abc\tdef").unwrap(),
        HeaderValue::from_static("abc def"),
        HeaderValue::from_static("<script>alert(1)</script>"),
        HeaderValue::from_static("a;b=c"),
        HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
        HeaderValue::from_static(""),
    ];
    for sent in bad {
        let returned = request_id_for(&service, Some(sent.clone())).await;
        assert_ne!(returned.as_bytes(), sent.as_bytes());
        assert_fresh_uuid(&returned);
    }
}
