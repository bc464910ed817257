//! The local portal: every function's router in one axum server, the
//! scheduled jobs on timers, the embedded store and outbox by default.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::app::{AppState, Backend, Config, Deps};
use crate::http::principal::Auth;
use crate::jobs::{self, Job};

/// `PORTICO_BIND`, default `127.0.0.1:8080`.
pub fn bind_addr() -> Result<SocketAddr, String> {
    std::env::var("PORTICO_BIND")
        .unwrap_or_else(|_| "127.0.0.1:8080".into())
        .parse()
        .map_err(|e| format!("PORTICO_BIND: {e}"))
}

/// What the portal serves besides its own routes (the demo customers'
/// reference instances), made once the demo data exists: from the app, the
/// demo users, the portal's base URL and the data directory.
pub type Extras = Box<
    dyn FnOnce(
        AppState,
        Vec<crate::seed::DemoUser>,
        String,
        std::path::PathBuf,
    )
        -> futures::future::BoxFuture<'static, Result<axum::Router, Box<dyn std::error::Error + Send + Sync>>>,
>;

/// [`run_with`] without extras.
pub async fn run_from_env() -> Result<(), Box<dyn std::error::Error>> {
    run_with(None).await
}

/// Reads the configuration, seeds demo data on first start, prints how to
/// sign in, runs the jobs on timers and serves until Ctrl-C (with `extras`
/// merged in).
pub async fn run_with(extras: Option<Extras>) -> Result<(), Box<dyn std::error::Error>> {
    let cfg = Config::from_env(Backend::Embedded)?;
    let deps: AppState = Arc::new(Deps::build(&cfg, crate::app::Overrides::default()).await?);
    let auth = &deps.auth;
    let users = crate::seed::demo(&deps).await?;
    // A data directory from before delegated roles: its customers get the default delegation.
    let given = crate::ops::delegations::migrate_defaults(&deps).await?;
    if given > 0 {
        println!("Gave {given} existing customer(s) the platform's default delegation to their partner of record.");
    }
    // The LogMeIn signing key: its file is made on the first start.
    crate::ops::login_keys::ensure(&deps).await?;
    let addr = bind_addr()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let base = format!("http://{}", listener.local_addr()?);

    println!(
        "\nPortico local portal on {base}  (data in {}, {:?} backend)",
        cfg.data_dir.display(),
        cfg.backend
    );
    println!("  Pages: {base}/  (the start page lists the demo users: sign in as one with a click)");
    println!("  Local outbox: {base}/_local/mail    API description: {base}/openapi.json");
    if !crate::web::visit::secure(&deps.settings) {
        println!(
            "  The session cookie is `{}` without `Secure` and the `__Host-` prefix: browsers refuse both over plain HTTP,\n  \
             which the local portal serves on loopback (PORTICO_PUBLIC_URL https://... turns them on).",
            crate::web::visit::COOKIE_PLAIN
        );
    }
    if let Auth::LocalToken(tokens) | Auth::Both(tokens, _) = auth {
        let env_file = cfg.data_dir.join("demo-tokens.env");
        let mut env = String::new();
        println!("  Demo users; send the token as `Authorization: Bearer <token>` (valid 12 hours):");
        for u in &users {
            let until = deps.clock.now() + chrono::Duration::hours(12);
            let token = crate::sessions::open_local(&deps, tokens, u.id, 12 * 60, until).await?;
            println!("    {:<24} {:<32} {token}", u.role.as_str(), u.email);
            env.push_str(&format!(
                "{}_TOKEN={token}\n{}_ID={}\n",
                u.role.as_str().to_uppercase(),
                u.role.as_str().to_uppercase(),
                u.id
            ));
        }
        crate::files::write_private(&env_file, env.as_bytes())?;
        println!(
            "  The same tokens (and user ids) as shell variables: source {}",
            env_file.display()
        );
    }
    let extra = match extras {
        Some(make) => Some(
            make(deps.clone(), users.clone(), base.clone(), cfg.data_dir.clone())
                .await
                .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    println!();

    // Connections are checked when due (the sweep reads only those), so every minute as in AWS.
    for (job, every) in [
        (Job::SuspendInactive, 24 * 3600),
        (Job::VerifyConnection, 60),
        (Job::LoginDigest, 3600),
        (Job::DelegationSweep, 3600),
    ] {
        let deps = deps.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(every));
            loop {
                tick.tick().await;
                if let Err(e) = jobs::run(&deps, job).await {
                    tracing::error!(?job, error = %e, "scheduled job failed");
                }
            }
        });
    }

    // Settings deliveries: woken by each change, and every second for retries.
    tokio::spawn(crate::ops::deliveries::work(deps.clone()));

    let mut app = crate::http::portal_router(deps);
    if let Some(extra) = extra {
        app = app.merge(extra);
    }
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
