//! Routes of the activity log (served by the `organizations` function).

use crate::http::JsonBody;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::OrgId;
use crate::error::{AppError, Problem};
use crate::http::principal::Caller;
use crate::ops::activity::{self, ActivityFilter, ActivityPage, Retention, Verification, VerifyParams};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_activity))
        .routes(routes!(export_activity))
        .routes(routes!(verify_activity))
        .routes(routes!(get_retention, put_retention))
}

/// An organisation's activity log, newest first, filtered and paged (platform admins: any; partners: their own and their customers'; customers: their own).
#[utoipa::path(
    get, path = "/organizations/{id}/activity", tag = "activity",
    params(("id" = String, Path, description = "Organisation id"), ActivityFilter),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page", body = ActivityPage),
        (status = 400, description = "Invalid filter or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found or not visible", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_activity(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(f): Query<ActivityFilter>,
) -> Result<Json<ActivityPage>, AppError> {
    Ok(Json(activity::list(&deps, &caller, OrgId::parse(&id)?, f).await?))
}

/// The same filtered view as CSV or NDJSON, streamed newest first (at most `limit` rows; a last record then says how to go on).
#[utoipa::path(
    get, path = "/organizations/{id}/activity/export", tag = "activity",
    params(("id" = String, Path, description = "Organisation id"), ActivityFilter),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The events", body = String, content_type = "text/csv"),
        (status = 400, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found or not visible", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn export_activity(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(f): Query<ActivityFilter>,
) -> Result<Response, AppError> {
    let export = activity::export(&deps, &caller, OrgId::parse(&id)?, f).await?;
    let content_type = export.content_type();
    let ext = match export.format {
        activity::ExportFormat::Csv => "csv",
        activity::ExportFormat::Ndjson => "ndjson",
    };
    let body = futures::stream::unfold(export, |mut e| async move {
        e.next_chunk().await.map(|chunk| {
            let chunk = chunk.map(bytes::Bytes::from).map_err(|err| {
                tracing::error!(error = %err, "export stopped");
                std::io::Error::other("export stopped")
            });
            (chunk, e)
        })
    });
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"activity-{id}.{ext}\""),
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
        .into_response())
}

/// Recompute the organisation's hash chain and report the first break (whoever may read the log).
#[utoipa::path(
    get, path = "/organizations/{id}/activity/verify", tag = "activity",
    params(("id" = String, Path, description = "Organisation id"), VerifyParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "What the check found", body = Verification),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found or not visible", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn verify_activity(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(p): Query<VerifyParams>,
) -> Result<Json<Verification>, AppError> {
    Ok(Json(activity::verify(&deps, &caller, OrgId::parse(&id)?, p).await?))
}

/// How long the organisation's activity events are kept (null: kept; the default).
#[utoipa::path(
    get, path = "/organizations/{id}/activity/retention", tag = "activity",
    params(("id" = String, Path, description = "Organisation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Retention),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_retention(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Retention>, AppError> {
    Ok(Json(activity::get_retention(&deps, &caller, OrgId::parse(&id)?).await?))
}

/// Set how long events written from now on are kept (platform admins); audited.
#[utoipa::path(
    put, path = "/organizations/{id}/activity/retention", tag = "activity",
    params(("id" = String, Path, description = "Organisation id")),
    request_body = Retention,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Retention),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn put_retention(
    State(deps): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<Retention>,
) -> Result<Json<Retention>, AppError> {
    Ok(Json(
        activity::put_retention(&deps, &caller, OrgId::parse(&id)?, input).await?,
    ))
}
