//! Delegated partner roles (seed 004, MiCloud's "Partner Access"; the model
//! is Microsoft GDAP's, with Zitadel's project grants for the groups):
//! a customer delegates roles from the platform's catalogue to a partner,
//! for a term or without one; each role it grants becomes a group on the
//! partner's account, named "<customer name> <role name>", whose members
//! hold the role's capabilities at that customer.
//!
//! The states, derived from the delegation's times so that no reader sees a
//! stale one between two sweeps:
//! - `requested`: the partner asked and the customer has not approved; it
//!   lapses (then reads `expired`) [`REQUEST_LAPSES_AFTER_DAYS`] days after.
//! - `active`: approved, with no end or an end over
//!   [`EXPIRING_WITHIN_DAYS`] days away.
//! - `expiring`: approved, its end within [`EXPIRING_WITHIN_DAYS`] days;
//!   both sides are reminded [`REMINDER_DAYS`] before it.
//! - `expired`: its end has passed (or its request lapsed).
//! - `revoked`: the customer (or the partner) ended it.
//!
//! Auto-extend (GDAP: +180 days) applies only when no granted role is
//! sensitive; the sweep writes the extension, with its event, when the end
//! comes.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{OrgId, ParseError, UserId};
use crate::store::{Item, Key, StoreError, keys};

/// An unapproved request lapses after this long (GDAP: 90 days).
pub const REQUEST_LAPSES_AFTER_DAYS: i64 = 90;
/// A term is 1 day to 2 years (GDAP: P1D to P2Y).
pub const MIN_TERM_DAYS: u32 = 1;
pub const MAX_TERM_DAYS: u32 = 730;
/// Auto-extend adds this much at the end (GDAP: 180 days).
pub const AUTO_EXTEND_DAYS: i64 = 180;
/// Within this many days of its end, an approved delegation is `expiring`.
pub const EXPIRING_WITHIN_DAYS: i64 = 30;
/// Reminders to both sides, this many days before the end (most urgent last).
pub const REMINDER_DAYS: [u16; 3] = [30, 7, 1];

/// What a delegated role allows a partner's users at the customer. Cedar
/// decides from these, so the catalogue grows without code changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
pub enum Capability {
    /// Change the customer's settings.
    #[serde(rename = "settings.manage")]
    SettingsManage,
    /// LogMeIn to the customer's instances.
    #[serde(rename = "instance.login")]
    InstanceLogin,
    /// Manage the customer's users.
    #[serde(rename = "users.manage")]
    UsersManage,
    /// See the customer's invoices and payments.
    #[serde(rename = "billing.view")]
    BillingView,
    /// Read the customer's activity log.
    #[serde(rename = "activity.view")]
    ActivityView,
}

impl Capability {
    pub const ALL: [Capability; 5] = [
        Capability::SettingsManage,
        Capability::InstanceLogin,
        Capability::UsersManage,
        Capability::BillingView,
        Capability::ActivityView,
    ];

    /// Its name, as in the API and in Cedar (`settings.manage`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::SettingsManage => "settings.manage",
            Capability::InstanceLogin => "instance.login",
            Capability::UsersManage => "users.manage",
            Capability::BillingView => "billing.view",
            Capability::ActivityView => "activity.view",
        }
    }
}

/// A delegated role's key in the catalogue: 1 to 40 lower-case letters,
/// digits and hyphens, starting with a letter (`decision-maker`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(transparent)]
pub struct RoleKey(String);

impl RoleKey {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let ok = (1..=40).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(RoleKey(s.to_string()))
        } else {
            Err(ParseError::new(
                "a role key is 1 to 40 lower-case letters, digits and hyphens, starting with a letter",
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for RoleKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A role of the catalogue: what it is called, what it allows, and whether
/// it is sensitive (never auto-extended).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DelegatedRole {
    pub key: RoleKey,
    /// Shown to people and in group names ("Decision Maker").
    pub name: String,
    pub capabilities: BTreeSet<Capability>,
    pub sensitive: bool,
}

/// The platform's catalogue of delegated roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Catalogue {
    pub roles: BTreeMap<RoleKey, DelegatedRole>,
    /// The roles a new customer delegates to its partner of record at its
    /// creation, held by every user of the partner until the partner's
    /// managers narrow them to the groups' members (seed 000's partner of
    /// record could do everything; empty: no default delegation).
    #[serde(default)]
    pub default_roles: BTreeSet<RoleKey>,
}

impl Catalogue {
    /// Seed 004's two roles: Decision Maker (every capability; sensitive, as
    /// it manages users and sees the bills) and Phone Manager (all but
    /// `billing.view`: "Phone Managers do not have access to the Invoices &
    /// Payments page").
    pub fn seeded() -> Self {
        let role = |key: &str, name: &str, caps: &[Capability], sensitive: bool| DelegatedRole {
            key: RoleKey(key.into()),
            name: name.into(),
            capabilities: caps.iter().copied().collect(),
            sensitive,
        };
        let all = Capability::ALL;
        let phone: Vec<Capability> = all.into_iter().filter(|c| *c != Capability::BillingView).collect();
        Catalogue {
            roles: [
                role("decision-maker", "Decision Maker", &all, true),
                role("phone-manager", "Phone Manager", &phone, false),
            ]
            .into_iter()
            .map(|r| (r.key.clone(), r))
            .collect(),
            default_roles: BTreeSet::from([RoleKey("decision-maker".into())]),
        }
    }

    /// The catalogue as stored, or the seeded one until the platform edits it.
    pub fn from_item(item: Option<&Item>) -> Result<Self, StoreError> {
        match item {
            Some(i) => i.decode(),
            None => Ok(Self::seeded()),
        }
    }

    pub fn get(&self, key: &RoleKey) -> Option<&DelegatedRole> {
        self.roles.get(key)
    }

    /// The union of the capabilities of `roles` (unknown keys give none).
    pub fn capabilities<'a>(&self, roles: impl IntoIterator<Item = &'a RoleKey>) -> BTreeSet<Capability> {
        roles
            .into_iter()
            .filter_map(|k| self.get(k))
            .flat_map(|r| r.capabilities.iter().copied())
            .collect()
    }

    /// Whether any of `roles` is sensitive (an unknown key counts as
    /// sensitive: it is never auto-extended).
    pub fn any_sensitive<'a>(&self, roles: impl IntoIterator<Item = &'a RoleKey>) -> bool {
        roles.into_iter().any(|k| self.get(k).is_none_or(|r| r.sensitive))
    }
}

/// The name of the group on the partner's account for one granted role:
/// "<customer account name> <role name>" (seed 004).
pub fn group_name(customer_name: &str, role: &DelegatedRole) -> String {
    format!("{} {}", customer_name.trim(), role.name)
}

/// A delegation's term in days, 1 to 730 (or none: until revoked).
pub fn parse_term_days(days: u32) -> Result<u32, ParseError> {
    if (MIN_TERM_DAYS..=MAX_TERM_DAYS).contains(&days) {
        Ok(days)
    } else {
        Err(ParseError::new("a term is 1 to 730 days (2 years)"))
    }
}

/// Who started a delegation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StartedBy {
    /// The customer granted it (seed 004): active at once.
    Customer,
    /// The partner asked; the customer approves.
    Partner,
}

/// A delegation's state now (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DelegationState {
    Requested,
    Active,
    Expiring,
    Expired,
    Revoked,
}

impl DelegationState {
    /// Whether the partner's users hold its roles now.
    pub fn grants(self) -> bool {
        matches!(self, DelegationState::Active | DelegationState::Expiring)
    }
}

/// Customer → partner: a set of roles, a term, a state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delegation {
    pub customer_id: OrgId,
    /// The customer's name when the delegation last changed (its groups'
    /// names and the partner's list sort by it).
    pub customer_name: String,
    pub partner_id: OrgId,
    /// An authorized contact at the level of one person: only this user of
    /// the partner holds the roles (no groups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_user: Option<UserId>,
    pub roles: BTreeSet<RoleKey>,
    /// The term asked for or granted; none: until revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term_days: Option<u32>,
    pub auto_extend: bool,
    pub started_by: StartedBy,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
    /// Reminders sent for the current end (days before it).
    #[serde(default)]
    pub reminded: BTreeSet<u16>,
    /// The group of each granted role, by its generation: a membership
    /// counts only at its group's current generation, so deleting a group
    /// (a new generation when the role is granted again) ends every
    /// membership of it at once, however many there are.
    #[serde(default)]
    pub groups: BTreeMap<RoleKey, u32>,
    #[serde(default)]
    pub next_generation: u32,
    /// Every user of the partner holds its roles, not only its groups'
    /// members: the platform's default delegation at a customer's creation,
    /// until the partner's managers narrow it to the groups.
    #[serde(default)]
    pub everyone: bool,
    /// Who is told of its reminders and its end: the addresses of its last
    /// change, and who made it (both sides).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<crate::domain::EmailAddress>,
    /// The sweep has ended it (expired, or its request lapsed): nothing is
    /// due any more.
    #[serde(default)]
    pub ended: bool,
    /// What the partner asked to change on it while in force (new roles or
    /// a renewed term), waiting for the customer; ignored after 90 days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal: Option<Proposal>,
}

/// A partner's request to change a delegation in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Proposal {
    pub roles: BTreeSet<RoleKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term_days: Option<u32>,
    pub auto_extend: bool,
    pub asked_at: DateTime<Utc>,
    pub asked_by: crate::domain::EmailAddress,
}

/// Who a delegation is between.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parties {
    pub customer_id: OrgId,
    pub customer_name: String,
    pub partner_id: OrgId,
    /// An authorized contact: one named user of the partner.
    pub contact_user: Option<UserId>,
}

/// What the sweep does with a delegation that is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    /// Remind both sides: the end is `days_before` days away or less.
    Remind { days_before: u16 },
    /// Auto-extend: the new end.
    Extend { until: DateTime<Utc> },
    /// It ended (expired, or its request lapsed): delete its groups.
    End,
}

impl Delegation {
    /// A customer's grant (active at once) or a partner's request.
    pub fn new(
        parties: Parties,
        roles: BTreeSet<RoleKey>,
        term_days: Option<u32>,
        auto_extend: bool,
        started_by: StartedBy,
        now: DateTime<Utc>,
    ) -> Self {
        let mut d = Delegation {
            customer_id: parties.customer_id,
            customer_name: parties.customer_name,
            partner_id: parties.partner_id,
            contact_user: parties.contact_user,
            roles,
            term_days,
            auto_extend,
            started_by,
            created_at: now,
            approved_at: None,
            ends_at: None,
            revoked_at: None,
            reminded: BTreeSet::new(),
            groups: BTreeMap::new(),
            next_generation: 1,
            everyone: false,
            notify: Vec::new(),
            ended: false,
            proposal: None,
        };
        if started_by == StartedBy::Customer {
            d.approve(now);
        }
        d
    }

    /// Numbers its groups after those of `previous` (an ended delegation of
    /// the same parties), so that no membership of an old group counts in
    /// a new one.
    pub fn after(mut self, previous: Option<&Delegation>) -> Self {
        if let Some(p) = previous {
            let offset = p.next_generation.saturating_sub(1);
            for g in self.groups.values_mut() {
                *g += offset;
            }
            self.next_generation += offset;
        }
        self
    }

    /// The customer approves: the term runs from now, and each role's
    /// group opens (none for an authorized contact: one person holds them).
    pub fn approve(&mut self, now: DateTime<Utc>) {
        self.approved_at = Some(now);
        self.ends_at = self.term_days.map(|d| now + Duration::days(i64::from(d)));
        self.reminded.clear();
        for role in self.roles.clone() {
            self.open_group(role);
        }
    }

    /// Grants one more role (its group opens if the delegation grants now).
    pub fn grant_role(&mut self, role: RoleKey, now: DateTime<Utc>) {
        self.roles.insert(role.clone());
        if self.state(now).grants() {
            self.open_group(role);
        }
    }

    fn open_group(&mut self, role: RoleKey) {
        if self.contact_user.is_none() && !self.groups.contains_key(&role) {
            self.groups.insert(role, self.next_generation);
            self.next_generation += 1;
        }
    }

    /// Revokes one role: its group closes (the caller deletes its item).
    /// Answers whether it was granted.
    pub fn revoke_role(&mut self, role: &RoleKey) -> bool {
        self.groups.remove(role);
        self.roles.remove(role)
    }

    /// The sweep ends it (expired, or its request lapsed): its groups close
    /// (the caller deletes their items) and nothing more is due.
    pub fn end(&mut self) -> BTreeMap<RoleKey, u32> {
        self.ended = true;
        self.close_groups()
    }

    /// Ends the delegation (revoked at `now`, or expired): every group closes.
    pub fn close_groups(&mut self) -> BTreeMap<RoleKey, u32> {
        std::mem::take(&mut self.groups)
    }

    /// The names of its open groups ("<customer> <role>"), by role key.
    pub fn group_names(&self, catalogue: &Catalogue) -> Vec<String> {
        self.groups
            .keys()
            .filter_map(|k| catalogue.get(k))
            .map(|r| group_name(&self.customer_name, r))
            .collect()
    }

    /// The item (row 58), listed on the partner's side and, while something
    /// is due, in the sweep's index.
    pub fn item(&self, version: u64, catalogue: &Catalogue) -> Result<Item, StoreError> {
        let key = keys::delegation(self.customer_id, self.partner_id, self.contact_user);
        let item = Item::new(key, keys::DELEGATION, version, self)?.with_gsi1(
            keys::partner_delegations(self.partner_id),
            keys::partner_delegation_sk(&self.customer_name.to_lowercase(), self.customer_id, self.contact_user),
        );
        Ok(match self.next_due(catalogue) {
            Some(at) => item.with_gsi2(
                keys::DELEGATIONS_DUE,
                keys::delegation_due_sk(
                    at.timestamp_millis(),
                    self.customer_id,
                    self.partner_id,
                    self.contact_user,
                ),
            ),
            None => item,
        })
    }

    pub fn lapses_at(&self) -> DateTime<Utc> {
        self.created_at + Duration::days(REQUEST_LAPSES_AFTER_DAYS)
    }

    pub fn state(&self, now: DateTime<Utc>) -> DelegationState {
        if self.revoked_at.is_some() {
            return DelegationState::Revoked;
        }
        if self.approved_at.is_none() {
            return if now < self.lapses_at() {
                DelegationState::Requested
            } else {
                DelegationState::Expired
            };
        }
        match self.ends_at {
            None => DelegationState::Active,
            Some(end) if now >= end => DelegationState::Expired,
            Some(end) if now >= end - Duration::days(EXPIRING_WITHIN_DAYS) => DelegationState::Expiring,
            Some(_) => DelegationState::Active,
        }
    }

    /// Whether auto-extend applies: asked for, and no role sensitive.
    pub fn extends(&self, catalogue: &Catalogue) -> bool {
        self.auto_extend && !catalogue.any_sensitive(&self.roles)
    }

    /// When the sweep should next look at it (none: never again).
    pub fn next_due(&self, catalogue: &Catalogue) -> Option<DateTime<Utc>> {
        if self.revoked_at.is_some() || self.ended {
            return None;
        }
        if self.approved_at.is_none() {
            return Some(self.lapses_at());
        }
        let end = self.ends_at?;
        let reminder = REMINDER_DAYS
            .iter()
            .filter(|d| !self.reminded.contains(d))
            .map(|d| end - Duration::days(i64::from(*d)))
            .min();
        // An auto-extending delegation is not reminded: it goes on.
        match reminder {
            Some(at) if !self.extends(catalogue) => Some(at.min(end)),
            _ => Some(end),
        }
    }

    /// What is due now, if anything. A late sweep sends only the most
    /// urgent reminder due (and counts the earlier ones as sent).
    pub fn due(&self, now: DateTime<Utc>, catalogue: &Catalogue) -> Option<Due> {
        if self.revoked_at.is_some() || self.ended {
            return None;
        }
        if self.approved_at.is_none() {
            return (now >= self.lapses_at()).then_some(Due::End);
        }
        let end = self.ends_at?;
        if now >= end {
            if self.extends(catalogue) {
                let mut until = end;
                while until <= now {
                    until += Duration::days(AUTO_EXTEND_DAYS);
                }
                return Some(Due::Extend { until });
            }
            return Some(Due::End);
        }
        if self.extends(catalogue) {
            return None;
        }
        REMINDER_DAYS
            .iter()
            .rev()
            .find(|d| now >= end - Duration::days(i64::from(**d)))
            .filter(|d| !self.reminded.contains(d))
            .map(|d| Due::Remind { days_before: *d })
    }

    /// Records a reminder sent `days_before` the end (and any earlier one skipped).
    pub fn reminded(&mut self, days_before: u16) {
        self.reminded
            .extend(REMINDER_DAYS.iter().filter(|d| **d >= days_before));
    }

    /// Extends the end to `until` (auto-extend, or either side's extension);
    /// reminders start again for the new end.
    pub fn extend_to(&mut self, until: DateTime<Utc>) {
        self.ends_at = Some(until);
        self.reminded.clear();
    }

    /// The capabilities the delegation gives now (none unless it grants).
    pub fn capabilities(&self, now: DateTime<Utc>, catalogue: &Catalogue) -> BTreeSet<Capability> {
        if self.state(now).grants() {
            catalogue.capabilities(&self.roles)
        } else {
            BTreeSet::new()
        }
    }
}

/// The platform's default delegation for a new customer of `partner`
/// (none if the catalogue names no default roles), and the groups it opens.
pub fn default_delegation(
    catalogue: &Catalogue,
    parties: Parties,
    now: DateTime<Utc>,
) -> Option<(Delegation, Vec<DelegatedGroup>)> {
    if catalogue.default_roles.is_empty() || parties.contact_user.is_some() {
        return None;
    }
    let mut d = Delegation::new(
        parties,
        catalogue.default_roles.clone(),
        None,
        false,
        StartedBy::Customer,
        now,
    );
    d.everyone = true;
    let groups = catalogue
        .default_roles
        .iter()
        .filter_map(|k| catalogue.get(k))
        .filter_map(|r| DelegatedGroup::of(&d, r, now))
        .collect();
    Some((d, groups))
}

/// A group on the partner's account for one granted role (row 62).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DelegatedGroup {
    pub partner_id: OrgId,
    pub customer_id: OrgId,
    pub role: RoleKey,
    /// "<customer> <role>".
    pub name: String,
    pub generation: u32,
    pub created_at: DateTime<Utc>,
}

impl DelegatedGroup {
    /// The group of `role` as `delegation` has it open (none: not open).
    pub fn of(delegation: &Delegation, role: &DelegatedRole, now: DateTime<Utc>) -> Option<Self> {
        let generation = *delegation.groups.get(&role.key)?;
        Some(DelegatedGroup {
            partner_id: delegation.partner_id,
            customer_id: delegation.customer_id,
            role: role.key.clone(),
            name: group_name(&delegation.customer_name, role),
            generation,
            created_at: now,
        })
    }
    pub fn key(&self) -> Key {
        keys::delegated_group(self.partner_id, self.customer_id, &self.role)
    }
    pub fn item(&self, version: u64) -> Result<Item, StoreError> {
        Item::new(self.key(), keys::DELEGATED_GROUP, version, self)
    }
}

/// A partner user's roles at one customer, each at the generation of the
/// group that gave it (row 64): read with the caller to decide.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserDelegatedRoles {
    pub roles: BTreeMap<RoleKey, u32>,
}

impl UserDelegatedRoles {
    pub fn item(&self, user: UserId, customer: OrgId, version: u64) -> Result<Item, StoreError> {
        Item::new(
            keys::user_delegated_roles(user, customer),
            keys::USER_DELEGATED_ROLES,
            version,
            self,
        )
    }
}

/// The items that say what a user of `partner` holds at `customer`, read
/// in the caller's batch: the partner's delegation, the user's roles there,
/// a delegation to the user in person, and the catalogue.
pub fn held_keys(user: UserId, partner: OrgId, customer: OrgId) -> [Key; 4] {
    [
        keys::delegation(customer, partner, None),
        keys::user_delegated_roles(user, customer),
        keys::delegation(customer, partner, Some(user)),
        keys::delegated_roles(),
    ]
}

/// The capabilities [`held_keys`]' items give now.
pub fn held_from(items: [Option<Item>; 4], now: DateTime<Utc>) -> Result<BTreeSet<Capability>, StoreError> {
    let [wide, mine, personal, catalogue] = items;
    let wide: Option<Delegation> = wide.map(|i| i.decode()).transpose()?;
    let mine: Option<UserDelegatedRoles> = mine.map(|i| i.decode()).transpose()?;
    let personal: Option<Delegation> = personal.map(|i| i.decode()).transpose()?;
    let catalogue = Catalogue::from_item(catalogue.as_ref())?;
    Ok(user_capabilities(
        &catalogue,
        now,
        wide.as_ref(),
        mine.as_ref(),
        personal.as_ref(),
    ))
}

/// What a partner user may do at a customer now: the capabilities of the
/// roles they hold through a group of the partner's delegation (at the
/// group's current generation), and of a delegation to them in person.
pub fn user_capabilities(
    catalogue: &Catalogue,
    now: DateTime<Utc>,
    partner_wide: Option<&Delegation>,
    mine: Option<&UserDelegatedRoles>,
    personal: Option<&Delegation>,
) -> BTreeSet<Capability> {
    let mut held: BTreeSet<&RoleKey> = BTreeSet::new();
    if let Some(d) = partner_wide.filter(|d| d.everyone && d.state(now).grants()) {
        held.extend(d.groups.keys());
    }
    if let (Some(d), Some(mine)) = (partner_wide, mine)
        && d.state(now).grants()
    {
        held.extend(
            mine.roles
                .iter()
                .filter(|(role, generation)| d.groups.get(*role) == Some(*generation))
                .map(|(role, _)| role),
        );
    }
    if let Some(p) = personal.filter(|p| p.state(now).grants()) {
        held.extend(p.roles.iter());
    }
    catalogue.capabilities(held)
}

#[cfg(test)]
#[path = "delegations_test.rs"]
mod tests;
