//! Entities and rules, parsed once at the edge. No I/O here.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Input a domain type refuses, and why (a sentence for the caller). The
/// HTTP edge answers it as a 400 `invalid-input` problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(String);

impl ParseError {
    pub fn new(why: impl Into<String>) -> Self {
        Self(why.into())
    }
    pub fn detail(&self) -> &str {
        &self.0
    }
}

macro_rules! id_type {
    ($name:ident, $what:literal) => {
        #[doc = concat!("Identifier of ", $what, ".")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(pub Uuid);

        impl FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, ParseError> {
                Self::parse(s)
            }
        }

        // From its string, with the same refusal wherever it comes from (a
        // path, a body, a stored item).
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }

        impl $name {
            pub fn parse(s: &str) -> Result<Self, ParseError> {
                Uuid::parse_str(s)
                    .map($name)
                    .map_err(|_| ParseError::new(concat!("not a valid ", $what, " id")))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(OrgId, "an organisation");
id_type!(UserId, "a user");
id_type!(EventId, "an activity event");
id_type!(InvitationId, "an invitation");
id_type!(RequestId, "a user request");
id_type!(InstanceId, "an instance");
id_type!(AccessRequestId, "an access request");
id_type!(ProjectId, "a project");
id_type!(ItemId, "a milestone, task, RAID entry or status report");
id_type!(EntryId, "a time entry");
id_type!(ExpenseId, "an expense");

/// An email address, validated and normalised (lower case) once.
/// Rejects anything that could inject mail headers (CR, LF, other controls).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, format = Email)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        if raw.chars().any(char::is_control) {
            return Err(ParseError::new("email address contains a control character"));
        }
        let s = raw.trim();
        if s.is_empty() || s.len() > 254 {
            return Err(ParseError::new("email address must be 1 to 254 characters"));
        }
        if s.chars()
            .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '<' | '>' | ',' | ';' | '"'))
        {
            return Err(ParseError::new(
                "email address contains a character that is not allowed",
            ));
        }
        let parsed =
            email_address::EmailAddress::from_str(s).map_err(|_| ParseError::new("not a valid email address"))?;
        if !parsed.domain().contains('.') {
            return Err(ParseError::new("email address domain must be fully qualified"));
        }
        // Mail headers and SES carry ASCII: an internationalised domain is
        // kept in its punycode (A-label) form, so both spellings are one
        // address; a non-ASCII local part would need SMTPUTF8, which the
        // mail path does not offer.
        if !parsed.local_part().is_ascii() {
            return Err(ParseError::new(
                "the part of an email address before the @ must be ASCII",
            ));
        }
        let domain = idna::domain_to_ascii_strict(parsed.domain())
            .map_err(|_| ParseError::new("the email address's domain is not a valid domain name"))?;
        let address = format!("{}@{domain}", parsed.local_part().to_ascii_lowercase());
        if address.len() > 254 {
            return Err(ParseError::new("email address must be 1 to 254 characters"));
        }
        Ok(Self(address))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EmailAddress {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        EmailAddress::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Whether `c` may not appear in a name: controls, format characters
/// (bidi controls such as U+202E, zero-width characters, U+FEFF), private
/// use, unassigned code points and non-characters, surrogates, line and
/// paragraph separators, and the invisible Hangul fillers.
fn forbidden_in_names(c: char) -> bool {
    use unicode_properties::{GeneralCategory as G, UnicodeGeneralCategory};
    matches!(
        c.general_category(),
        G::Control | G::Format | G::PrivateUse | G::Unassigned | G::Surrogate | G::LineSeparator | G::ParagraphSeparator
    ) || matches!(c, '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}')
        // Non-characters (U+FDD0..U+FDEF and U+xFFFE, U+xFFFF) are Cn too,
        // but say so in case a Unicode update assigns a category.
        || ('\u{FDD0}'..='\u{FDEF}').contains(&c)
        || (u32::from(c) & 0xFFFE) == 0xFFFE
}

/// A name as people type it: NFC-normalised, trimmed, `min..=max`
/// characters, none of the [`forbidden_in_names`] classes.
fn clean_name(raw: &str, what: &str, min: usize, max: usize) -> Result<String, ParseError> {
    use unicode_normalization::UnicodeNormalization;
    let s: String = raw.trim().nfc().collect();
    let n = s.chars().count();
    if !(min..=max).contains(&n) {
        return Err(ParseError::new(format!("{what} must be {min} to {max} characters")));
    }
    if let Some(c) = s.chars().find(|c| forbidden_in_names(*c)) {
        return Err(ParseError::new(format!(
            "{what} must not contain invisible, control, private-use or unassigned characters (U+{:04X})",
            u32::from(c)
        )));
    }
    Ok(s)
}

/// An instance's name ("Production", "EU server"): 1 to 100 characters,
/// trimmed and NFC-normalised, nothing invisible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "Production")]
pub struct InstanceName(String);

impl InstanceName {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        clean_name(raw, "instance name", 1, 100).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The form used for sorting.
    pub fn folded(&self) -> String {
        self.0.to_lowercase()
    }
}

impl<'de> Deserialize<'de> for InstanceName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        InstanceName::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An organisation's display name: 2 to 100 characters, trimmed and
/// NFC-normalised, nothing invisible; unique by its confusable skeleton.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "Northwind Partners")]
pub struct OrgName(String);

impl OrgName {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        clean_name(raw, "organisation name", 2, 100).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The form used for sorting.
    pub fn folded(&self) -> String {
        self.0.to_lowercase()
    }
    /// The form used for uniqueness: the UTS #39 confusable skeleton of the
    /// lower-cased name, so that `Nоrthwind` (Cyrillic о) is taken when
    /// `Northwind` is, and so are names differing only in case or spacing
    /// lookalikes. Hashed, as skeletons may be long and hold any character.
    pub fn skeleton(&self) -> String {
        use sha2::Digest;
        let lower = self.0.to_lowercase();
        let skeleton: String = unicode_security::skeleton(&lower).collect();
        let skeleton = skeleton.to_lowercase();
        let folded: String = unicode_security::skeleton(&skeleton).collect();
        hex::encode(sha2::Sha256::digest(folded.as_bytes()))
    }
}

impl<'de> Deserialize<'de> for OrgName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        OrgName::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// What an organisation is to the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    /// The SaaS vendor running Portico.
    Platform,
    /// A reseller, integrator or managed-service provider.
    Partner,
    /// A customer with an instance of the platform's product.
    Customer,
}

impl OrgKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::Platform => "platform",
            OrgKind::Partner => "partner",
            OrgKind::Customer => "customer",
        }
    }
}

/// A user's role within their organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    PlatformAdmin,
    PartnerManager,
    PartnerUser,
    CustomerAccountOwner,
    /// A customer's System Administrator (seed 003's staff list): manages
    /// the customer's users, but not its Account Owners.
    CustomerAdmin,
    CustomerUser,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::PlatformAdmin => "platform_admin",
            Role::PartnerManager => "partner_manager",
            Role::PartnerUser => "partner_user",
            Role::CustomerAccountOwner => "customer_account_owner",
            Role::CustomerAdmin => "customer_admin",
            Role::CustomerUser => "customer_user",
        }
    }
    /// The kind of organisation a user with this role belongs to.
    pub fn org_kind(self) -> OrgKind {
        match self {
            Role::PlatformAdmin => OrgKind::Platform,
            Role::PartnerManager | Role::PartnerUser => OrgKind::Partner,
            Role::CustomerAccountOwner | Role::CustomerAdmin | Role::CustomerUser => OrgKind::Customer,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// Invited, has not completed setup.
    Pending,
    Active,
    Suspended,
}

/// An organisation: the platform itself, a partner, or a customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Organization {
    pub id: OrgId,
    pub name: OrgName,
    pub kind: OrgKind,
    /// For a customer: the partner that brought it (partner of record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_of_record: Option<OrgId>,
    pub created_at: DateTime<Utc>,
    /// For customers: whether their users must use MFA (platform and partner users always must).
    #[serde(default = "yes")]
    pub mfa_required: bool,
    /// For partners: source networks (CIDR) from which users need not
    /// re-confirm their email every 24 hours.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_ranges: Vec<String>,
    /// Set while a customer's users are being brought in line with a new MFA
    /// policy, in batches: where the next batch starts ("" for the first).
    /// Changing the policy again (even to the same value) finishes the job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_users_pending: Option<String>,
    /// For customers: when its staff last changed (a staff change is
    /// conditioned on the organisation's version and bumps it, so that two
    /// at once cannot both take the last Account Owners).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_changed_at: Option<DateTime<Utc>>,
    /// For partners: what it may manage itself (seed 002's "Allow
    /// Organization ..." flags), copied at its creation.
    #[serde(default)]
    pub capabilities: crate::partner_portal::Capabilities,
    /// A template (seed 002's Model Organization): self-registration copies
    /// it; it and its users are never live (nobody signs in to it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub template: bool,
    /// For a self-registered partner: the group it was created under (the
    /// organisation its signup link's key names; seed 002 Step 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<OrgId>,
    /// Self-registered while moderation was on: nobody signs in until a
    /// platform admin approves it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub awaiting_approval: bool,
    pub version: u64,
}

/// Partner users re-confirm their email this often (seed 000), unless they
/// come from one of their partner's trusted networks.
pub const EMAIL_CONFIRMATION_HOURS: i64 = 24;

/// The shortest IPv4 prefix a trusted range may have: a /16 is 65,536
/// addresses, an organisation's network at most; shorter ones (two /1s
/// cover everything) would switch re-confirmation off for everyone.
pub const MIN_TRUSTED_PREFIX_V4: u8 = 16;
/// The shortest IPv6 prefix a trusted range may have: a /32 is what a
/// regional registry allocates to a whole provider.
pub const MIN_TRUSTED_PREFIX_V6: u8 = 32;

/// A trusted source network: an IPv4 or IPv6 CIDR block, parsed once, no
/// wider than [`MIN_TRUSTED_PREFIX_V4`] / [`MIN_TRUSTED_PREFIX_V6`].
pub fn parse_trusted_range(raw: &str) -> Result<ipnet::IpNet, ParseError> {
    let s = raw.trim();
    let net: ipnet::IpNet = s
        .parse()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| ParseError::new(format!("{raw:?} is not an IPv4 or IPv6 CIDR block")))?;
    let min = match net {
        ipnet::IpNet::V4(_) => MIN_TRUSTED_PREFIX_V4,
        ipnet::IpNet::V6(_) => MIN_TRUSTED_PREFIX_V6,
    };
    if net.prefix_len() < min {
        return Err(ParseError::new(format!(
            "{raw:?} is too wide to trust: IPv4 ranges may be at most /{MIN_TRUSTED_PREFIX_V4}, IPv6 ranges at most /{MIN_TRUSTED_PREFIX_V6}"
        )));
    }
    Ok(net.trunc())
}

impl Organization {
    /// Whether `ip` is inside one of the trusted ranges.
    pub fn trusts(&self, ip: &str) -> bool {
        let Ok(ip) = ip.parse::<std::net::IpAddr>() else {
            return false;
        };
        self.trusted_ranges
            .iter()
            .filter_map(|r| parse_trusted_range(r).ok())
            .any(|n| n.contains(&ip))
    }
}

impl Organization {
    /// The rules for a new organisation's shape, whoever creates it.
    pub fn new(
        id: OrgId,
        name: OrgName,
        kind: OrgKind,
        partner_of_record: Option<OrgId>,
        now: DateTime<Utc>,
    ) -> Result<Self, ParseError> {
        match (kind, partner_of_record) {
            (OrgKind::Customer, None) => {
                return Err(ParseError::new(
                    "a customer organisation needs its partner of record (partnerOfRecord)",
                ));
            }
            (OrgKind::Partner | OrgKind::Platform, Some(_)) => {
                return Err(ParseError::new("only customer organisations have a partner of record"));
            }
            _ => {}
        }
        Ok(Self {
            id,
            name,
            kind,
            partner_of_record,
            created_at: now,
            mfa_required: true,
            trusted_ranges: Vec::new(),
            mfa_users_pending: None,
            staff_changed_at: None,
            capabilities: Default::default(),
            template: false,
            parent: None,
            awaiting_approval: false,
            version: 1,
        })
    }
}

/// Names a stored emailed link: the hex SHA-256 of its token (the token
/// itself is never stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct LinkHash(String);

impl LinkHash {
    pub fn of(token: &str) -> Self {
        use sha2::Digest;
        Self(hex::encode(sha2::Sha256::digest(token.as_bytes())))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for LinkHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Users written before the hash had its own type held the link's
        // whole key; the hash is its partition key's tail.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Hash(String),
            Key { pk: String },
        }
        Ok(Self(match Stored::deserialize(d)? {
            Stored::Hash(h) => h,
            Stored::Key { pk } => pk.trim_start_matches("LINK#").to_string(),
        }))
    }
}

/// A person who signs in to Portico.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct User {
    pub id: UserId,
    pub org_id: OrgId,
    /// The kind of the user's organisation (copied when the user is created).
    pub org_kind: OrgKind,
    pub email: EmailAddress,
    pub display_name: String,
    pub role: Role,
    pub status: UserStatus,
    pub created_at: DateTime<Utc>,
    /// Whether sign-in must pass a TOTP code (always for platform and partner users).
    #[serde(default = "yes")]
    pub mfa_required: bool,
    /// Whether the user has enrolled an authenticator app.
    #[serde(default)]
    pub mfa_enrolled: bool,
    /// When the user last confirmed their email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_confirmed_at: Option<DateTime<Utc>>,
    /// The live email-confirmation link (killed when another is sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub confirm_link: Option<LinkHash>,
    /// The generation of the user's sessions (see `sessions`): a new one
    /// revokes every session opened before it.
    #[serde(default)]
    #[schema(ignore)]
    pub session_generation: u64,
    /// Hide Organization Settings (seed 002 Step 7): the organisation's
    /// settings pages and routes are closed to this manager.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hide_org_settings: bool,
    /// The user dismissed the first-time dialog (seed 002 Step 6).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[schema(ignore)]
    pub welcomed: bool,
    pub version: u64,
}

fn yes() -> bool {
    true
}

impl User {
    /// A new user who has yet to set a password. MFA is required for
    /// platform and partner users, and for customers whose organisation
    /// requires it.
    pub fn invited(
        id: UserId,
        org: &OrgRef,
        email: EmailAddress,
        display_name: DisplayName,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<Self, ParseError> {
        if role.org_kind() != org.kind {
            return Err(ParseError::new(format!(
                "a {} organisation cannot have a user with role {}",
                org.kind.as_str(),
                role.as_str()
            )));
        }
        Ok(Self {
            id,
            org_id: org.id,
            org_kind: org.kind,
            email,
            display_name: display_name.0,
            role,
            status: UserStatus::Pending,
            created_at: now,
            mfa_required: org.kind != OrgKind::Customer || org.mfa_required,
            mfa_enrolled: false,
            email_confirmed_at: None,
            confirm_link: None,
            session_generation: 0,
            hide_org_settings: false,
            welcomed: false,
            version: 1,
        })
    }
}

/// What a user's creation needs to know about their organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrgRef {
    pub id: OrgId,
    pub kind: OrgKind,
    pub mfa_required: bool,
}

impl From<&Organization> for OrgRef {
    fn from(o: &Organization) -> Self {
        Self {
            id: o.id,
            kind: o.kind,
            mfa_required: o.mfa_required,
        }
    }
}

/// A person's name as shown in Portico: 1 to 100 printable characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "Nora Manager")]
pub struct DisplayName(pub(crate) String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        clean_name(raw, "display name", 1, 100).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for DisplayName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DisplayName::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A new password that meets the rules: at least 12 characters, at most
/// 256, not the email address (or its local part), not a common password,
/// and hard to guess: zxcvbn's strength estimate (which knows common
/// passwords, words, keyboard patterns, repeats and the user's email) of at
/// least [`MIN_PASSWORD_SCORE`] of 4, i.e. more than 10^8 guesses.
/// Never serialised, never printed.
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// The least zxcvbn score (0 to 4) a new password needs.
pub const MIN_PASSWORD_SCORE: u8 = 3;

/// Common passwords of 12 characters or more (the rule on length already
/// refuses the shorter ones).
const COMMON_PASSWORDS: &[&str] = &[
    "123456789012",
    "1234567890123",
    "12345678901234",
    "123456789123",
    "111111111111",
    "000000000000",
    "passwordpassword",
    "password1234",
    "password12345",
    "password123456",
    "password1!",
    "qwertyuiopasdf",
    "qwertyuiop123",
    "qwerty123456",
    "1q2w3e4r5t6y",
    "1qaz2wsx3edc",
    "iloveyou1234",
    "letmein12345",
    "welcome12345",
    "administrator",
    "changeme1234",
    "trustno1trustno1",
    "abcdefghijkl",
    "abc123456789",
    "aaaaaaaaaaaa",
    "football1234",
    "baseball1234",
    "superman1234",
    "princess1234",
    "sunshine1234",
    "correcthorsebatterystaple",
    "p@ssw0rd1234",
    "passw0rd1234",
    "portico12345",
    "portico123456",
];

impl Password {
    pub fn parse(raw: &str, email: &EmailAddress) -> Result<Self, ParseError> {
        let n = raw.chars().count();
        if n < 12 {
            return Err(ParseError::new("password must be at least 12 characters long"));
        }
        if n > 256 {
            return Err(ParseError::new("password must be at most 256 characters long"));
        }
        let lower = raw.to_lowercase();
        let local = email.as_str().split('@').next().unwrap_or_default();
        if lower == email.as_str() || lower == local {
            return Err(ParseError::new("password must not be your email address"));
        }
        if COMMON_PASSWORDS.contains(&lower.as_str()) {
            return Err(ParseError::new("password is too common; choose another"));
        }
        // The address, its parts and the product count as known words.
        let domain = email.as_str().rsplit('@').next().unwrap_or_default();
        let mut known = vec![email.as_str(), local, domain, "portico"];
        known.extend(domain.split('.'));
        let estimate = zxcvbn::zxcvbn(raw, &known);
        let score = estimate.score() as u8;
        if score < MIN_PASSWORD_SCORE {
            let mut why =
                format!("password is too easy to guess (strength {score} of 4, at least {MIN_PASSWORD_SCORE} needed)");
            if let Some(f) = estimate.feedback() {
                if let Some(w) = f.warning() {
                    why.push_str(&format!(": {w}"));
                }
                for s in f.suggestions() {
                    why.push_str(&format!(" {s}"));
                }
            }
            return Err(ParseError::new(why));
        }
        Ok(Self(raw.to_string()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
#[path = "domain_test.rs"]
mod tests;
