//! The `delegation-sweep` function (EventBridge, hourly): delegated roles'
//! reminders (30, 7 and 1 days before the end), ends, auto-extensions and
//! lapsed requests, and closed groups' members to tidy
//! (`ops::delegation_sweep::sweep`), reading only what is due.

use crate::app::Deps;
use crate::error::AppError;
use crate::jobs::{self, JobReport};

/// What this function uses besides the table: SES, for the reminders and
/// notices; its Lambda builds only that.
pub struct Uses;

impl crate::app::Uses for Uses {
    const USING: crate::app::Using = crate::app::Using {
        identity: false,
        mail: true,
        secrets: false,
        outbound: false,
        signer: false,
    };
}

/// One run of what is due.
pub async fn run(deps: &Deps) -> Result<JobReport, AppError> {
    let d = crate::ops::delegation_sweep::sweep(deps).await?;
    jobs::finish(JobReport {
        job: "DelegationSweep".into(),
        examined: d.due,
        changed: d.reminded + d.extended + d.ended + d.tidied,
        delegations: Some(d),
        ..Default::default()
    })
}

/// The Lambda's handler: checks the event is a schedule, then runs.
pub async fn handle(deps: &Deps, event: serde_json::Value) -> Result<JobReport, AppError> {
    jobs::scheduled(&event)?;
    run(deps).await
}
