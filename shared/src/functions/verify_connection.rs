//! The `verify-connection` function (EventBridge, hourly): checks the
//! connections to customer instances. The checks arrive with their issue;
//! until then a run examines nothing and says so.

use crate::app::Deps;
use crate::error::AppError;
use crate::jobs::{self, JobReport};

/// What this function uses besides the table (nothing yet); its Lambda builds only that.
pub struct Uses;

impl crate::app::Uses for Uses {
    const USING: crate::app::Using = crate::app::Using {
        identity: false,
        mail: false,
    };
}

/// One run of the checks.
pub async fn run(_deps: &Deps) -> Result<JobReport, AppError> {
    jobs::finish(JobReport {
        job: "VerifyConnection".into(),
        ..Default::default()
    })
}

/// The Lambda's handler: checks the event is a schedule, then runs.
pub async fn handle(deps: &Deps, event: serde_json::Value) -> Result<JobReport, AppError> {
    jobs::scheduled(&event)?;
    run(deps).await
}
