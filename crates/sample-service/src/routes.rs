//! The router: every route, its middleware stack, and thin handlers that call the domain
//! modules and shape the HTTP answer.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use crate::api_error::ApiError;
use crate::auth::{self, Principal, Viewer};
use crate::flaw::Flaw;
use crate::input::{self, Fields, StrictJson};
use crate::rate_limit::{self, Limited};
use crate::state::AppState;
use crate::{access_log, admin, content, cors, db, headers, health, metrics, payments, request_id};

/// Request bodies are small JSON documents; anything bigger is refused before parsing.
const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// The longest `/api/v1/slow` sleep.
pub const SLOW_MAX_MS: u64 = 5000;

/// The service's router with its state applied.
pub fn app(state: AppState) -> Router {
    let config = Arc::clone(&state.config);
    let limited = |limiter| Limited {
        limiter,
        config: Arc::clone(&config),
    };
    let sign_in_limit = from_fn_with_state(
        limited(Arc::clone(&state.sign_in_limiter)),
        rate_limit::middleware,
    );
    let callback_limit = from_fn_with_state(
        limited(Arc::clone(&state.callback_limiter)),
        rate_limit::middleware,
    );

    // Router::layer wraps every route and the fallback, so 404s and 405s get the same
    // headers, and the metrics middleware sees the matched route template. The last layer
    // added is the outermost.
    Router::new()
        .route("/", get(index))
        .route(
            "/api/v1/auth/sign-in",
            post(sign_in).route_layer(sign_in_limit),
        )
        .route("/api/v1/checkout", post(checkout))
        .route(
            "/api/v1/payments/callback",
            post(payment_callback).route_layer(callback_limit),
        )
        .route("/api/v1/subscription", get(subscription))
        .route("/api/v1/content/{id}/download-token", post(download_token))
        .route("/api/v1/content/{id}/download", get(download))
        .route("/api/v1/admin/users", get(admin_users))
        .route("/api/v1/admin/users/{id}/role", post(admin_change_role))
        .route("/api/v1/admin/audit-log", get(admin_audit_log))
        .route("/api/v1/ops/summary", get(ops_summary))
        .route("/api/v1/slow", get(slow))
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .route("/metrics", get(metrics_text))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(from_fn_with_state(Arc::clone(&config), cors::middleware))
        .layer(from_fn_with_state(
            Arc::clone(&state.metrics),
            metrics::middleware,
        ))
        .layer(from_fn_with_state(Arc::clone(&config), headers::middleware))
        .layer(from_fn_with_state(config, request_id::middleware))
        // Outermost, so the line carries the status the client gets.
        .layer(from_fn_with_state(
            state.access_log.clone(),
            access_log::middleware,
        ))
        .with_state(state)
}

const INDEX_HTML: &str = "<!doctype html>
<html lang=\"en\">
<head><meta charset=\"utf-8\"><title>Membership</title></head>
<body>
<h1>Membership</h1>
<p>A sample membership service for phasegate. The API lives under <code>/api/v1</code>;
health under <code>/health/live</code> and <code>/health/ready</code>; metrics at
<code>/metrics</code>.</p>
</body>
</html>
";

/// How long the landing page takes under the `slow-endpoint` flaw.
const SLOW_ENDPOINT_DELAY: Duration = Duration::from_millis(100);

async fn index(State(state): State<AppState>) -> Html<&'static str> {
    if state.config.has(Flaw::SlowEndpoint) {
        tokio::time::sleep(SLOW_ENDPOINT_DELAY).await;
    }
    Html(INDEX_HTML)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

#[derive(Deserialize)]
struct SignIn {
    email: String,
    password: String,
}

impl Fields for SignIn {
    const FIELDS: &'static [&'static str] = &["email", "password"];
}

async fn sign_in(
    State(state): State<AppState>,
    StrictJson(body): StrictJson<SignIn>,
) -> Result<Response, ApiError> {
    let signed_in = auth::sign_in(&state, body.email, body.password).await?;
    let cookie = auth::session_cookie(&state.config, &signed_in.token);
    Ok(([(header::SET_COOKIE, cookie)], Json(signed_in)).into_response())
}

/// The body is optional (`{"plan": "yearly"}`); `Idempotency-Key` makes a retry safe.
async fn checkout(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let request = payments::checkout_request(&state.config, &body)?;
    let key = payments::idempotency_key(&headers)?;
    Ok(Json(
        payments::checkout(&state, principal, request, key).await?,
    ))
}

async fn payment_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(payments::callback(&state, &headers, body).await?))
}

async fn subscription(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<impl IntoResponse, ApiError> {
    let user_id = principal.user_id;
    let subscription = state
        .db
        .run(move |conn| db::subscription(conn, user_id))
        .await?;
    Ok(Json(subscription))
}

async fn download_token(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let request: content::MintRequest = input::parse_optional(&state.config, &body)?;
    Ok(Json(content::mint(&state, principal, id, request).await?))
}

#[derive(Deserialize)]
struct DownloadQuery {
    token: Option<String>,
}

async fn download(
    State(state): State<AppState>,
    Viewer(viewer): Viewer,
    Path(id): Path<String>,
    Query(query): Query<DownloadQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let body = content::download(&state, &viewer, &id, query.token.as_deref())?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    ))
}

async fn admin_users(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(admin::list_users(&state, principal).await?))
}

async fn admin_change_role(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    StrictJson(change): StrictJson<admin::RoleChange>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        admin::change_role(&state, principal, id, change).await?,
    ))
}

async fn admin_audit_log(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(admin::audit_log(&state, principal).await?))
}

async fn ops_summary(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(admin::ops_summary(&state, principal).await?))
}

#[derive(Deserialize)]
struct SlowQuery {
    ms: Option<u64>,
}

/// Sleeps, so tests can have a request in flight (graceful shutdown, timeouts).
async fn slow(Query(query): Query<SlowQuery>) -> Result<impl IntoResponse, ApiError> {
    let ms = query.ms.unwrap_or(1000);
    if ms > SLOW_MAX_MS {
        return Err(ApiError::bad_request(format!(
            "ms must be at most {SLOW_MAX_MS}"
        )));
    }
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(Json(json!({ "slept_ms": ms })))
}

async fn live() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

async fn ready(State(state): State<AppState>) -> Response {
    if state.is_draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "draining" })),
        )
            .into_response();
    }
    match health::ready(&state.config, &state.db).await {
        Ok(()) => Json(json!({ "status": "ready" })).into_response(),
        Err(not_ready) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "reason": not_ready.reason })),
        )
            .into_response(),
    }
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    if state.config.has(Flaw::MetricsMissing) {
        return not_found().await.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        state.metrics.encode(),
    )
        .into_response()
}
