//! Reading the activity log: a filtered page, newest first; an export of the
//! same view (verifying the hash chain: [`verify`]); the log's retention.
//!
//! Filters that are key conditions: the organisation (partition), the
//! actor's email (GSI1), one action type (GSI2), several action types (one
//! GSI2 query per type, all in the same round trip, merged), and the time
//! range (a sort-key range on all of them). Applied after reading: the
//! description substring, and the action types when an email is also given.
//! A request reads at most [`READ_BUDGET`] events when a filter is applied
//! after reading (and `limit + 1` per query otherwise); a page that is not
//! full still carries a cursor when the log goes on.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::Deps;
use crate::audit::{ActionType, ActivityEvent, ChainHead, Target};
use crate::authz::{Action, OrgFacts};
use crate::domain::{EmailAddress, OrgId, Organization};
use crate::error::AppError;
use crate::http::principal::Caller;
use crate::ops::{Authenticated, Change, authenticate_full};
use crate::store::{Index, Item, Page, Query, SkCond, StoreError, keys};

mod verify;
pub use verify::*;

/// Default and largest page size.
pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 200;
/// Most events one request reads when a filter is applied after reading.
pub const READ_BUDGET: u32 = 1000;
/// Most rows one export request writes (it ends with a cursor to go on).
pub const MAX_EXPORT: u32 = 100_000;
/// An export stops before this many bytes, counted as the body is encoded
/// in a Lambda response (a JSON string: quotes and backslashes escaped),
/// and says how to go on: a buffered Lambda response carries at most 6 MB.
pub const MAX_EXPORT_BYTES: usize = 5_000_000;

/// Room kept under the cap for the tail that says how to go on.
const TAIL_ROOM: usize = 1024;

/// The length of `bytes` inside a JSON string (as a Lambda response body).
fn encoded_len(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum()
}

/// Filters of `GET /organizations/{id}/activity` (and its export).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActivityFilter {
    /// Only events by this user (their email at the time; exact, case-insensitive).
    pub user: Option<String>,
    /// Only these action types, comma-separated, e.g. `Invite User,Sign In` (case-insensitive).
    pub action: Option<String>,
    /// Only events whose description contains this (case-insensitive).
    pub description: Option<String>,
    /// Only events at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Only events at or before this time (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Page size, 1 to 200 (default 50); for exports, most rows (default and at most 100000).
    pub limit: Option<u32>,
    /// `next` from the previous page.
    pub cursor: Option<String>,
    /// Export only: `csv` (default) or `ndjson`.
    pub format: Option<ExportFormat>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    #[default]
    Csv,
    Ndjson,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivityPage {
    /// Newest first.
    pub items: Vec<ActivityEvent>,
    /// Pass as `cursor` for the next page; absent at the end of the log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Events read to answer (bounded; see the API description).
    pub examined: usize,
}

/// Where a page ends: the sort key of the last event examined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Position {
    before: String,
}

fn sk_shape(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 28 && b[15] == b'#' && b.iter().enumerate().all(|(i, c)| i == 15 || c.is_ascii_digit())
}

fn encode<T: Serialize>(v: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap_or_default())
}

fn decode<T: for<'de> Deserialize<'de>>(s: &str) -> Option<T> {
    if s.len() > 1024 {
        return None;
    }
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).ok()?).ok()
}

/// A filter, checked and turned into queries.
#[derive(Debug, Clone)]
struct Plan {
    org: OrgId,
    actor: Option<EmailAddress>,
    actions: Vec<ActionType>,
    description: Option<String>,
    lo: String,
    hi: String,
    before: Option<String>,
}

impl Plan {
    fn new(org: OrgId, f: &ActivityFilter) -> Result<Self, AppError> {
        let actor = f.user.as_deref().map(EmailAddress::parse).transpose()?;
        let mut actions = Vec::new();
        if let Some(list) = &f.action {
            for name in list.split(',') {
                let a = ActionType::parse(name)
                    .ok_or_else(|| AppError::invalid(format!("action: \"{}\" is not an action type", name.trim())))?;
                if !actions.contains(&a) {
                    actions.push(a);
                }
            }
        }
        let description = f
            .description
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_lowercase);
        if description.as_ref().is_some_and(|d| d.len() > 200) {
            return Err(AppError::invalid("description: at most 200 characters"));
        }
        let from = f.from.map_or(0, |t| t.timestamp_millis().max(0));
        let to = f.to.map_or(crate::store::keys::MAX_MILLIS, |t| {
            t.timestamp_millis().clamp(0, crate::store::keys::MAX_MILLIS)
        });
        if from > to {
            return Err(AppError::invalid("from must not be after to"));
        }
        let (lo, hi) = keys::activity_sk_range(from, to);
        let before = match &f.cursor {
            None => None,
            Some(c) => {
                let p: Position = decode(c)
                    .filter(|p: &Position| sk_shape(&p.before))
                    .ok_or(AppError::Store(StoreError::BadCursor))?;
                Some(p.before)
            }
        };
        Ok(Self {
            org,
            actor,
            actions,
            description,
            lo,
            hi,
            before,
        })
    }

    /// Whether some filter is applied after reading.
    fn filters_after_reading(&self) -> bool {
        self.description.is_some() || (self.actor.is_some() && !self.actions.is_empty())
    }

    /// The queries (run together) for a page of `limit`.
    fn queries(&self, limit: u32) -> Vec<Query> {
        let hi = match &self.before {
            Some(b) if *b < self.hi => b.clone(),
            _ => self.hi.clone(),
        };
        if hi < self.lo {
            // Nothing can match (DynamoDB refuses such a BETWEEN).
            return Vec::new();
        }
        let sk = SkCond::Between(self.lo.clone(), hi);
        let partitions: Vec<(Index, String)> = match (&self.actor, self.actions.as_slice()) {
            (Some(email), _) => vec![(Index::Gsi1, keys::activity_by_actor(self.org, email))],
            (None, []) => vec![(Index::Primary, keys::activity_partition(self.org))],
            (None, actions) => actions
                .iter()
                .map(|a| (Index::Gsi2, keys::activity_by_action(self.org, *a)))
                .collect(),
        };
        let per_query = if self.filters_after_reading() {
            (READ_BUDGET / partitions.len() as u32).max(limit + 1)
        } else {
            limit + 1
        };
        partitions
            .into_iter()
            .map(|(index, pk)| Query::partition(index, pk).sk(sk.clone()).limit(per_query).backward())
            .collect()
    }

    fn keeps(&self, e: &ActivityEvent) -> bool {
        (self.actions.is_empty() || self.actions.contains(&e.action))
            && self
                .description
                .as_ref()
                .is_none_or(|d| e.description.to_lowercase().contains(d.as_str()))
    }

    /// Merges the pages of [`Plan::queries`] into one page of `limit`.
    fn page(&self, pages: Vec<Page>, limit: u32) -> Result<ActivityPage, AppError> {
        // Below the highest last key of a query that has more, some events
        // are not read yet: only events above it are complete.
        let frontier = pages
            .iter()
            .filter(|p| p.next.is_some())
            .filter_map(|p| p.items.last().map(|i| i.sk.clone()))
            .max();
        let mut read: Vec<Item> = pages.into_iter().flat_map(|p| p.items).collect();
        let examined = read.len();
        read.retain(|i| self.before.as_ref().is_none_or(|b| i.sk < *b));
        read.retain(|i| frontier.as_ref().is_none_or(|f| i.sk >= *f));
        read.sort_by(|a, b| b.sk.cmp(&a.sk));
        let mut items = Vec::new();
        let mut last = None;
        let mut rest = read.into_iter();
        for item in rest.by_ref() {
            let e: ActivityEvent = item.decode()?;
            last = Some(item.sk.clone());
            if self.keeps(&e) {
                items.push(e);
                if items.len() as u32 == limit {
                    break;
                }
            }
        }
        let more = rest.next().is_some() || frontier.is_some();
        let next = match (more, last) {
            (true, Some(before)) => Some(encode(&Position { before })),
            _ => None,
        };
        Ok(ActivityPage { items, next, examined })
    }
}

async fn run(deps: &Deps, queries: &[Query]) -> Result<Vec<Page>, StoreError> {
    futures::future::try_join_all(queries.iter().map(|q| deps.table.query(q))).await
}

/// Authenticates and reads the organisation with what the caller holds
/// there (a partner's users read a customer's log holding activity.view).
async fn org_and_held(
    deps: &Deps,
    caller: &Caller,
    org: OrgId,
) -> Result<(Authenticated, Organization, crate::authz::Held), AppError> {
    let [h0, h1, h2, h3] = crate::delegations::held_keys(caller.user_id, caller.org_id, org);
    let (a, [item, h0, h1, h2, h3]) = authenticate_full(deps, caller, [keys::org(org), h0, h1, h2, h3]).await?;
    let o: Organization = item.ok_or(AppError::NotFound)?.decode()?;
    let held = crate::delegations::held_from([h0, h1, h2, h3], deps.clock.now())?;
    Ok((a, o, held))
}

/// Authenticates, reads the organisation and checks `action` on it; `also`
/// runs in the same round trip (it is discarded if the caller may not).
async fn guarded<T>(
    deps: &Deps,
    caller: &Caller,
    org: OrgId,
    action: Action,
    also: impl std::future::Future<Output = T>,
) -> Result<(Authenticated, Organization, T), AppError> {
    let (auth, t) = futures::future::join(org_and_held(deps, caller, org), also).await;
    let (a, o, held) = auth?;
    deps.authz
        .require_holding(&a.actor.principal, action, &OrgFacts::from(&o), &held)?;
    Ok((a, o, t))
}

/// Whether the caller may verify `org`'s chain (the log page's button): 1 read.
pub async fn may_verify(deps: &Deps, caller: &Caller, org: OrgId) -> Result<bool, AppError> {
    let (a, o, held) = org_and_held(deps, caller, org).await?;
    deps.authz
        .is_allowed_holding(&a.actor.principal, Action::VerifyActivity, &OrgFacts::from(&o), &held)
}

/// One page, newest first. 1 read round trip: the caller, the organisation
/// and the page's queries together.
pub async fn list(deps: &Deps, caller: &Caller, org: OrgId, f: ActivityFilter) -> Result<ActivityPage, AppError> {
    let limit = f.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(AppError::invalid(format!("limit must be 1 to {MAX_PAGE}")));
    }
    if f.format.is_some() {
        return Err(AppError::invalid("format applies to the export only"));
    }
    let plan = Plan::new(org, &f)?;
    let queries = plan.queries(limit);
    let (_, _, pages) = guarded(deps, caller, org, Action::ViewActivity, run(deps, &queries)).await?;
    plan.page(pages?, limit)
}

/// A workspace project's own log (the platform: it holds every phase's
/// events), one page, newest first. 1 read round trip: the caller, the
/// project and the page's queries together.
pub async fn list_project(
    deps: &Deps,
    caller: &Caller,
    project: crate::domain::ProjectId,
    f: ActivityFilter,
) -> Result<ActivityPage, AppError> {
    let limit = f.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(AppError::invalid(format!("limit must be 1 to {MAX_PAGE}")));
    }
    if f.format.is_some() {
        return Err(AppError::invalid("format applies to the export only"));
    }
    let plan = Plan::new(keys::project_log(project), &f)?;
    let queries = plan.queries(limit);
    let (loaded, pages) = futures::future::join(
        crate::ops::workspace::load(deps, caller, project, vec![], None),
        run(deps, &queries),
    )
    .await;
    let (ctx, _, _) = loaded?;
    ctx.require(deps, crate::authz::ProjectAction::EditProject, None)?;
    plan.page(pages?, limit)
}

/// An export: the rows of the filtered view, newest first, in pages of 500.
pub struct Export {
    deps: crate::app::AppState,
    plan: Plan,
    pub format: ExportFormat,
    left: u32,
    done: bool,
    header_sent: bool,
    /// Bytes produced so far.
    sent: usize,
    /// The first chunk's pages, read with the authorization.
    first: Option<Result<Vec<Page>, StoreError>>,
}

/// Checks the caller may read the log and the filter is sound (1 read round trip).
pub async fn export(
    deps: &crate::app::AppState,
    caller: &Caller,
    org: OrgId,
    f: ActivityFilter,
) -> Result<Export, AppError> {
    let left = f.limit.unwrap_or(MAX_EXPORT);
    if !(1..=MAX_EXPORT).contains(&left) {
        return Err(AppError::invalid(format!("limit must be 1 to {MAX_EXPORT}")));
    }
    let plan = Plan::new(org, &f)?;
    let queries = plan.queries(Export::CHUNK.min(left));
    let (_, _, first) = guarded(deps, caller, org, Action::ViewActivity, run(deps, &queries)).await?;
    Ok(Export {
        deps: deps.clone(),
        plan,
        format: f.format.unwrap_or_default(),
        left,
        done: false,
        header_sent: false,
        sent: 0,
        first: Some(first),
    })
}

const CSV_COLUMNS: [&str; 15] = [
    "id",
    "at",
    "seq",
    "actorEmail",
    "actorUserId",
    "actorOrgId",
    "orgId",
    "action",
    "targetKind",
    "targetId",
    "description",
    "sourceIp",
    "before",
    "after",
    "hash",
];

/// A cell a spreadsheet would take for a formula gets a leading `'`
/// (descriptions carry user-chosen names and addresses).
fn cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

fn csv_rows(rows: &[Vec<String>]) -> Result<Vec<u8>, AppError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        let r: Vec<String> = r.iter().map(|c| cell(c)).collect();
        w.write_record(&r).map_err(|e| AppError::Internal(e.to_string()))?;
    }
    w.into_inner().map_err(|e| AppError::Internal(e.to_string()))
}

fn json_text(v: &Option<serde_json::Value>) -> String {
    v.as_ref().map(|v| v.to_string()).unwrap_or_default()
}

impl Export {
    pub const CHUNK: u32 = 500;

    pub fn content_type(&self) -> &'static str {
        match self.format {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Ndjson => "application/x-ndjson",
        }
    }

    /// The next chunk of the body; `None` at the end. Each chunk is one read round trip.
    pub async fn next_chunk(&mut self) -> Option<Result<Vec<u8>, AppError>> {
        if self.done {
            return None;
        }
        let mut out = Vec::new();
        if !self.header_sent && self.format == ExportFormat::Csv {
            match csv_rows(&[CSV_COLUMNS.iter().map(|c| c.to_string()).collect()]) {
                Ok(b) => out.extend(b),
                Err(e) => return Some(Err(e)),
            }
        }
        self.header_sent = true;
        let limit = Self::CHUNK.min(self.left);
        let pages = match self.first.take() {
            Some(pages) => pages,
            None => run(&self.deps, &self.plan.queries(limit)).await,
        };
        let page = match pages {
            Ok(pages) => self.plan.page(pages, limit),
            Err(e) => Err(e.into()),
        };
        let page = match page {
            Ok(p) => p,
            Err(e) => return Some(Err(e)),
        };
        self.sent += encoded_len(&out);
        // Row by row, so that the size cap falls between two events: the
        // tail's cursor goes on right after the last one sent.
        let mut last_sent: Option<String> = None;
        let mut cut = false;
        let mut taken = 0u32;
        for e in &page.items {
            let row = match self.rows(std::slice::from_ref(e)) {
                Ok(b) => b,
                Err(e) => return Some(Err(e)),
            };
            let len = encoded_len(&row);
            if self.sent + len > MAX_EXPORT_BYTES - TAIL_ROOM && self.sent > 0 {
                cut = true;
                break;
            }
            self.sent += len;
            out.extend(row);
            taken += 1;
            last_sent = Some(keys::activity_sk(e.at.timestamp_millis(), e.seq));
        }
        self.left -= taken;
        let next = match (cut, last_sent) {
            (true, Some(before)) => Some(encode(&Position { before })),
            // Cut before the first event of this chunk: go on from where it started.
            (true, None) => self.plan.before.clone().map(|before| encode(&Position { before })),
            (false, _) => page.next,
        };
        match next {
            None => self.done = true,
            Some(next) if self.left == 0 || cut => {
                // The cap: say where to go on from.
                self.done = true;
                let tail = match self.format {
                    ExportFormat::Ndjson => Ok(format!("{}\n", serde_json::json!({ "next": next })).into_bytes()),
                    ExportFormat::Csv => {
                        let mut row = vec![String::new(); CSV_COLUMNS.len()];
                        row[10] = format!("more events follow: export again with cursor={next}");
                        csv_rows(&[row])
                    }
                };
                match tail {
                    Ok(b) => out.extend(b),
                    Err(e) => return Some(Err(e)),
                }
            }
            Some(next) => {
                self.plan.before = decode::<Position>(&next).map(|p| p.before);
            }
        }
        Some(Ok(out))
    }

    fn rows(&self, events: &[ActivityEvent]) -> Result<Vec<u8>, AppError> {
        match self.format {
            ExportFormat::Ndjson => {
                let mut out = Vec::new();
                for e in events {
                    serde_json::to_writer(&mut out, e).map_err(|e| AppError::Internal(e.to_string()))?;
                    out.push(b'\n');
                }
                Ok(out)
            }
            ExportFormat::Csv => csv_rows(
                &events
                    .iter()
                    .map(|e| {
                        vec![
                            e.id.to_string(),
                            e.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                            e.seq.to_string(),
                            e.actor_email.as_ref().map(|v| v.to_string()).unwrap_or_default(),
                            e.actor_user_id.map(|v| v.to_string()).unwrap_or_default(),
                            e.actor_org_id.map(|v| v.to_string()).unwrap_or_default(),
                            e.org_id.to_string(),
                            e.action.name().to_string(),
                            e.target.kind.clone(),
                            e.target.id.clone(),
                            e.description.clone(),
                            e.source_ip.clone(),
                            json_text(&e.before),
                            json_text(&e.after),
                            e.hash.clone(),
                        ]
                    })
                    .collect::<Vec<_>>(),
            ),
        }
    }
}

/// Body of `PUT /organizations/{id}/activity/retention`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Retention {
    /// Days events are kept, 1 to 36500; null keeps them (the default).
    pub days: Option<u32>,
}

/// The log's retention (who may read the log may read it). 1 read round trip.
pub async fn get_retention(deps: &Deps, caller: &Caller, org: OrgId) -> Result<Retention, AppError> {
    let (a, _, ()) = guarded(deps, caller, org, Action::ViewActivity, async {}).await?;
    let head = ChainHead::decode(a.actor.prefetched_head(org).flatten().as_ref())?;
    Ok(Retention {
        days: head.and_then(|(h, _)| h.retention_days),
    })
}

/// Sets the retention for events written from now on (platform admins).
/// Events already written keep the expiry they were written with. 1 read, 1 write.
pub async fn put_retention(deps: &Deps, caller: &Caller, org: OrgId, input: Retention) -> Result<Retention, AppError> {
    if input.days.is_some_and(|d| !(1..=36_500).contains(&d)) {
        return Err(AppError::invalid("days must be 1 to 36500, or null to keep events"));
    }
    let (a, o, ()) = guarded(deps, caller, org, Action::ManageActivityRetention, async {}).await?;
    let head = ChainHead::decode(a.actor.prefetched_head(org).flatten().as_ref())?;
    let before = head.as_ref().and_then(|(h, _)| h.retention_days);
    if before == input.days {
        return Ok(input);
    }
    let said = |d: Option<u32>| d.map_or("kept".to_string(), |d| format!("kept {d} days"));
    let mut change = Change::new(
        deps,
        &a.actor,
        o.id,
        ActionType::UpdateOrganization,
        Target::organization(o.id),
        format!(
            "Activity events of \"{}\" are now {} (were {})",
            o.name.as_str(),
            said(input.days),
            said(before)
        ),
    )
    .retention(input.days)
    .after(serde_json::json!({ "retentionDays": input.days }));
    change.event.before = Some(serde_json::json!({ "retentionDays": before }));
    change.commit(deps).await?;
    Ok(input)
}
