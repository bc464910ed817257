//! Single-table keys: every entity's key is built here and nowhere else.
//! The access patterns these serve are listed in `docs/access-patterns.md`.

use crate::domain::{EmailAddress, OrgId, OrgKind, UserId};
use crate::store::Key;

pub const ORG: &str = "Organization";
pub const ORG_NAME: &str = "OrganizationName";
pub const USER: &str = "User";
pub const USER_EMAIL: &str = "UserEmail";
pub const EVENT: &str = "ActivityEvent";

pub fn org(id: OrgId) -> Key {
    Key::new(format!("ORG#{id}"), "ORG")
}

/// Uniqueness guard for organisation names (case-insensitive).
pub fn org_name(folded_name: &str) -> Key {
    Key::new(format!("ORGNAME#{folded_name}"), "ORGNAME")
}

/// GSI1: every organisation, sorted by kind then name.
pub const ALL_ORGS: &str = "ORGS";
pub fn org_listing_sk(kind: OrgKind, folded_name: &str, id: OrgId) -> String {
    format!("{}#{folded_name}#{id}", kind.as_str())
}
pub fn org_kind_prefix(kind: OrgKind) -> String {
    format!("{}#", kind.as_str())
}

/// GSI2: the customers whose partner of record is `partner`, sorted by name.
pub fn partner_customers(partner: OrgId) -> String {
    format!("PARTNER#{partner}#CUSTOMERS")
}
pub fn customer_listing_sk(folded_name: &str, id: OrgId) -> String {
    format!("{folded_name}#{id}")
}

pub fn user(id: UserId) -> Key {
    Key::new(format!("USER#{id}"), "USER")
}

/// Uniqueness guard for a sign-in email.
pub fn user_email(email: &EmailAddress) -> Key {
    Key::new(format!("EMAIL#{email}"), "EMAIL")
}

/// GSI1: the users of an organisation, sorted by email.
pub fn org_users(org: OrgId) -> String {
    format!("ORG#{org}#USERS")
}

/// The activity log of the organisation an event concerns, newest last by key.
pub fn activity_partition(org: OrgId) -> String {
    format!("ACT#{org}")
}
pub fn activity_sk(at_millis: i64, id: impl std::fmt::Display) -> String {
    format!("{at_millis:015}#{id}")
}
