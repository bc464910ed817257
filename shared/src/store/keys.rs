//! Single-table keys: every entity's key is built here and nowhere else.
//! The access patterns these serve are listed in `docs/access-patterns.md`.

use crate::domain::{EmailAddress, InstanceId, InvitationId, OrgId, OrgKind, RequestId, UserId};
use crate::store::Key;

pub const ORG: &str = "Organization";
pub const ORG_NAME: &str = "OrganizationName";
pub const USER: &str = "User";
pub const EVENT: &str = "ActivityEvent";
pub const CHAIN_HEAD: &str = "ActivityChainHead";
pub const USER_ACTIVITY: &str = "UserActivity";
pub const RESTORE_REQUEST: &str = "RestoreRequest";
pub const LINK: &str = "Link";
pub const INVITATION: &str = "Invitation";
pub const USER_REQUEST: &str = "UserRequest";
pub const LOGIN: &str = "Login";
pub const RECOVERY_CODES: &str = "RecoveryCodes";
pub const GUARD: &str = "Guard";
pub const CATALOGUE: &str = "SettingsCatalogue";
pub const SETTING_VALUE: &str = "SettingValue";
pub const SETTING_GRANT: &str = "SettingGrant";
pub const USER_GRANTS: &str = "UserGrants";
pub const INSTANCE: &str = "Instance";
pub const RECREATE_REQUEST: &str = "RecreateRequest";
pub const DELIVERY: &str = "Delivery";

/// The platform's settings catalogue: one item.
pub fn catalogue() -> Key {
    Key::new("CATALOGUE", "SETTINGS")
}

/// A customer's value of one setting; the partition holds all its values.
pub fn setting_values(org: OrgId) -> String {
    format!("ORG#{org}#SETTINGS")
}
pub fn setting_value(org: OrgId, key: &crate::settings::SettingKey) -> Key {
    Key::new(setting_values(org), key.as_str())
}

/// One grant of a restricted setting to a user; the partition holds all of the user's grants.
pub fn user_setting_grants(user: UserId) -> String {
    format!("USER#{user}#GRANTS")
}
pub fn setting_grant(user: UserId, key: &crate::settings::SettingKey) -> Key {
    Key::new(user_setting_grants(user), key.as_str())
}

/// GSI1: a partner's grants of one setting, by user.
pub fn setting_grants_by_setting(partner: OrgId, key: &crate::settings::SettingKey) -> String {
    format!("PARTNER#{partner}#GRANTS#{key}")
}

/// The keys of a user's grants in one item, read with the user.
pub fn user_grants(user: UserId) -> Key {
    Key::new(format!("USER#{user}"), "GRANTS")
}

pub fn org(id: OrgId) -> Key {
    Key::new(format!("ORG#{id}"), "ORG")
}
/// The organisation whose record `key` is, if it is one.
pub fn org_of(key: &Key) -> Option<OrgId> {
    let id = key.pk.strip_prefix("ORG#")?;
    (key.sk == "ORG")
        .then(|| uuid::Uuid::parse_str(id).ok().map(OrgId))
        .flatten()
}

/// Uniqueness guard for organisation names: by the name's confusable skeleton (`OrgName::skeleton`).
pub fn org_name(skeleton: &str) -> Key {
    Key::new(format!("ORGNAME#{skeleton}"), "ORGNAME")
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

/// The login record of a sign-in email (also its uniqueness guard).
pub fn login(email: &EmailAddress) -> Key {
    Key::new(format!("EMAIL#{email}"), "EMAIL")
}

/// An emailed link, by the SHA-256 of its token.
pub fn link(hash: &crate::domain::LinkHash) -> Key {
    Key::new(format!("LINK#{}", hash.as_str()), "LINK")
}

pub fn invitation(id: InvitationId) -> Key {
    Key::new(format!("INVITE#{id}"), "INVITE")
}

/// GSI1: an organisation's invitations, newest first.
pub fn org_invitations(org: OrgId) -> String {
    format!("ORG#{org}#INVITES")
}

pub fn user_request(id: RequestId) -> Key {
    Key::new(format!("USERREQ#{id}"), "USERREQ")
}

/// GSI1: an organisation's user requests, newest first.
pub fn org_user_requests(org: OrgId) -> String {
    format!("ORG#{org}#USERREQS")
}

/// GSI2 (sparse): the user requests waiting for the platform.
pub const PENDING_USER_REQUESTS: &str = "USERREQS#PENDING";

/// Wrong passwords given for an email address (known or not), beside its login record.
pub fn sign_in_failures(email: &EmailAddress) -> Key {
    Key::new(format!("EMAIL#{email}"), "FAILURES")
}
pub const SIGN_IN_FAILURES: &str = "SignInFailures";

/// A user's recovery codes (hashes), beside the login record of their email.
pub fn recovery_codes(email: &EmailAddress) -> Key {
    Key::new(format!("EMAIL#{email}"), "RECOVERY")
}

/// A TOTP code accepted for a user: a second use within its lifetime is refused.
pub fn totp_used(user: UserId, code_hash_hex: &str) -> Key {
    Key::new(format!("TOTPUSED#{user}#{code_hash_hex}"), "TOTPUSED")
}

/// How many customer invitations a partner sent on one (UTC) day.
pub fn invitation_quota(partner: OrgId, day: chrono::NaiveDate) -> Key {
    Key::new(format!("ORG#{partner}"), format!("INVITEQUOTA#{day}"))
}
pub const INVITATION_QUOTA: &str = "InvitationQuota";

/// Rate limit of one kind of email to one address.
pub fn mail_throttle(kind: &str, email: &EmailAddress) -> Key {
    Key::new(format!("THROTTLE#{kind}#{email}"), "THROTTLE")
}

/// Sort key that lists newest first in an ascending index: (far future - time)#id.
pub fn newest_first(at: chrono::DateTime<chrono::Utc>, id: impl std::fmt::Display) -> String {
    format!("{:015}#{id}", 9_999_999_999_999i64 - at.timestamp_millis())
}

/// GSI1: the users of an organisation, sorted by email.
pub fn org_users(org: OrgId) -> String {
    format!("ORG#{org}#USERS")
}

/// The activity log of the organisation an event concerns, oldest first by
/// key: `<epoch millis>#<sequence>`; both grow along the chain, so key order
/// is chain order and a time range is a key condition.
pub fn activity_partition(org: OrgId) -> String {
    format!("ACT#{org}")
}
pub fn activity_sk(at_millis: i64, seq: u64) -> String {
    format!("{at_millis:015}#{seq:012}")
}
/// The latest time an activity sort key can hold (15 digits of epoch millis).
pub const MAX_MILLIS: i64 = 999_999_999_999_999;

/// The lowest and highest sort keys of events in `[from, to]` (epoch millis).
pub fn activity_sk_range(from_millis: i64, to_millis: i64) -> (String, String) {
    (format!("{from_millis:015}#"), format!("{to_millis:015}#~"))
}

/// GSI1: one actor's events in an organisation's log (email folded to lower case).
pub fn activity_by_actor(org: OrgId, email: &EmailAddress) -> String {
    format!("ACT#{org}#BY#{}", email.as_str().to_lowercase())
}

/// GSI2: one action type's events in an organisation's log.
pub fn activity_by_action(org: OrgId, action: crate::audit::ActionType) -> String {
    format!("ACT#{org}#TYPE#{}", action.slug())
}

/// An organisation's activity chain head: its last event and its retention.
pub fn activity_head(org: OrgId) -> Key {
    Key::new(format!("ORG#{org}"), "ACTHEAD")
}

/// A partner user's last activity (see `inactivity`).
pub fn user_activity(user: UserId) -> Key {
    Key::new(format!("USER#{user}"), "ACTIVITY")
}

/// GSI2 (sparse): active partner users by last activity, oldest first.
pub const INACTIVITY: &str = "INACTIVITY";
pub fn inactivity_sk(last_active_millis: i64, user: UserId) -> String {
    format!("{last_active_millis:015}#{user}")
}
/// GSI2 (sparse): suspended users whose identity is still to be disabled
/// (the call failed after the suspension committed); the next sweep retries.
pub const IDENTITY_PENDING: &str = "INACTIVITY#IDENTITY";
/// The highest index sort key of a user last active at or before `millis`.
pub fn inactivity_upto(millis: i64) -> String {
    format!("{millis:015}#~")
}

/// A request to restore a suspended user's access (one per user).
pub fn restore_request(user: UserId) -> Key {
    Key::new(format!("USER#{user}"), "RESTORE")
}
/// GSI2 (sparse): the restore requests waiting for the platform, oldest first.
pub const PENDING_RESTORE_REQUESTS: &str = "RESTOREREQS#PENDING";

/// A customer instance with its connection (and what it acknowledged).
pub fn instance(id: InstanceId) -> Key {
    Key::new(format!("INSTANCE#{id}"), "INSTANCE")
}

/// GSI1: the instances a partner's customers have, grouped by customer
/// (the customer's listing key, then the instance's name), so that a page
/// of the partner's customers maps to one range of it. A customer with no
/// partner of record lists under its own id.
pub fn instance_listing(customer: OrgId, partner: Option<OrgId>) -> String {
    match partner {
        Some(p) => format!("PARTNER#{p}#INSTANCES"),
        None => format!("ORG#{customer}#INSTANCES"),
    }
}
pub fn instance_listing_sk(customer_folded: &str, customer: OrgId, folded_name: &str, id: InstanceId) -> String {
    format!("{}#{folded_name}#{id}", customer_listing_sk(customer_folded, customer))
}
/// The prefix of one customer's instances in [`instance_listing`].
pub fn customer_instances_prefix(customer_folded: &str, customer: OrgId) -> String {
    format!("{}#", customer_listing_sk(customer_folded, customer))
}

/// GSI2: connections by the time of their next check, so that a sweep
/// reads only those due (`<= now`).
pub const CONNECTION_CHECKS: &str = "CONNCHECK";
pub fn connection_check_sk(next_millis: i64, id: InstanceId) -> String {
    format!("{next_millis:015}#{id}")
}
pub fn connection_checks_upto(millis: i64) -> String {
    format!("{millis:015}#~")
}

/// A partner's request to recreate an instance's connection (one at a time).
pub fn recreate_request(id: InstanceId) -> Key {
    Key::new(format!("INSTANCE#{id}"), "RECREATE")
}
/// GSI2 (sparse): the recreate requests waiting for the platform, oldest first.
pub const PENDING_RECREATE_REQUESTS: &str = "RECREATEREQS#PENDING";

/// What a customer's instances should hold: the latest settings revision
/// (the customer's activity sequence of the change), delivered from here.
pub fn delivery(customer: OrgId) -> Key {
    Key::new(format!("ORG#{customer}"), "DELIVERY")
}
/// GSI2 (sparse): deliveries not yet acknowledged by every instance, by when they are due.
pub const PENDING_DELIVERIES: &str = "DELIVERIES#PENDING";
pub fn delivery_due_sk(due_millis: i64, customer: OrgId) -> String {
    format!("{due_millis:015}#{customer}")
}
/// Upper bound of the deliveries due by `millis`.
pub fn deliveries_upto(millis: i64) -> String {
    format!("{millis:015}#~")
}
/// A nonce an instance used to sign a request to Portico (kept for the
/// signature tolerance and a little more: each is accepted once).
pub fn instance_nonce(instance: InstanceId, nonce: &str) -> Key {
    Key::new(format!("INSTANCE#{instance}#NONCE"), nonce.to_string())
}

/// The LogMeIn signing keys: which are published, which one signs (one item).
pub fn login_keys() -> Key {
    Key::new("LOGINKEYS", "RING")
}
pub const LOGIN_KEYS: &str = "LoginKeyRing";

/// Partners' access to a customer's instances: consent per instance, the
/// answers to access requests, the notice choice (one item per customer).
pub fn instance_access(customer: OrgId) -> Key {
    Key::new(format!("ORG#{customer}"), "INSTANCEACCESS")
}
pub const INSTANCE_ACCESS: &str = "InstanceAccess";
/// GSI2 (sparse): customers told of partner sign-ins by daily digest, by when the next is due.
pub const LOGIN_DIGESTS: &str = "LOGINDIGESTS";
pub fn login_digest_sk(due_millis: i64, customer: OrgId) -> String {
    format!("{due_millis:015}#{customer}")
}
/// Upper bound of the digests due by `millis`.
pub fn login_digests_upto(millis: i64) -> String {
    format!("{millis:015}#~")
}

/// A partner user's request for access to an instance.
pub fn access_request(id: crate::domain::AccessRequestId) -> Key {
    Key::new(format!("ACCESSREQ#{id}"), "ACCESSREQ")
}
pub const ACCESS_REQUEST: &str = "AccessRequest";
/// One open request per partner user and instance: this guard says one is open.
pub fn open_access_request(instance: crate::domain::InstanceId, user: crate::domain::UserId) -> Key {
    Key::new(format!("ACCESSREQ#OPEN#{instance}"), user.to_string())
}
/// GSI1: a partner user's access requests, newest first.
pub fn user_access_requests(user: UserId) -> String {
    format!("USER#{user}#ACCESSREQS")
}
/// GSI2 (sparse): a customer's access requests waiting for an answer, oldest first.
pub fn pending_access_requests(customer: OrgId) -> String {
    format!("ORG#{customer}#ACCESSREQS#PENDING")
}
pub fn access_request_sk(created_millis: i64, id: crate::domain::AccessRequestId) -> String {
    format!("{created_millis:015}#{id}")
}
/// The lowest sort key of requests created at or after `millis`.
pub fn access_requests_from(millis: i64) -> String {
    format!("{millis:015}#")
}

/// A LogMeIn assertion Portico minted (its `jti`), kept past its expiry.
pub fn login_assertion(jti: &str) -> Key {
    Key::new(format!("LOGMEIN#{jti}"), "LOGMEIN")
}
pub const LOGIN_ASSERTION: &str = "LoginAssertion";

// Delegated roles (docs/access-patterns.md, rows 57 to 64) ---------------------

/// The platform's catalogue of delegated roles (one item).
pub fn delegated_roles() -> Key {
    Key::new("DELEGATEDROLES", "CATALOGUE")
}
pub const DELEGATED_ROLES: &str = "DelegatedRoleCatalogue";

/// A delegation from `customer` to `partner`, or to one named user of it
/// (an authorized contact).
pub fn delegation(customer: OrgId, partner: OrgId, contact: Option<UserId>) -> Key {
    let sk = match contact {
        None => format!("{DELEGATIONS_PREFIX}{partner}"),
        Some(u) => format!("{DELEGATIONS_PREFIX}{partner}#USER#{u}"),
    };
    Key::new(format!("ORG#{customer}"), sk)
}
pub const DELEGATION: &str = "Delegation";
/// The sort-key prefix of a customer's delegations (its side's list).
pub const DELEGATIONS_PREFIX: &str = "DELEGATION#";
/// GSI1: a partner's delegations, by customer name.
pub fn partner_delegations(partner: OrgId) -> String {
    format!("ORG#{partner}#DELEGATIONS")
}
pub fn partner_delegation_sk(customer_folded: &str, customer: OrgId, contact: Option<UserId>) -> String {
    match contact {
        None => format!("{customer_folded}#{customer}"),
        Some(u) => format!("{customer_folded}#{customer}#USER#{u}"),
    }
}
/// GSI2 (sparse): delegations due for the sweep, by when.
pub const DELEGATIONS_DUE: &str = "DELEGATIONS#DUE";
pub fn delegation_due_sk(due_millis: i64, customer: OrgId, partner: OrgId, contact: Option<UserId>) -> String {
    match contact {
        None => format!("{due_millis:015}#{customer}#{partner}"),
        Some(u) => format!("{due_millis:015}#{customer}#{partner}#{u}"),
    }
}
/// Upper bound of the delegations due by `millis`.
pub fn delegations_due_upto(millis: i64) -> String {
    format!("{millis:015}#~")
}

/// The group on `partner`'s account for one role `customer` granted it.
pub fn delegated_group(partner: OrgId, customer: OrgId, role: &crate::delegations::RoleKey) -> Key {
    Key::new(format!("ORG#{partner}"), format!("GROUP#{customer}#{}", role.as_str()))
}
pub const DELEGATED_GROUP: &str = "DelegatedGroup";
/// One member of such a group.
pub fn group_member(partner: OrgId, customer: OrgId, role: &crate::delegations::RoleKey, user: UserId) -> Key {
    Key::new(
        format!("ORG#{partner}"),
        format!("{}{user}", group_members_prefix(customer, role)),
    )
}
pub const GROUP_MEMBER: &str = "DelegatedGroupMember";
/// The sort-key prefix of a group's members.
pub fn group_members_prefix(customer: OrgId, role: &crate::delegations::RoleKey) -> String {
    format!("GROUP#{customer}#{}#MEMBER#", role.as_str())
}

/// A group that closed at `generation`, its member items left for the
/// sweep to delete (listed in [`DELEGATIONS_DUE`] at once).
pub fn closed_group(partner: OrgId, customer: OrgId, role: &crate::delegations::RoleKey, generation: u32) -> Key {
    Key::new(
        format!("ORG#{partner}"),
        format!("CLOSEDGROUP#{customer}#{}#{generation:010}", role.as_str()),
    )
}
pub const CLOSED_GROUP: &str = "ClosedGroup";
pub fn closed_group_due_sk(
    due_millis: i64,
    partner: OrgId,
    customer: OrgId,
    role: &crate::delegations::RoleKey,
) -> String {
    format!("{due_millis:015}#TIDY#{partner}#{customer}#{}", role.as_str())
}

/// A partner user's roles at one customer, with each group's generation.
pub fn user_delegated_roles(user: UserId, customer: OrgId) -> Key {
    Key::new(format!("USER#{user}"), format!("DELEGATED#{customer}"))
}
pub const USER_DELEGATED_ROLES: &str = "UserDelegatedRoles";

// Invoices and payments (docs/access-patterns.md, row 66) ------------------------

/// One line of a customer's invoices and payments, by date.
pub fn billing_entry(customer: OrgId, date: chrono::NaiveDate, id: uuid::Uuid) -> Key {
    Key::new(format!("ORG#{customer}"), format!("{BILLING_PREFIX}{date}#{id}"))
}
pub const BILLING_ENTRY: &str = "BillingEntry";
/// The sort-key prefix of a customer's invoices and payments.
pub const BILLING_PREFIX: &str = "BILLING#";

// Bulk delegation calls (docs/access-patterns.md, row 67) -------------------------

/// A bulk call's partition: its header and one record per item done.
pub fn bulk_partition(partner: OrgId, idempotency_key: &str) -> String {
    format!("BULK#{partner}#{idempotency_key}")
}
pub fn bulk_header(partner: OrgId, idempotency_key: &str) -> Key {
    Key::new(bulk_partition(partner, idempotency_key), "REQUEST")
}
pub fn bulk_item(partner: OrgId, idempotency_key: &str, index: usize) -> Key {
    Key::new(
        bulk_partition(partner, idempotency_key),
        format!("{BULK_ITEM_PREFIX}{index:05}"),
    )
}
pub const BULK_ITEM_PREFIX: &str = "ITEM#";
pub const BULK: &str = "BulkCall";

/// The platform's feature switches and Partner Portal settings (one item).
pub fn portal_config() -> Key {
    Key::new("PORTAL", "CONFIG")
}
pub const PORTAL_CONFIG: &str = "PortalConfig";

/// A partner organisation's seats: its allocation and the count in use.
pub fn seats(org: OrgId) -> Key {
    Key::new(format!("ORG#{org}"), "SEATS")
}
pub const SEATS: &str = "Seats";

/// A partner's request for more seats (an allocation that can be purchased).
pub fn seat_request(id: RequestId) -> Key {
    Key::new(format!("SEATREQ#{id}"), "SEATREQ")
}
pub const SEAT_REQUEST: &str = "SeatRequest";
/// GSI1: an organisation's seat requests, newest first.
pub fn org_seat_requests(org: OrgId) -> String {
    format!("ORG#{org}#SEATREQS")
}
/// GSI2 (sparse): the seat requests waiting for the platform.
pub const PENDING_SEAT_REQUESTS: &str = "SEATREQS#PENDING";

/// GSI2 (sparse): self-registered organisations waiting for the platform's approval.
pub const AWAITING_APPROVAL: &str = "ORGS#AWAITING";

/// The key that encrypts the signup links' organisation keys (sealed; one item).
pub fn signup_key() -> Key {
    Key::new("PORTAL", "SIGNUPKEY")
}
pub const SIGNUP_KEY: &str = "SignupKey";

/// Sign-ups one source IP asked for in one 10-minute window (TTL).
pub fn signup_ip_window(ip: &str, window: i64) -> Key {
    Key::new(format!("SIGNUPIP#{ip}"), format!("W#{window}"))
}
/// Sign-ups asked for one email address in one hour (TTL).
pub fn signup_email_window(email: &EmailAddress, window: i64) -> Key {
    Key::new(format!("SIGNUPEMAIL#{email}"), format!("W#{window}"))
}
pub const SIGNUP_COUNT: &str = "SignupCount";

/// The portal texts (seed 002 Step 6): one item.
pub fn portal_texts() -> Key {
    Key::new("PORTAL", "TEXTS")
}
pub const PORTAL_TEXTS: &str = "PortalTexts";

/// The co-delivery workspace's configuration (access levels, default
/// external level, field rules): one item.
pub fn workspace_config() -> Key {
    Key::new("WORKSPACE", "CONFIG")
}
pub const WORKSPACE_CONFIG: &str = "WorkspaceConfig";

/// A project. Its partition also holds its participants, delivery items
/// and status reports.
pub fn project(id: crate::domain::ProjectId) -> Key {
    Key::new(project_partition(id), "PROJECT")
}
pub fn project_partition(id: crate::domain::ProjectId) -> String {
    format!("PROJECT#{id}")
}
pub const PROJECT: &str = "Project";
/// GSI1: every project, by name.
pub const ALL_PROJECTS: &str = "PROJECTS";
pub fn project_listing_sk(name: &str, id: crate::domain::ProjectId) -> String {
    format!("{}#{id}", name.to_lowercase())
}
/// The log a project's events are chained in (its own, beside the actor's
/// organisation's): the project's id as a log's id.
pub fn project_log(id: crate::domain::ProjectId) -> OrgId {
    OrgId(id.0)
}
/// Whose activity chain head a key's item names a log of: an organisation's
/// record, or a project's (whose events are chained in the project's log).
pub fn log_of(key: &Key) -> Option<OrgId> {
    if let Some(id) = key.pk.strip_prefix("PROJECT#") {
        return (key.sk == "PROJECT")
            .then(|| uuid::Uuid::parse_str(id).ok().map(OrgId))
            .flatten();
    }
    org_of(key)
}

/// One person's place on a project.
pub fn member(project: crate::domain::ProjectId, user: UserId) -> Key {
    Key::new(project_partition(project), format!("MEMBER#{user}"))
}
pub const MEMBER_PREFIX: &str = "MEMBER#";
pub const MEMBER: &str = "ProjectMember";
/// GSI1: a person's projects ("My projects"), newest first.
pub fn user_projects(user: UserId) -> String {
    format!("USER#{user}#PROJECTS")
}

/// A phase's milestone, task or RAID entry.
pub fn phase_item(
    project: crate::domain::ProjectId,
    kind: crate::workspace::ItemKind,
    phase: u8,
    id: crate::domain::ItemId,
) -> Key {
    Key::new(
        project_partition(project),
        format!("{}{id}", phase_items_prefix(kind, phase)),
    )
}
/// The sort-key prefix of one phase's items of one kind.
pub fn phase_items_prefix(kind: crate::workspace::ItemKind, phase: u8) -> String {
    format!("{}#{phase:02}#", kind.prefix())
}

/// A status report, under its period's start.
pub fn report(project: crate::domain::ProjectId, period_start: chrono::NaiveDate, id: crate::domain::ItemId) -> Key {
    Key::new(
        project_partition(project),
        format!("{REPORT_PREFIX}{period_start}#{id}"),
    )
}
pub const REPORT_PREFIX: &str = "REPORT#";
pub const REPORT: &str = "StatusReport";

/// A person's resource profile.
pub fn resource(user: UserId) -> Key {
    Key::new(format!("USER#{user}"), "RESOURCE")
}
pub const RESOURCE: &str = "ResourceProfile";

/// One person's timesheet for the week starting on Monday `week`; its
/// partition holds its entries too.
pub fn timesheet(user: UserId, week: chrono::NaiveDate) -> Key {
    Key::new(timesheet_partition(user, week), "SHEET")
}
pub fn timesheet_partition(user: UserId, week: chrono::NaiveDate) -> String {
    format!("SHEET#{user}#{week}")
}
pub const TIMESHEET: &str = "Timesheet";
/// GSI1: a person's timesheets, by week.
pub fn user_timesheets(user: UserId) -> String {
    format!("USER#{user}#SHEETS")
}
/// One time entry of a week's timesheet (its id is time-ordered).
pub fn time_entry(user: UserId, week: chrono::NaiveDate, id: crate::domain::EntryId) -> Key {
    Key::new(timesheet_partition(user, week), format!("{ENTRY_PREFIX}{id}"))
}
pub const ENTRY_PREFIX: &str = "ENTRY#";
pub const TIME_ENTRY: &str = "TimeEntry";

/// One person's expense claim; the partition holds all of theirs, oldest first.
pub fn expense(user: UserId, id: crate::domain::ExpenseId) -> Key {
    Key::new(user_expenses(user), format!("EXPENSE#{id}"))
}
pub fn user_expenses(user: UserId) -> String {
    format!("EXPENSE#{user}")
}
pub const EXPENSE: &str = "Expense";

/// GSI2 (sparse): the timesheets and expenses waiting for one supervisor.
pub fn waiting_for(supervisor: UserId) -> String {
    format!("SUPERVISOR#{supervisor}#WAITING")
}
