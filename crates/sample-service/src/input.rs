//! Strict JSON input: the right content type, a JSON object, and no fields the endpoint does not
//! know. Unknown fields are refused rather than ignored, so a client typo (or a probe for mass
//! assignment such as `"role": "platform_admin"`) never passes silently.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

use crate::api_error::ApiError;
use crate::config::Config;
use crate::flaw::Flaw;
use crate::state::AppState;

/// A request body type that names its fields.
pub(crate) trait Fields {
    /// Every field the body may carry.
    const FIELDS: &'static [&'static str];
}

/// Parses `body` as a `T`, refusing unknown fields.
pub(crate) fn parse_strict<T: DeserializeOwned + Fields>(
    config: &Config,
    body: &[u8],
) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|err| ApiError::bad_request(format!("invalid JSON: {err}")))?;
    let object = value
        .as_object()
        .ok_or_else(|| ApiError::bad_request("expected a JSON object"))?;
    // serde ignores unknown fields by default: this check is what makes the parsing strict.
    let unknown = object.keys().find(|key| !T::FIELDS.contains(&key.as_str()));
    if let Some(unknown) = unknown.filter(|_| !config.has(Flaw::DtoAcceptsUnknown)) {
        return Err(ApiError::unprocessable(format!(
            "unknown field `{unknown}`"
        )));
    }
    serde_json::from_value(value).map_err(|err| ApiError::unprocessable(err.to_string()))
}

/// Parses an optional body: empty means `T::default()`, anything else is parsed strictly.
/// For requests whose every field is optional (a download-token mint).
pub(crate) fn parse_optional<T: DeserializeOwned + Fields + Default>(
    config: &Config,
    body: &[u8],
) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    parse_strict(config, body)
}

/// Extractor: a strictly parsed JSON body.
pub(crate) struct StrictJson<T>(pub(crate) T);

impl<T: DeserializeOwned + Fields> FromRequest<AppState> for StrictJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::unsupported_media_type());
        }
        let body = Bytes::from_request(req, state).await.map_err(|rejection| {
            ApiError::new(rejection.status(), "bad_body", rejection.body_text())
        })?;
        parse_strict(&state.config, &body).map(StrictJson)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[expect(dead_code, reason = "only parsed")]
        email: String,
    }

    impl Fields for Body {
        const FIELDS: &'static [&'static str] = &["email"];
    }

    #[test]
    fn refuses_unknown_fields_and_non_objects() {
        let config = Config::new("x.db");
        assert!(parse_strict::<Body>(&config, br#"{"email":"a"}"#).is_ok());
        let err = parse_strict::<Body>(&config, br#"{"email":"a","role":"x"}"#).unwrap_err();
        assert_eq!(err.status(), axum::http::StatusCode::UNPROCESSABLE_ENTITY);
        assert!(parse_strict::<Body>(&config, b"[1]").is_err());
        assert!(parse_strict::<Body>(&config, b"{").is_err());
        assert!(
            parse_strict::<Body>(&config, b"{}").is_err(),
            "missing field"
        );
    }

    #[test]
    fn the_flaw_ignores_unknown_fields_but_still_checks_the_rest() {
        let config = Config::new("x.db").with_flaw(Flaw::DtoAcceptsUnknown);
        assert!(parse_strict::<Body>(&config, br#"{"email":"a","role":"x"}"#).is_ok());
        assert!(parse_strict::<Body>(&config, br#"{"role":"x"}"#).is_err());
        assert!(parse_strict::<Body>(&config, br#"{"email":1}"#).is_err());
    }
}
