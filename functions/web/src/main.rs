//! The `web` Lambda: the pages people use in a browser. Its routes and the
//! operations they call: `portico_core::functions::web` (shared/src/functions/web.rs).
use portico_core::{app::Deps, functions::web, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init_lambda();
    let deps = Deps::for_lambda::<web::Uses>().await?;
    lambda_http::run(web::router(deps.into())).await
}
