//! The `suspend-inactive` function (EventBridge, daily): warns, then
//! suspends, partner users without activity (`ops::inactivity::sweep`).

use crate::app::Deps;
use crate::error::AppError;
use crate::jobs::{self, JobReport};

/// What this function uses besides the table (suspension ends the identity's sessions; warnings are emailed); its Lambda builds only that.
pub struct Uses;

impl crate::app::Uses for Uses {
    const USING: crate::app::Using = crate::app::Using {
        identity: true,
        mail: true,
        secrets: false,
        outbound: false,
        signer: false,
    };
}

/// One run of the sweep.
pub async fn run(deps: &Deps) -> Result<JobReport, AppError> {
    let s = crate::ops::inactivity::sweep(deps).await?;
    jobs::finish(JobReport {
        job: "SuspendInactive".into(),
        examined: s.examined,
        changed: s.warned + s.suspended,
        sweep: Some(s),
        ..Default::default()
    })
}

/// The Lambda's handler: checks the event is a schedule, then runs.
pub async fn handle(deps: &Deps, event: serde_json::Value) -> Result<JobReport, AppError> {
    jobs::scheduled(&event)?;
    run(deps).await
}
