//! The pages' static files, embedded in the binary: htmx (npm `htmx.org`
//! 2.0.11, vendored unmodified; licence in `shared/assets/htmx-LICENSE.txt`),
//! Portico's CSS and its small script. No CDN, no build step.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The vendored htmx, pinned: the file name says the version.
pub const HTMX: &str = "htmx-2.0.11.min.js";

const FILES: [(&str, &str, &[u8]); 3] = [
    (
        HTMX,
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/htmx-2.0.11.min.js"),
    ),
    (
        "portico.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/portico.css"),
    ),
    (
        "portico.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/portico.js"),
    ),
];

/// `GET /assets/{file}`: cacheable for an hour (they change with a deploy).
pub async fn serve(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    match FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, kind, body)) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
                (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
            ],
            *body,
        )
            .into_response(),
        None => super::render::plain_error(StatusCode::NOT_FOUND, "No such file."),
    }
}
