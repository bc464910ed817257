//! `cargo run` at the repository root: the local portal. All logic lives in
//! `portico_core::portal`.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    portico_core::telemetry::init_local();
    portico_core::portal::run_from_env().await
}
