//! Scheduled jobs (EventBridge in AWS, timers in the local portal). Each job
//! is one function of `Deps` so the Lambda, the portal and tests run the same
//! code.

use serde::{Deserialize, Serialize};

use crate::app::Deps;
use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Job {
    /// Suspend partner users inactive for 21 days (issue 6).
    SuspendInactive,
    /// Check the connections to customer instances.
    VerifyConnection,
    /// Deliver the settings changes still due (the stream delivers them first).
    DeliverChanges,
    /// Email the daily digests of partner sign-ins that are due.
    LoginDigest,
    /// Delegated roles' reminders, ends, auto-extensions and lapses that are due.
    DelegationSweep,
}

impl Job {
    /// The adapters the job's Lambda builds besides the table.
    pub fn using(self) -> crate::app::Using {
        use crate::app::Uses;
        match self {
            Job::SuspendInactive => crate::functions::suspend_inactive::Uses::USING,
            Job::VerifyConnection => crate::functions::verify_connection::Uses::USING,
            Job::DeliverChanges => crate::functions::deliver_changes::Uses::USING,
            Job::LoginDigest => crate::functions::login_digest::Uses::USING,
            Job::DelegationSweep => crate::functions::delegation_sweep::Uses::USING,
        }
    }
}

/// The EventBridge scheduled event, as much of it as the jobs use.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ScheduledEvent {
    pub id: String,
    pub source: String,
    pub detail_type: String,
    pub time: chrono::DateTime<chrono::Utc>,
}

/// What a run did; a job with failures returns an error instead so that the
/// schedule's retry and dead-letter queue see it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct JobReport {
    pub job: String,
    pub examined: u64,
    pub changed: u64,
    /// The inactivity sweep's details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<crate::ops::inactivity::SweepReport>,
    /// The connection checks' details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checks: Option<crate::ops::instances::CheckReport>,
    /// The settings deliveries' details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<crate::ops::deliveries::DeliveryReport>,
    /// The partner sign-in digests' details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digests: Option<crate::ops::login_digest::DigestReport>,
    /// The delegated roles' sweep's details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegations: Option<crate::ops::delegation_sweep::DelegationSweepReport>,
}

/// Runs `job` once (the local portal's timers and the tests; each Lambda
/// calls its own function module). A run with failures returns
/// [`AppError::JobFailed`] (after doing all it could), so the schedule's
/// retry and DLQ see it.
#[tracing::instrument(skip_all, fields(job = ?job))]
pub async fn run(deps: &Deps, job: Job) -> Result<JobReport, AppError> {
    match job {
        Job::SuspendInactive => crate::functions::suspend_inactive::run(deps).await,
        Job::VerifyConnection => crate::functions::verify_connection::run(deps).await,
        Job::DeliverChanges => crate::functions::deliver_changes::run(deps).await,
        Job::LoginDigest => crate::functions::login_digest::run(deps).await,
        Job::DelegationSweep => crate::functions::delegation_sweep::run(deps).await,
    }
}

/// Logs what a run did; a run with failures becomes [`AppError::JobFailed`].
pub fn finish(report: JobReport) -> Result<JobReport, AppError> {
    tracing::info!(job = %report.job, examined = report.examined, changed = report.changed, "job finished");
    let failed: Vec<&String> = report
        .sweep
        .iter()
        .flat_map(|s| &s.failed)
        .chain(report.checks.iter().flat_map(|c| &c.failed))
        .chain(report.deliveries.iter().flat_map(|d| &d.failed))
        .chain(report.digests.iter().flat_map(|d| &d.failed))
        .chain(report.delegations.iter().flat_map(|d| &d.failed))
        .collect();
    if !failed.is_empty() {
        tracing::error!(failed = failed.len(), "job finished with failures");
        return Err(AppError::JobFailed {
            job: report.job.clone(),
            examined: report.examined,
            failed: failed.len(),
            which: failed.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("; "),
        });
    }
    Ok(report)
}

/// Checks that a Lambda's event is an EventBridge schedule.
pub fn scheduled(event: &serde_json::Value) -> Result<ScheduledEvent, AppError> {
    let ev = ScheduledEvent::deserialize(event)
        .map_err(|e| AppError::invalid(format!("not an EventBridge scheduled event: {e}")))?;
    tracing::info!(event_id = %ev.id, source = %ev.source, detail_type = %ev.detail_type, scheduled_for = %ev.time, "scheduled run");
    Ok(ev)
}

/// A scheduled Lambda's entry (tests and the portal): checks the event, runs the job.
pub async fn handle_scheduled(deps: &Deps, job: Job, event: serde_json::Value) -> Result<JobReport, AppError> {
    scheduled(&event)?;
    run(deps, job).await
}
