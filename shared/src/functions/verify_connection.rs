//! The `verify-connection` function (EventBridge, every 5 minutes): checks
//! the connections due (`ops::instances::sweep`), reading only those.

use crate::app::Deps;
use crate::error::AppError;
use crate::jobs::{self, JobReport};

/// What this function uses besides the table: KMS (to open connection
/// secrets), calls to instances, and SES (to tell people a connection
/// broke); its Lambda builds only that.
pub struct Uses;

impl crate::app::Uses for Uses {
    const USING: crate::app::Using = crate::app::Using {
        identity: false,
        mail: true,
        secrets: true,
        outbound: true,
        signer: false,
    };
}

/// One run of the checks.
pub async fn run(deps: &Deps) -> Result<JobReport, AppError> {
    let c = crate::ops::instances::sweep(deps).await?;
    jobs::finish(JobReport {
        job: "VerifyConnection".into(),
        examined: c.examined,
        changed: c.changed,
        checks: Some(c),
        ..Default::default()
    })
}

/// The Lambda's handler: checks the event is a schedule, then runs.
pub async fn handle(deps: &Deps, event: serde_json::Value) -> Result<JobReport, AppError> {
    jobs::scheduled(&event)?;
    run(deps).await
}
