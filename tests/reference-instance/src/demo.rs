//! The local portal's demo instances: Contoso's and Fabrikam's, each a
//! reference instance served by the portal itself under
//! `/_reference/<slug>` (registered on the first start, their secrets kept
//! in the data directory). Each pulls its settings once the portal listens,
//! as an instance does when it starts.

use portico_core::app::AppState;
use portico_core::instances::Profile;
use portico_core::portal::Extras;
use portico_core::seed::{self, DemoUser};

use crate::{Instance, Setup};

/// The portal's extras: the demo instances' routes.
pub fn extras() -> Option<Extras> {
    Some(Box::new(|deps, users, base, dir| {
        Box::pin(async move { mount(deps, users, base, dir).await })
    }))
}

async fn mount(
    deps: AppState,
    users: Vec<DemoUser>,
    base: String,
    dir: std::path::PathBuf,
) -> Result<axum::Router, Box<dyn std::error::Error + Send + Sync>> {
    let demos = seed::demo_instances(&deps, &users, &base, &dir)
        .await
        .map_err(|e| e.to_string())?;
    let mut router = axum::Router::new();
    for d in demos {
        let instance = Instance::new();
        instance.configure(Setup {
            instance_id: d.instance_id.to_string(),
            secret: d.secret,
            url: d.url.clone(),
            profile: Profile::Present,
        });
        instance.set_portico(&base);
        instance.set_issuer(&deps.settings.public_url);
        // What it was sent before this start (an instance keeps its profile).
        if let Ok(Some(item)) = deps
            .table
            .get(&portico_core::store::keys::instance(d.instance_id))
            .await
            && let Ok(i) = item.decode::<portico_core::instances::Instance>()
            && i.profile.provisioned.is_some()
        {
            instance.restore_profile(i.profile_message());
        }
        println!(
            "  Demo instance: {}  (a reference instance, tests/reference-instance)",
            d.url
        );
        router = router.nest(&format!("/_reference/{}", d.slug), crate::router(instance.clone()));
        tokio::spawn(async move {
            // Once the portal listens (it starts right after this).
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            if let Err(e) = instance.pull().await {
                tracing::warn!(error = %e, "a demo instance could not pull its settings");
            }
        });
    }
    Ok(router)
}
