//! The `login-digest` function (EventBridge, hourly): emails the daily
//! digest of partner sign-ins to the customers whose digest is due
//! (`ops::login_digest::sweep`), reading only those.

use crate::app::Deps;
use crate::error::AppError;
use crate::jobs::{self, JobReport};

/// What this function uses besides the table: SES, for the digests; its
/// Lambda builds only that.
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

/// One run of the digests due.
pub async fn run(deps: &Deps) -> Result<JobReport, AppError> {
    let d = crate::ops::login_digest::sweep(deps).await?;
    jobs::finish(JobReport {
        job: "LoginDigest".into(),
        examined: d.due,
        changed: d.sent,
        digests: Some(d),
        ..Default::default()
    })
}

/// The Lambda's handler: checks the event is a schedule, then runs.
pub async fn handle(deps: &Deps, event: serde_json::Value) -> Result<JobReport, AppError> {
    jobs::scheduled(&event)?;
    run(deps).await
}
