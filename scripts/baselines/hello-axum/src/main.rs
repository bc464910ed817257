//! scripts/bench baseline: an axum "hello" that answers every GET with the
//! bytes of one JSON file (the body the portal serves), as application/json.
//! Usage: baseline-hello-axum <address> <file>
use axum::http::header;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(file)) = (args.next(), args.next()) else {
        return Err("usage: baseline-hello-axum <address> <file>".into());
    };
    let body = axum::body::Bytes::from(std::fs::read(file)?);
    let app = axum::Router::new().fallback(axum::routing::get(move || {
        let body = body.clone();
        async move { ([(header::CONTENT_TYPE, "application/json")], body) }
    }));
    axum::serve(tokio::net::TcpListener::bind(addr).await?, app).await?;
    Ok(())
}
