//! HTTP plumbing shared by every function and the local portal: routers per
//! function, problem+json for every error, body limits, principal
//! extraction, and the OpenAPI document generated from the same routes.

pub mod contract;
#[cfg(feature = "local")]
pub mod local;
pub mod principal;
pub mod throttle;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;
use crate::error::{AppError, PROBLEM_TYPE_PREFIX, Problem};

/// Request bodies over this size get 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Portico's Lambda functions that serve HTTP, for the local portal (which
/// mounts them all), the OpenAPI document and the tests. Each function's
/// routes are listed in its module under [`crate::functions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    Organizations,
    Invite,
    SelfRegister,
    GrantPartnerRole,
    ToggleSetting,
    Session,
    Instances,
    InstanceAccess,
    Workspace,
}

impl Function {
    pub const ALL: [Function; 9] = [
        Function::Organizations,
        Function::Invite,
        Function::Session,
        Function::SelfRegister,
        Function::GrantPartnerRole,
        Function::ToggleSetting,
        Function::Instances,
        Function::InstanceAccess,
        Function::Workspace,
    ];

    /// The function's crate and SAM resource name.
    pub fn name(self) -> &'static str {
        match self {
            Function::Organizations => "organizations",
            Function::Invite => "invite",
            Function::SelfRegister => "self-register",
            Function::GrantPartnerRole => "grant-partner-role",
            Function::ToggleSetting => "toggle-setting",
            Function::Session => "session",
            Function::Instances => "instances",
            Function::InstanceAccess => "instance-access",
            Function::Workspace => "workspace",
        }
    }

    /// The adapters the function's Lambda builds besides the table.
    pub fn using(self) -> crate::app::Using {
        use crate::app::Uses;
        use crate::functions::*;
        match self {
            Function::Organizations => organizations::Uses::USING,
            Function::Invite => invite::Uses::USING,
            Function::Session => session::Uses::USING,
            Function::ToggleSetting => toggle_setting::Uses::USING,
            Function::SelfRegister => self_register::Uses::USING,
            Function::GrantPartnerRole => grant_partner_role::Uses::USING,
            Function::Instances => instances::Uses::USING,
            Function::InstanceAccess => instance_access::Uses::USING,
            Function::Workspace => workspace::Uses::USING,
        }
    }

    /// The function's routes with their OpenAPI descriptions. Functions whose
    /// operations later issues build have none yet.
    fn api(self) -> OpenApiRouter<AppState> {
        use crate::functions::*;
        match self {
            Function::Organizations => organizations::routes(),
            Function::Invite => invite::routes(),
            Function::Session => session::routes(),
            Function::ToggleSetting => toggle_setting::routes(),
            Function::SelfRegister => self_register::routes(),
            Function::GrantPartnerRole => grant_partner_role::routes(),
            Function::Instances => instances::routes(),
            Function::InstanceAccess => instance_access::routes(),
            Function::Workspace => workspace::routes(),
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Portico API", description = "Partner access portal: organisations, users, settings, activity."),
    components(schemas(Problem)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

fn api_for(functions: &[Function]) -> OpenApiRouter<AppState> {
    functions
        .iter()
        .fold(OpenApiRouter::with_openapi(ApiDoc::openapi()), |r, f| r.merge(f.api()))
}

/// The OpenAPI 3.1 document of every route of every function (JSON).
pub fn openapi() -> serde_json::Value {
    contract::document(&api_for(&Function::ALL).split_for_parts().1)
}

/// The router one Lambda function runs (tests; each Lambda calls its
/// module's `router`).
pub fn function_router(function: Function, state: AppState) -> Router {
    finish(api_for(&[function]).split_for_parts().0, state)
}

/// A function's router from its routes, with the layers every router shares.
pub fn function(routes: OpenApiRouter<AppState>, state: AppState) -> Router {
    finish(routes.split_for_parts().0, state)
}

/// Every function's routes in one router (the local portal), plus
/// `/openapi.json`, and the web pages on every path the API does not claim
/// (as the HTTP API's default route sends them to the `web` function).
#[cfg(feature = "local")]
pub fn portal_router(state: AppState) -> Router {
    let (router, doc) = api_for(&Function::ALL).split_for_parts();
    // Serialised once: each request sends the same bytes (no clone of the document).
    let doc = bytes::Bytes::from(serde_json::to_vec(&contract::document(&doc)).unwrap_or_default());
    let router = router
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                        doc,
                    )
                }
            }),
        )
        .merge(local::routes());
    layers(router, state.clone())
        .with_state(state.clone())
        .merge(crate::web::router(state))
}

/// The layers every router shares: 404/405 problems, the body limit, and a
/// last pass that turns any non-problem error response into problem+json.
fn finish(router: Router<AppState>, state: AppState) -> Router {
    layers(router.fallback(|| async { AppError::NoRoute }), state.clone()).with_state(state)
}

/// [`finish`] without the 404 fallback (the portal's is the web pages').
fn layers(router: Router<AppState>, state: AppState) -> Router<AppState> {
    router
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            throttle::PublicLimiter::new(state.settings.public_rate, state.settings.trusted_proxy),
            throttle::public,
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), record_activity))
        .layer(axum::middleware::map_response(ensure_problem))
        .layer(axum::middleware::from_fn(log_request))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            AppError::Internal("handler panicked".into()).into_response()
        }))
}

/// Writes the request's activity record if it is due and the request's own
/// change did not carry it (reads, refusals). A lost race is fine: another
/// request recorded the activity.
async fn record_activity(
    axum::extract::State(deps): axum::extract::State<AppState>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let touch = crate::inactivity::PendingTouch::default();
    req.extensions_mut().insert(touch.clone());
    let resp = next.run(req).await;
    if let Some(w) = touch.take() {
        match deps.table.transact(vec![w]).await {
            Ok(()) | Err(crate::store::StoreError::ConditionFailed { .. }) => {}
            Err(e) => tracing::warn!(error = %e, "activity not recorded"),
        }
    }
    resp
}

/// One line per request: method, route template, status, duration. Never the
/// query string, headers or body (they may carry tokens or personal data).
pub(crate) async fn log_request(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "<unmatched>".into());
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    tracing::info!(%method, %route, status = resp.status().as_u16(), ms = started.elapsed().as_millis() as u64, "request");
    resp
}

fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad-request",
        StatusCode::NOT_FOUND => "no-such-route",
        StatusCode::METHOD_NOT_ALLOWED => "method-not-allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload-too-large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid-body",
        s if s.is_server_error() => "internal",
        _ => "bad-request",
    }
}

/// Extractor rejections (JSON syntax, unknown or missing fields, wrong
/// types, bad path or query parameters, oversized bodies) come back from
/// axum as text/plain; this rewrites them as RFC 9457 problems.
async fn ensure_problem(mut resp: Response) -> Response {
    // Answers carry tokens, TOTP secrets, recovery codes and personal data:
    // no cache keeps them.
    resp.headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    let status = resp.status();
    let is_problem = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let detail = if status.is_server_error() || text.trim().is_empty() {
        status.canonical_reason().unwrap_or("Error").to_string()
    } else {
        text.trim().to_string()
    };
    let problem = Problem {
        r#type: format!("{PROBLEM_TYPE_PREFIX}{}", code_for(status)),
        title: status.canonical_reason().unwrap_or("Error").to_string(),
        status: status.as_u16(),
        detail,
        current: None,
    };
    let mut out = Response::from_parts(parts, Body::from(serde_json::to_vec(&problem).unwrap_or_default()));
    out.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    out.headers_mut().remove(header::CONTENT_LENGTH);
    out
}

/// Path parameters parsed into their domain types (`Path<OrgId>`,
/// `Path<(OrgId, SettingKey)>`): a value the type refuses is a 400
/// `invalid-input` problem saying why, as any refused input is.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, AppError> {
        use axum::extract::path::ErrorKind;
        use axum::extract::rejection::PathRejection;
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => Err(AppError::invalid(match e.kind() {
                ErrorKind::Message(why) => why.clone(),
                _ => e.body_text(),
            })),
            Err(e) => Err(AppError::Internal(e.body_text())),
        }
    }
}

/// A JSON request body: an object (never an array standing in for one,
/// which serde would otherwise take for a struct's fields in order), whose
/// integral numbers may be written as `3.0` (JSON Schema's integers include
/// them), decoded into `T` with unknown fields refused by `T` itself.
/// Malformed JSON is a 400, a wrong content type 415, a body that is not
/// what the route takes 422, all as problems.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for JsonBody<T> {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Response> {
        let axum::Json(mut value) = axum::Json::<serde_json::Value>::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let invalid = |detail: String| {
            AppError::BadBody {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "invalid-body",
                detail,
            }
            .into_response()
        };
        if !value.is_object() {
            return Err(invalid("The body must be a JSON object.".into()));
        }
        integral_numbers(&mut value);
        serde_json::from_value(value)
            .map(JsonBody)
            .map_err(|e| invalid(format!("Failed to deserialize the JSON body into the target type: {e}")))
    }
}

/// Rewrites numbers with no fractional part (`3.0`) as integers, so that
/// integer fields take them as JSON Schema says they may.
fn integral_numbers(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Number(n) if !(n.is_i64() || n.is_u64()) => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() < 9_007_199_254_740_992.0
            {
                *v = if f < 0.0 {
                    serde_json::Value::from(f as i64)
                } else {
                    serde_json::Value::from(f as u64)
                };
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(integral_numbers),
        serde_json::Value::Object(m) => m.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

/// An activity export as a download: streamed in chunks, named `filename`.
pub fn export_answer(export: crate::ops::activity::Export, filename: &str) -> Response {
    let content_type = export.content_type();
    let body = futures::stream::unfold(export, |mut e| async move {
        e.next_chunk().await.map(|chunk| {
            let chunk = chunk.map(bytes::Bytes::from).map_err(|err| {
                tracing::error!(error = %err, "export stopped");
                std::io::Error::other("export stopped")
            });
            (chunk, e)
        })
    });
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            // lambda_http base64-encodes types it does not know as text
            // (application/x-ndjson among them), a third more than the 5 MB
            // cap and over Lambda's 6 MB response: this marks the body as text.
            (
                header::HeaderName::from_static("x-lambda-http-content-encoding"),
                "text".to_string(),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response()
}
