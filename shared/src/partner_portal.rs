//! The Partner Portal's configuration (seed 002): the feature switches the
//! platform sets (Step 1), the Partner Portal settings (Step 4), what a
//! partner organisation may manage itself (its capability flags) and how
//! many licensed partner-user seats it has (its allocation). No I/O here:
//! `ops::partner_portal` reads and changes them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{OrgId, ParseError, UserId};
use crate::store::{Item, StoreError, keys};

/// What a partner organisation may manage itself through its Organization
/// Settings (seed 002 Step 4's "Allow Organization ..." flags), decided by
/// Cedar (`resource.allows`). Drivers and Classifiers are the assessment
/// product's notions with no counterpart in Portico: they are carried,
/// copied and shown, and decide nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Capabilities {
    /// Edit the organisation's own profile: its name and trusted networks.
    pub self_management: bool,
    /// Its Partner Managers add and remove users directly, without asking
    /// the platform (which otherwise approves each request).
    pub user_management: bool,
    /// Its Partner Managers manage its groups (who holds the roles customers delegate).
    pub roles: bool,
    /// Carried for the assessment product; decides nothing in Portico.
    pub drivers: bool,
    /// Carried for the assessment product; decides nothing in Portico.
    pub classifiers: bool,
}

impl Default for Capabilities {
    /// What partners could do before the flags existed: manage their own
    /// profile and groups, and ask the platform for users.
    fn default() -> Self {
        Self {
            self_management: true,
            user_management: false,
            roles: true,
            drivers: false,
            classifiers: false,
        }
    }
}

impl Capabilities {
    /// The flags that are on, as Cedar sees them (`resource.allows`).
    pub fn names(&self) -> Vec<&'static str> {
        [
            (self.self_management, "self_management"),
            (self.user_management, "user_management"),
            (self.roles, "roles"),
            (self.drivers, "drivers"),
            (self.classifiers, "classifiers"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }
}

/// The most seats an allocation names.
pub const MAX_SEATS: u32 = 100_000;

/// How a partner organisation obtains licensed partner-user seats (seed
/// 002's Default Resource Allocation; its "responses" are Portico's seats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Allocation {
    /// As many users as it likes.
    #[default]
    Unlimited,
    /// `seats` users; the platform changes the number.
    Allocated { seats: u32 },
    /// `seats` users; the organisation asks for more and a platform admin approves.
    Purchasable { seats: u32 },
}

impl Allocation {
    /// The seat limit (none: unlimited).
    pub fn limit(&self) -> Option<u32> {
        match self {
            Allocation::Unlimited => None,
            Allocation::Allocated { seats } | Allocation::Purchasable { seats } => Some(*seats),
        }
    }

    pub fn check(&self) -> Result<(), ParseError> {
        match self.limit() {
            Some(n) if n > MAX_SEATS => Err(ParseError::new(format!("an allocation has at most {MAX_SEATS} seats"))),
            _ => Ok(()),
        }
    }

    /// The allocation in words: "Unlimited", "Allocated: 10 seats", "Can Be Purchased: 10 seats".
    pub fn describe(&self) -> String {
        let seats = |n: u32| {
            if n == 1 {
                "1 seat".to_string()
            } else {
                format!("{n} seats")
            }
        };
        match self {
            Allocation::Unlimited => "Unlimited".into(),
            Allocation::Allocated { seats: n } => format!("Allocated: {}", seats(*n)),
            Allocation::Purchasable { seats: n } => format!("Can Be Purchased: {}", seats(*n)),
        }
    }
}

/// The platform's switches and Partner Portal settings: one item. Until the
/// platform saves it, [`PortalConfig::default`] applies (everything as it
/// was before the switches existed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PortalConfig {
    /// Step 1, "Use Organization": partner organisations can be created
    /// (off: none can, and the Partner Portal is off too).
    pub organizations: bool,
    /// Step 1, "Use Partner Portal": partners sign in and use their pages
    /// and routes (off: they answer 403 `partner-portal-off`).
    pub partner_portal: bool,
    /// Step 4, "Allow External Organization Creation": partners may
    /// self-register through the signup link.
    pub allow_external_creation: bool,
    /// Step 4, the Model User: self-registration copies this user (of a
    /// template organisation, the Model Organization) and their organisation.
    /// Required while self-registration is allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_user: Option<UserId>,
    /// Step 4, the Default Resource Allocation of a partner set up by hand.
    #[serde(default)]
    pub default_allocation: Allocation,
    /// Step 4, the "Allow Organization ..." flags a partner set up by hand gets.
    #[serde(default)]
    pub capabilities: Capabilities,
    /// A platform admin approves each self-registered organisation before
    /// its manager can sign in.
    #[serde(default)]
    pub moderated: bool,
    /// The Model Organization: the Model User's (set when saved; a body's value is ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_organization: Option<OrgId>,
    /// The live signup link (`POST /partner-portal/signup-link` makes and
    /// rotates it; a body's value is ignored; it dies with self-registration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signup_link: Option<SignupLink>,
    pub version: u64,
}

/// The self-registration link the platform publishes (seed 002 Step 5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignupLink {
    /// The link's identifier, in its URL; rotating it kills the old one.
    pub id: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Only addresses of these domains (or their subdomains) may sign up (empty: any).
    #[serde(default)]
    pub allowed_domains: Vec<String>,
    /// Addresses of these domains (or their subdomains) may not.
    #[serde(default)]
    pub denied_domains: Vec<String>,
}

impl SignupLink {
    /// Whether `domain` may sign up through this link.
    pub fn admits(&self, domain: &str) -> bool {
        let d = domain.to_ascii_lowercase();
        let within = |list: &[String]| list.iter().any(|x| d == *x || d.ends_with(&format!(".{x}")));
        (self.allowed_domains.is_empty() || within(&self.allowed_domains)) && !within(&self.denied_domains)
    }
}

/// A domain of an allow-list or deny-list: lower case, with a dot, no `@`.
pub fn parse_domain(raw: &str) -> Result<String, ParseError> {
    let d = raw.trim().trim_start_matches('@').to_ascii_lowercase();
    let ok = d.contains('.')
        && d.len() <= 253
        && d.split('.')
            .all(|l| !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if ok {
        Ok(d)
    } else {
        Err(ParseError::new(format!("{raw:?} is not a domain name")))
    }
}

impl Default for PortalConfig {
    fn default() -> Self {
        Self {
            organizations: true,
            partner_portal: true,
            allow_external_creation: false,
            model_user: None,
            default_allocation: Allocation::Unlimited,
            capabilities: Capabilities::default(),
            moderated: false,
            model_organization: None,
            signup_link: None,
            version: 0,
        }
    }
}

impl PortalConfig {
    /// The configuration as stored, or the default until the platform saves one.
    pub fn from_item(item: Option<&Item>) -> Result<Self, StoreError> {
        match item {
            Some(i) => {
                let mut c: Self = i.decode()?;
                c.version = i.version;
                Ok(c)
            }
            None => Ok(Self::default()),
        }
    }

    /// Whether partners may use Portico (both switches on).
    pub fn partners_served(&self) -> bool {
        self.organizations && self.partner_portal
    }

    /// The rules between the settings.
    pub fn check(&self) -> Result<(), ParseError> {
        if self.partner_portal && !self.organizations {
            return Err(ParseError::new(
                "the Partner Portal is built on Organizations: switch Organizations on too (organizations: true)",
            ));
        }
        if self.allow_external_creation && self.model_user.is_none() {
            return Err(ParseError::new(
                "self-registration (allowExternalCreation) needs a Model User (modelUser)",
            ));
        }
        if self.allow_external_creation && !self.partner_portal {
            return Err(ParseError::new(
                "self-registration (allowExternalCreation) needs the Partner Portal on (partnerPortal: true)",
            ));
        }
        self.default_allocation.check()
    }

    pub fn item(&self) -> Result<Item, StoreError> {
        Item::new(keys::portal_config(), keys::PORTAL_CONFIG, self.version, self)
    }
}

/// A partner organisation's seats: its allocation and how many are in use.
/// `used` changes only by counted writes (`Write::Count`), conditioned on
/// staying within `limit`, in the transaction that adds or removes a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Seats {
    pub org_id: OrgId,
    pub allocation: Allocation,
    /// The allocation's limit, kept beside `used` for the counter's
    /// condition (absent or null: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub limit: Option<u32>,
    /// Users holding a seat: every user of the organisation, pending or active.
    pub used: u32,
    pub version: u64,
}

/// The field of [`Seats`] the counter changes, and the field bounding it.
pub const SEATS_USED: &str = "used";
pub const SEATS_LIMIT: &str = "limit";

impl Seats {
    pub fn new(org_id: OrgId, allocation: Allocation, used: u32) -> Self {
        Self {
            org_id,
            allocation,
            limit: allocation.limit(),
            used,
            version: 1,
        }
    }

    pub fn from_item(item: &Item) -> Result<Self, StoreError> {
        let mut s: Self = item.decode()?;
        s.version = item.version;
        Ok(s)
    }

    pub fn item(&self) -> Result<Item, StoreError> {
        Item::new(keys::seats(self.org_id), keys::SEATS, self.version, self)
    }

    /// Seats still free (none: unlimited).
    pub fn free(&self) -> Option<u32> {
        self.allocation.limit().map(|l| l.saturating_sub(self.used))
    }

    /// What a refusal for want of a seat says.
    pub fn full(&self, org_name: &str) -> String {
        let more = match self.allocation {
            Allocation::Purchasable { .. } => "remove a user, or ask the platform for more seats",
            _ => "remove a user, or ask the platform to allocate more",
        };
        format!(
            "{org_name} has no free seat: its allocation is {} and {} in use; {more}.",
            self.allocation.describe(),
            self.used
        )
    }
}

/// A partner's request for more seats, which a platform admin approves
/// (adding them to its allocation) or rejects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeatRequest {
    pub id: crate::domain::RequestId,
    pub org_id: OrgId,
    /// The organisation's name when asked (for the platform's queue).
    pub org_name: String,
    /// How many more seats.
    pub seats: u32,
    pub requested_by: UserId,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub state: crate::accounts::RequestState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<UserId>,
    pub version: u64,
}

impl SeatRequest {
    pub fn item(&self) -> Result<Item, StoreError> {
        let mut item = Item::new(keys::seat_request(self.id), keys::SEAT_REQUEST, self.version, self)?.with_gsi1(
            keys::org_seat_requests(self.org_id),
            keys::newest_first(self.created_at, self.id),
        );
        if self.state == crate::accounts::RequestState::Pending {
            // Sparse: only pending requests are in the platform's queue.
            item = item.with_gsi2(
                keys::PENDING_SEAT_REQUESTS,
                keys::newest_first(self.created_at, self.id),
            );
        }
        Ok(item)
    }
}

/// One portal text: sanitised HTML and its version (0: never saved).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PortalText {
    /// Sanitised when saved (ammonia): no script, no event handlers, no styles.
    pub html: String,
    pub version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The texts partners see (seed 002 Step 6), edited by platform admins.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PortalTexts {
    /// Partner Portal Initiation Text: on the signup page.
    #[serde(default)]
    pub initiation: PortalText,
    /// First Time Manager: the dialog a manager sees at their first sign-in.
    #[serde(default)]
    pub first_time: PortalText,
    /// Manager Help: shown behind the Help link in each manager's menu.
    #[serde(default)]
    pub help: PortalText,
}

/// Which portal text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TextName {
    Initiation,
    FirstTime,
    Help,
}

/// The longest a portal text may be, before sanitising.
pub const MAX_TEXT_BYTES: usize = 20_000;

/// `raw` as safe HTML: ammonia's allow-list (formatting, lists, links with
/// `rel="noopener noreferrer"`), nothing that runs.
pub fn sanitise(raw: &str) -> Result<String, ParseError> {
    if raw.len() > MAX_TEXT_BYTES {
        return Err(ParseError::new(format!("a text has at most {MAX_TEXT_BYTES} bytes")));
    }
    Ok(ammonia::clean(raw))
}

impl PortalTexts {
    pub fn from_item(item: Option<&Item>) -> Result<Self, StoreError> {
        item.map_or_else(|| Ok(Self::default()), |i| i.decode())
    }

    pub fn get_mut(&mut self, name: TextName) -> &mut PortalText {
        match name {
            TextName::Initiation => &mut self.initiation,
            TextName::FirstTime => &mut self.first_time,
            TextName::Help => &mut self.help,
        }
    }

    pub fn item(&self, version: u64) -> Result<Item, StoreError> {
        Item::new(keys::portal_texts(), keys::PORTAL_TEXTS, version, self)
    }
}
