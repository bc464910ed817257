//! `cargo run` at the repository root: the local portal. All logic lives in
//! `portico_core::portal`; the demo customers' instances are reference
//! instances (`tests/reference-instance`) the portal serves too.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    portico_core::telemetry::init_local();
    portico_core::portal::run_with(reference_instance::demo::extras()).await
}
