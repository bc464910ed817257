//! Seed 001's co-delivery workspace: projects the platform runs with its
//! partners for a customer, the access levels participants hold per
//! phase, the fields hidden from or read-only to external participants,
//! the delivery items (milestones, tasks, RAID, status reports), and each
//! person's resource profile, timesheets and expenses.
//!
//! Who may do what is decided in Cedar (`authz`, `policies/portico.cedar`):
//! this module holds the records and the rules of their shape. Keys and
//! access patterns: `store::keys`, `docs/access-patterns.md` rows 76–87.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{EntryId, ExpenseId, ItemId, OrgId, OrgKind, ProjectId, UserId};
use crate::error::AppError;
use crate::store::{Item, StoreError, keys};

/// What an access level lets a participant do in a phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// See the project, the phase and its items.
    Read,
    /// Add and update tasks.
    Tasks,
    /// Log time against the phase's tasks.
    Time,
    /// Add and update milestones.
    Milestones,
    /// Add and update RAID entries.
    Raid,
    /// File status reports.
    Reports,
    /// Set the project's health.
    Health,
}

impl Permission {
    pub const ALL: [Permission; 7] = [
        Permission::Read,
        Permission::Tasks,
        Permission::Time,
        Permission::Milestones,
        Permission::Raid,
        Permission::Reports,
        Permission::Health,
    ];

    /// Its name in the policies' `context.may`.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::Tasks => "tasks",
            Permission::Time => "time",
            Permission::Milestones => "milestones",
            Permission::Raid => "raid",
            Permission::Reports => "reports",
            Permission::Health => "health",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::Tasks => "add and update tasks",
            Permission::Time => "log time",
            Permission::Milestones => "manage milestones",
            Permission::Raid => "manage the RAID log",
            Permission::Reports => "file status reports",
            Permission::Health => "set the project's health",
        }
    }
}

/// A named set of permissions ("Viewer", "Contributor", "Delivery Lead").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccessLevel {
    /// 1 to 40 characters, unique.
    pub name: String,
    /// What it lets a participant do; every level includes `read`.
    pub may: BTreeSet<Permission>,
}

/// A field whose visibility to external participants the platform decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
pub enum FieldName {
    /// A project's budget.
    #[serde(rename = "project.budget")]
    ProjectBudget,
    /// A project's internal notes.
    #[serde(rename = "project.internalNotes")]
    ProjectInternalNotes,
    /// A task's estimate.
    #[serde(rename = "task.estimate")]
    TaskEstimate,
    /// A status report's customer sentiment.
    #[serde(rename = "report.customerSentiment")]
    ReportCustomerSentiment,
}

impl FieldName {
    pub const ALL: [FieldName; 4] = [
        FieldName::ProjectBudget,
        FieldName::ProjectInternalNotes,
        FieldName::TaskEstimate,
        FieldName::ReportCustomerSentiment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FieldName::ProjectBudget => "project.budget",
            FieldName::ProjectInternalNotes => "project.internalNotes",
            FieldName::TaskEstimate => "task.estimate",
            FieldName::ReportCustomerSentiment => "report.customerSentiment",
        }
    }

    /// Its name in a record's JSON.
    pub fn json_name(self) -> &'static str {
        match self {
            FieldName::ProjectBudget => "budget",
            FieldName::ProjectInternalNotes => "internalNotes",
            FieldName::TaskEstimate => "estimate",
            FieldName::ReportCustomerSentiment => "customerSentiment",
        }
    }
}

/// How a field shows to external participants, whatever their level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldRule {
    /// Omitted from what they read; they cannot set it.
    pub hidden: bool,
    /// They read it and cannot set it.
    pub read_only: bool,
}

/// The workspace's access levels, the default level for partners added to
/// a project without one, and the field rules. One item; version 0 until
/// the platform first saves it (the defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkspaceConfig {
    /// 1 to 20 levels.
    pub levels: Vec<AccessLevel>,
    /// Seed 001's Default External Project Access Level: the level a
    /// partner participant gets when none is given and their project role
    /// has no default of its own.
    pub default_external_level: String,
    /// Per project role ("Consultant", "Architect"): its default level.
    #[serde(default)]
    pub default_level_by_role: BTreeMap<String, String>,
    /// Per field: hidden from, or read-only to, external participants.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub field_rules: BTreeMap<FieldName, FieldRule>,
    /// The version read (0: the defaults, never saved).
    #[serde(default)]
    pub version: u64,
}

pub const MAX_LEVELS: usize = 20;
pub const MAX_ROLE_DEFAULTS: usize = 50;

impl Default for WorkspaceConfig {
    fn default() -> Self {
        use Permission::*;
        let level = |name: &str, may: &[Permission]| AccessLevel {
            name: name.to_string(),
            may: may.iter().copied().collect(),
        };
        Self {
            levels: vec![
                level("Viewer", &[Read]),
                level("Contributor", &[Read, Tasks, Time]),
                level("Delivery Lead", &[Read, Tasks, Time, Milestones, Raid, Reports, Health]),
            ],
            default_external_level: "Contributor".into(),
            default_level_by_role: BTreeMap::new(),
            field_rules: BTreeMap::from([
                (
                    FieldName::ProjectBudget,
                    FieldRule {
                        hidden: true,
                        read_only: true,
                    },
                ),
                (
                    FieldName::ProjectInternalNotes,
                    FieldRule {
                        hidden: true,
                        read_only: true,
                    },
                ),
                (
                    FieldName::ReportCustomerSentiment,
                    FieldRule {
                        hidden: false,
                        read_only: true,
                    },
                ),
            ]),
            version: 0,
        }
    }
}

impl WorkspaceConfig {
    pub fn from_item(item: Option<&Item>) -> Result<Self, StoreError> {
        match item {
            None => Ok(Self::default()),
            Some(i) => {
                let mut c: Self = i.decode()?;
                c.version = i.version;
                Ok(c)
            }
        }
    }

    pub fn item(&self) -> Result<Item, StoreError> {
        Item::new(keys::workspace_config(), keys::WORKSPACE_CONFIG, self.version, self)
    }

    pub fn level(&self, name: &str) -> Option<&AccessLevel> {
        self.levels.iter().find(|l| l.name == name)
    }

    pub fn rule(&self, field: FieldName) -> FieldRule {
        self.field_rules.get(&field).copied().unwrap_or_default()
    }

    /// The level a new participant with `role` gets when none is given.
    pub fn default_level(&self, role: &str) -> &str {
        self.default_level_by_role
            .get(role)
            .map_or(self.default_external_level.as_str(), String::as_str)
    }

    /// Refuses a configuration that names a level it does not define.
    pub fn check(&mut self) -> Result<(), AppError> {
        if self.levels.is_empty() || self.levels.len() > MAX_LEVELS {
            return Err(AppError::invalid(format!("levels: 1 to {MAX_LEVELS}")));
        }
        let mut seen = BTreeSet::new();
        for l in &mut self.levels {
            l.name = text("a level's name", &l.name, 40)?;
            if !seen.insert(l.name.clone()) {
                return Err(AppError::invalid(format!("level \"{}\" is defined twice", l.name)));
            }
            if !l.may.contains(&Permission::Read) {
                return Err(AppError::invalid(format!(
                    "level \"{}\" must include read: a participant who may do anything may see what they do it to",
                    l.name
                )));
            }
        }
        if self.level(&self.default_external_level).is_none() {
            return Err(AppError::invalid(format!(
                "defaultExternalLevel \"{}\" is not one of the levels",
                self.default_external_level
            )));
        }
        if self.default_level_by_role.len() > MAX_ROLE_DEFAULTS {
            return Err(AppError::invalid(format!(
                "defaultLevelByRole: at most {MAX_ROLE_DEFAULTS} roles"
            )));
        }
        let mut by_role = BTreeMap::new();
        for (role, level) in &self.default_level_by_role {
            let role = text("a project role", role, 60)?;
            if self.level(level).is_none() {
                return Err(AppError::invalid(format!(
                    "the default level for \"{role}\", \"{level}\", is not one of the levels"
                )));
            }
            by_role.insert(role, level.clone());
        }
        self.default_level_by_role = by_role;
        for rule in self.field_rules.values_mut() {
            // A field they cannot see is not one they can set.
            rule.read_only |= rule.hidden;
        }
        Ok(())
    }
}

/// A project's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Green,
    Amber,
    Red,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Green => "green",
            Health::Amber => "amber",
            Health::Red => "red",
        }
    }
}

/// One phase of a project (numbered from 1, in order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Phase {
    pub number: u8,
    pub name: String,
}

pub const MAX_PHASES: usize = 20;

/// Money: an exact decimal amount (a string, e.g. "1250.00") and its ISO
/// 4217 currency code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Money {
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = String, example = "1250.00")]
    pub amount: Decimal,
    /// Three capital letters, e.g. "EUR".
    pub currency: String,
}

/// Most an amount may be: 1,000,000,000 in any currency.
const MAX_AMOUNT: i64 = 1_000_000_000;

impl Money {
    pub fn check(&mut self, what: &str) -> Result<(), AppError> {
        self.currency = currency(&self.currency)?;
        if self.amount.is_sign_negative() || self.amount > Decimal::from(MAX_AMOUNT) || self.amount.scale() > 3 {
            return Err(AppError::invalid(format!(
                "{what} must be 0 to {MAX_AMOUNT}, with at most 3 decimal places"
            )));
        }
        self.amount = self.amount.normalize();
        if self.amount.scale() < 2 {
            self.amount.rescale(2);
        }
        Ok(())
    }
}

/// An ISO 4217 code's shape: three capital letters.
pub fn currency(s: &str) -> Result<String, AppError> {
    if s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(s.to_string())
    } else {
        Err(AppError::invalid(
            "currency must be an ISO 4217 code: three capital letters, e.g. EUR",
        ))
    }
}

/// A project: the customer it delivers to, its phases and health, and the
/// fields external participants may not see (budget, internal notes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    pub id: ProjectId,
    /// The platform organisation running it.
    pub owner: OrgId,
    pub customer: OrgId,
    pub customer_name: String,
    pub name: String,
    pub phases: Vec<Phase>,
    pub health: Health,
    #[serde(default)]
    pub health_reason: String,
    /// When delivery started (time to value counts from it).
    pub start: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Money>,
    #[serde(default)]
    pub internal_notes: String,
    /// Set when a partner user first joins it: partner-led delivery.
    #[serde(default)]
    pub partner_led: bool,
    /// The earliest actual date of a milestone that marks value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_reached: Option<NaiveDate>,
    /// The milestone whose date `value_reached` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_milestone: Option<ItemId>,
    /// How many take part in it.
    #[serde(default)]
    pub members: u32,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub version: u64,
}

impl Project {
    pub fn from_item(item: &Item) -> Result<Self, StoreError> {
        let mut p: Self = item.decode()?;
        p.version = item.version;
        Ok(p)
    }

    pub fn item(&self) -> Result<Item, StoreError> {
        Ok(Item::new(keys::project(self.id), keys::PROJECT, self.version, self)?
            .with_gsi1(keys::ALL_PROJECTS, keys::project_listing_sk(&self.name, self.id)))
    }

    pub fn phase(&self, n: u8) -> Option<&Phase> {
        self.phases.iter().find(|p| p.number == n)
    }

    /// Days from the start to the first value milestone's actual date.
    pub fn time_to_value_days(&self) -> Option<i64> {
        self.value_reached.map(|d| (d - self.start).num_days())
    }

    pub fn delivery(&self) -> Delivery {
        if self.partner_led {
            Delivery::PartnerLed
        } else {
            Delivery::Direct
        }
    }
}

/// Who delivers a project: the platform alone, or with a partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Delivery {
    Direct,
    PartnerLed,
}

/// A participant's place in one phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Assignment {
    pub phase: u8,
    /// Their role on the project ("Consultant", "Architect").
    pub role: String,
    /// One of the workspace's access levels.
    pub level: String,
}

/// A person's place on a project: the phases they are assigned to, each
/// with a role and an access level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub project_id: ProjectId,
    /// The project's name (kept in step when it is renamed).
    pub project_name: String,
    pub user_id: UserId,
    pub org_id: OrgId,
    pub org_kind: OrgKind,
    pub display_name: String,
    /// Their email address (the platform adds people by it).
    #[serde(default)]
    pub email: String,
    pub phases: Vec<Assignment>,
    pub version: u64,
}

impl Member {
    pub fn from_item(item: &Item) -> Result<Self, StoreError> {
        let mut m: Self = item.decode()?;
        m.version = item.version;
        Ok(m)
    }

    pub fn item(&self) -> Result<Item, StoreError> {
        Ok(Item::new(
            keys::member(self.project_id, self.user_id),
            keys::MEMBER,
            self.version,
            self,
        )?
        .with_gsi1(keys::user_projects(self.user_id), self.project_id.to_string()))
    }

    pub fn in_phase(&self, n: u8) -> Option<&Assignment> {
        self.phases.iter().find(|a| a.phase == n)
    }

    /// What the member may do in phase `n` (nothing outside their phases).
    pub fn may_in(&self, config: &WorkspaceConfig, n: u8) -> BTreeSet<Permission> {
        self.in_phase(n)
            .and_then(|a| config.level(&a.level))
            .map(|l| l.may.clone())
            .unwrap_or_default()
    }

    /// What the member may do in any of their phases (the project as a whole).
    pub fn may_anywhere(&self, config: &WorkspaceConfig) -> BTreeSet<Permission> {
        self.phases
            .iter()
            .filter_map(|a| config.level(&a.level))
            .flat_map(|l| l.may.iter().copied())
            .collect()
    }
}

/// The kinds of a phase's delivery items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Milestone,
    Task,
    Raid,
}

impl ItemKind {
    pub fn prefix(self) -> &'static str {
        match self {
            ItemKind::Milestone => "MILESTONE",
            ItemKind::Task => "TASK",
            ItemKind::Raid => "RAID",
        }
    }
    pub fn entity(self) -> &'static str {
        match self {
            ItemKind::Milestone => "Milestone",
            ItemKind::Task => "Task",
            ItemKind::Raid => "RaidEntry",
        }
    }
    pub fn noun(self) -> &'static str {
        match self {
            ItemKind::Milestone => "milestone",
            ItemKind::Task => "task",
            ItemKind::Raid => "RAID entry",
        }
    }
    /// What a participant's level must include to add or change one.
    pub fn permission(self) -> Permission {
        match self {
            ItemKind::Milestone => Permission::Milestones,
            ItemKind::Task => Permission::Tasks,
            ItemKind::Raid => Permission::Raid,
        }
    }
}

/// A milestone: planned and actual dates. One that marks value (go-live,
/// first use) gives the project its time to value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MilestoneFields {
    /// 1 to 200 characters.
    pub name: String,
    pub planned: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<NaiveDate>,
    /// Whether reaching it is when the customer gets value.
    #[serde(default)]
    pub marks_value: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Todo,
    InProgress,
    Blocked,
    Done,
}

/// A task: an assignee (a participant), a status and an estimate in hours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskFields {
    /// 1 to 200 characters.
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<UserId>,
    pub status: TaskStatus,
    /// Hours, e.g. "12.5" (0 to 10000, at most 2 decimal places). Subject to the field rules.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_decimal")]
    #[schema(value_type = Option<String>, example = "12.5")]
    pub estimate: Option<Decimal>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RaidKind {
    Risk,
    Assumption,
    Issue,
    Decision,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RaidStatus {
    Open,
    Mitigating,
    Closed,
}

/// A RAID log entry: a risk, assumption, issue or decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RaidFields {
    pub kind: RaidKind,
    /// 1 to 200 characters.
    pub title: String,
    /// Up to 4000 characters.
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<UserId>,
    pub severity: Severity,
    pub status: RaidStatus,
}

/// The fields of one kind of delivery item.
pub trait ItemFields: Clone + Serialize + serde::de::DeserializeOwned + PartialEq + Send + Sync + 'static {
    const KIND: ItemKind;
    /// Trims and checks the fields.
    fn check(&mut self) -> Result<(), AppError>;
    /// The field rules that apply, with the value's presence.
    fn guarded(&self) -> Vec<(FieldName, bool)> {
        Vec::new()
    }
    /// Keeps `from`'s value of a field the caller may not set.
    fn keep(&mut self, _field: FieldName, _from: &Self) {}
    /// Clears a field the caller may not see.
    fn hide(&mut self, _field: FieldName) {}
    /// A short title for events and pages.
    fn title(&self) -> &str;
    /// People it names, who must be participants.
    fn people(&self) -> Vec<UserId> {
        Vec::new()
    }
}

impl ItemFields for MilestoneFields {
    const KIND: ItemKind = ItemKind::Milestone;
    fn check(&mut self) -> Result<(), AppError> {
        self.name = text("name", &self.name, 200)?;
        Ok(())
    }
    fn title(&self) -> &str {
        &self.name
    }
}

impl ItemFields for TaskFields {
    const KIND: ItemKind = ItemKind::Task;
    fn check(&mut self) -> Result<(), AppError> {
        self.title = text("title", &self.title, 200)?;
        if let Some(e) = &mut self.estimate {
            *e = hours(*e, Decimal::from(10_000), "estimate")?;
        }
        Ok(())
    }
    fn guarded(&self) -> Vec<(FieldName, bool)> {
        vec![(FieldName::TaskEstimate, self.estimate.is_some())]
    }
    fn keep(&mut self, field: FieldName, from: &Self) {
        if field == FieldName::TaskEstimate {
            self.estimate = from.estimate;
        }
    }
    fn hide(&mut self, field: FieldName) {
        if field == FieldName::TaskEstimate {
            self.estimate = None;
        }
    }
    fn title(&self) -> &str {
        &self.title
    }
    fn people(&self) -> Vec<UserId> {
        self.assignee.into_iter().collect()
    }
}

impl ItemFields for RaidFields {
    const KIND: ItemKind = ItemKind::Raid;
    fn check(&mut self) -> Result<(), AppError> {
        self.title = text("title", &self.title, 200)?;
        self.description = long_text("description", &self.description, 4000)?;
        Ok(())
    }
    fn title(&self) -> &str {
        &self.title
    }
    fn people(&self) -> Vec<UserId> {
        self.owner.into_iter().collect()
    }
}

/// A delivery item of one phase, as stored and read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhaseItem<F> {
    pub id: ItemId,
    pub project_id: ProjectId,
    pub phase: u8,
    #[serde(flatten)]
    pub fields: F,
    pub updated_at: DateTime<Utc>,
    pub updated_by: UserId,
    pub version: u64,
}

pub type Milestone = PhaseItem<MilestoneFields>;
pub type Task = PhaseItem<TaskFields>;
pub type RaidEntry = PhaseItem<RaidFields>;

impl<F: ItemFields> PhaseItem<F> {
    pub fn from_item(item: &Item) -> Result<Self, StoreError> {
        let mut p: Self = item.decode()?;
        p.version = item.version;
        Ok(p)
    }

    pub fn item(&self) -> Result<Item, StoreError> {
        Item::new(
            keys::phase_item(self.project_id, F::KIND, self.phase, self.id),
            F::KIND.entity(),
            self.version,
            self,
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sentiment {
    Positive,
    Neutral,
    Concerned,
    Negative,
}

/// A status report: a period, a summary, the health then, and the
/// customer's sentiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    pub id: ItemId,
    pub project_id: ProjectId,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub summary: String,
    pub health: Health,
    /// Subject to the field rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_sentiment: Option<Sentiment>,
    pub author: UserId,
    pub author_name: String,
    pub created_at: DateTime<Utc>,
}

impl StatusReport {
    pub fn item(&self) -> Result<Item, StoreError> {
        Item::new(
            keys::report(self.project_id, self.period_start, self.id),
            keys::REPORT,
            1,
            self,
        )
    }
}

/// A person's resource profile: their skills and availability (theirs to
/// keep current), their supervisor (a platform user, who approves their
/// timesheets and expenses) and whether they can be scheduled (the platform's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceProfile {
    pub user_id: UserId,
    pub org_id: OrgId,
    pub display_name: String,
    pub skills: Vec<String>,
    /// Hours a week they can give, 0 to 80.
    pub hours_per_week: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_from: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervisor: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervisor_name: Option<String>,
    pub schedulable: bool,
    /// 0: no profile saved yet.
    pub version: u64,
}

impl ResourceProfile {
    pub fn from_item(item: &Item) -> Result<Self, StoreError> {
        let mut r: Self = item.decode()?;
        r.version = item.version;
        Ok(r)
    }

    pub fn item(&self) -> Result<Item, StoreError> {
        Item::new(keys::resource(self.user_id), keys::RESOURCE, self.version, self)
    }
}

/// Where a timesheet or expense stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClaimState {
    /// Being filled in (timesheets only).
    Draft,
    Submitted,
    /// Locked.
    Approved,
    /// Open again for changes, with the supervisor's reason.
    Rejected,
}

impl ClaimState {
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimState::Draft => "draft",
            ClaimState::Submitted => "submitted",
            ClaimState::Approved => "approved",
            ClaimState::Rejected => "rejected",
        }
    }
    /// Whether its owner may change it.
    pub fn open(self) -> bool {
        matches!(self, ClaimState::Draft | ClaimState::Rejected)
    }
}

/// One person's week of time: its state, its total and how many entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Timesheet {
    pub user_id: UserId,
    pub org_id: OrgId,
    pub display_name: String,
    /// The week's Monday.
    pub week: NaiveDate,
    pub state: ClaimState,
    /// The supervisor's reason, when rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = String, example = "37.5")]
    pub total_hours: Decimal,
    pub entries: u32,
    /// Who decides it (set when it is submitted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervisor: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
    /// 0: no entry yet.
    pub version: u64,
}

impl Timesheet {
    pub fn empty(user: &crate::domain::User, week: NaiveDate) -> Self {
        Self {
            user_id: user.id,
            org_id: user.org_id,
            display_name: user.display_name.clone(),
            week,
            state: ClaimState::Draft,
            reason: None,
            total_hours: Decimal::ZERO,
            entries: 0,
            supervisor: None,
            submitted_at: None,
            decided_by: None,
            decided_at: None,
            version: 0,
        }
    }

    pub fn from_item(item: &Item) -> Result<Self, StoreError> {
        let mut t: Self = item.decode()?;
        t.version = item.version;
        Ok(t)
    }

    /// The item; while submitted, it waits in its supervisor's queue.
    pub fn item(&self) -> Result<Item, StoreError> {
        let item = Item::new(
            keys::timesheet(self.user_id, self.week),
            keys::TIMESHEET,
            self.version,
            self,
        )?
        .with_gsi1(keys::user_timesheets(self.user_id), self.week.to_string());
        Ok(match (self.state, self.supervisor, self.submitted_at) {
            (ClaimState::Submitted, Some(s), Some(at)) => item.with_gsi2(
                keys::waiting_for(s),
                format!("{}#SHEET#{}#{}", at.timestamp_millis(), self.user_id, self.week),
            ),
            _ => item,
        })
    }
}

/// Most hours one week holds.
pub const MAX_WEEK_HOURS: i64 = 168;
/// Most entries one week holds.
pub const MAX_WEEK_ENTRIES: u32 = 200;

/// Time against one task on one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimeEntry {
    pub id: EntryId,
    pub user_id: UserId,
    pub day: NaiveDate,
    pub project_id: ProjectId,
    pub project_name: String,
    pub phase: u8,
    pub task_id: ItemId,
    pub task_title: String,
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = String, example = "7.5")]
    pub hours: Decimal,
    #[serde(default)]
    pub note: String,
    pub created_at: DateTime<Utc>,
}

impl TimeEntry {
    pub fn item(&self) -> Result<Item, StoreError> {
        Item::new(
            keys::time_entry(self.user_id, week_of(self.day), self.id),
            keys::TIME_ENTRY,
            1,
            self,
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExpenseCategory {
    Travel,
    Lodging,
    Meals,
    Software,
    Equipment,
    Other,
}

/// What is known of an expense's receipt (the file itself is kept elsewhere).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Receipt {
    /// 1 to 200 characters.
    pub file_name: String,
    /// e.g. "application/pdf", "image/jpeg".
    pub content_type: String,
    /// 1 byte to 20 MB.
    pub size_bytes: u32,
}

pub const MAX_RECEIPT_BYTES: u32 = 20 * 1024 * 1024;

impl Receipt {
    pub fn check(&mut self) -> Result<(), AppError> {
        self.file_name = text("the receipt's fileName", &self.file_name, 200)?;
        let ct = self.content_type.trim().to_ascii_lowercase();
        let ok = ct.len() <= 100
            && ct.split_once('/').is_some_and(|(a, b)| {
                let token = |s: &str| {
                    !s.is_empty()
                        && s.bytes()
                            .all(|c| c.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&c))
                };
                token(a) && token(b)
            });
        if !ok {
            return Err(AppError::invalid(
                "the receipt's contentType must be a media type, e.g. application/pdf",
            ));
        }
        self.content_type = ct;
        if self.size_bytes == 0 || self.size_bytes > MAX_RECEIPT_BYTES {
            return Err(AppError::invalid("the receipt's sizeBytes must be 1 to 20971520"));
        }
        Ok(())
    }
}

/// An expense claim, decided by the claimant's supervisor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Expense {
    pub id: ExpenseId,
    pub user_id: UserId,
    pub org_id: OrgId,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<ProjectId>,
    pub spent_on: NaiveDate,
    pub amount: Money,
    pub category: ExpenseCategory,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
    pub state: ClaimState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub supervisor: UserId,
    pub submitted_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
    pub version: u64,
}

impl Expense {
    pub fn from_item(item: &Item) -> Result<Self, StoreError> {
        let mut e: Self = item.decode()?;
        e.version = item.version;
        Ok(e)
    }

    pub fn item(&self) -> Result<Item, StoreError> {
        let item = Item::new(keys::expense(self.user_id, self.id), keys::EXPENSE, self.version, self)?;
        Ok(if self.state == ClaimState::Submitted {
            item.with_gsi2(
                keys::waiting_for(self.supervisor),
                format!("{}#EXPENSE#{}", self.submitted_at.timestamp_millis(), self.id),
            )
        } else {
            item
        })
    }
}

/// The Monday of `day`'s week.
pub fn week_of(day: NaiveDate) -> NaiveDate {
    day.checked_sub_days(chrono::Days::new(u64::from(day.weekday().num_days_from_monday())))
        .unwrap_or(day)
}

/// The first and last day the workspace takes.
pub fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN)
}
pub fn last_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2199, 12, 31).unwrap_or(NaiveDate::MAX)
}

/// Refuses a date outside 1900 to 2199 (a typo, or a year no week of which is real).
pub fn in_range(d: NaiveDate, what: &str) -> Result<NaiveDate, AppError> {
    if d < first_day() || d > last_day() {
        return Err(AppError::invalid(format!("{what} must be between 1900 and 2199")));
    }
    Ok(d)
}

/// Refuses a week that does not start on a Monday.
pub fn monday(week: NaiveDate) -> Result<NaiveDate, AppError> {
    let week = in_range(week, "the week")?;
    if week.weekday() == Weekday::Mon {
        Ok(week)
    } else {
        Err(AppError::invalid(format!(
            "a week is named by its Monday; {week} is a {:?} (that week's Monday is {})",
            week.weekday(),
            week_of(week)
        )))
    }
}

/// Hours: above 0, at most `max`, at most 2 decimal places.
pub fn hours(h: Decimal, max: Decimal, what: &str) -> Result<Decimal, AppError> {
    if h <= Decimal::ZERO || h > max || h.normalize().scale() > 2 {
        return Err(AppError::invalid(format!(
            "{what} must be above 0 and at most {max} hours, with at most 2 decimal places"
        )));
    }
    Ok(h.normalize())
}

/// A one-line text: trimmed, 1 to `max` characters, no control characters.
pub fn text(what: &str, s: &str, max: usize) -> Result<String, AppError> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(AppError::invalid(format!(
            "{what} must be 1 to {max} characters on one line"
        )));
    }
    Ok(t.to_string())
}

/// A longer text: trimmed, up to `max` characters, line breaks allowed.
pub fn long_text(what: &str, s: &str, max: usize) -> Result<String, AppError> {
    let t = s.trim();
    if t.chars().count() > max || t.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(AppError::invalid(format!("{what} must be at most {max} characters")));
    }
    Ok(t.to_string())
}

/// `Option<Decimal>` as an optional string.
pub mod opt_decimal {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(d) => s.serialize_str(&d.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        s.map(|s| s.parse::<Decimal>().map_err(serde::de::Error::custom))
            .transpose()
    }
}
