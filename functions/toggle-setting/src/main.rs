//! The `toggle-setting` Lambda. Its routes and the operations they call:
//! `portico_core::functions::toggle_setting` (shared/src/functions/toggle_setting.rs).
use portico_core::{app::Deps, functions::toggle_setting, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init_lambda();
    let deps = Deps::for_lambda::<toggle_setting::Uses>().await?;
    lambda_http::run(toggle_setting::router(deps.into())).await
}
