//! One module per operation: load what it needs, ask `authz`, build the
//! write set (the change and its activity event), commit it in one
//! transaction.

pub mod organizations;

use crate::app::Deps;
use crate::audit::{ActionType, ActivityEvent, Actor, Target};
use crate::domain::{EventId, OrgId};
use crate::error::AppError;
use crate::store::{Cond, StoreError, Write};

/// A change and its activity event, committed together or not at all.
pub struct Change {
    pub writes: Vec<Write>,
    pub event: ActivityEvent,
}

impl Change {
    /// Starts a change whose event concerns `org`.
    pub fn new(
        deps: &Deps,
        actor: &Actor,
        org: OrgId,
        action: ActionType,
        target: Target,
        description: String,
    ) -> Self {
        let event = ActivityEvent {
            id: EventId(deps.ids.new_id()),
            at: deps.clock.now(),
            actor_user_id: actor.principal.user_id,
            actor_email: actor.principal.email.clone(),
            actor_org_id: actor.principal.org_id,
            org_id: org,
            action,
            target,
            description,
            source_ip: actor.source_ip.clone(),
            before: None,
            after: None,
        };
        Self {
            writes: Vec::new(),
            event,
        }
    }

    pub fn write(mut self, w: Write) -> Self {
        self.writes.push(w);
        self
    }

    pub fn after(mut self, v: serde_json::Value) -> Self {
        self.event.after = Some(v);
        self
    }

    /// Commits the writes and the event in one transaction. A failed
    /// condition comes back as `StoreError::ConditionFailed { index }` where
    /// `index` is the position in `writes` (the event is last).
    pub async fn commit(self, deps: &Deps) -> Result<(), StoreError> {
        let mut writes = self.writes;
        writes.push(Write::Put {
            item: self.event.item()?,
            cond: Cond::MustNotExist,
        });
        deps.table.transact(writes).await
    }
}

/// Maps a failed write condition to what the caller should hear.
pub(crate) fn on_condition(e: StoreError, explain: impl Fn(usize) -> Option<AppError>) -> AppError {
    match e {
        StoreError::ConditionFailed { index } => explain(index).unwrap_or(AppError::Store(e)),
        other => AppError::Store(other),
    }
}
