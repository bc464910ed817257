//! Entities and rules, parsed once at the edge. No I/O here.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::AppError;

macro_rules! id_type {
    ($name:ident, $what:literal) => {
        #[doc = concat!("Identifier of ", $what, ".")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, AppError> {
                Uuid::parse_str(s)
                    .map($name)
                    .map_err(|_| AppError::invalid(concat!("not a valid ", $what, " id")))
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

/// An email address, validated and normalised (lower case) once.
/// Rejects anything that could inject mail headers (CR, LF, other controls).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, format = Email)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        if raw.chars().any(char::is_control) {
            return Err(AppError::invalid("email address contains a control character"));
        }
        let s = raw.trim();
        if s.is_empty() || s.len() > 254 {
            return Err(AppError::invalid("email address must be 1 to 254 characters"));
        }
        if s.chars()
            .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '<' | '>' | ',' | ';' | '"'))
        {
            return Err(AppError::invalid(
                "email address contains a character that is not allowed",
            ));
        }
        let parsed =
            email_address::EmailAddress::from_str(s).map_err(|_| AppError::invalid("not a valid email address"))?;
        if !parsed.domain().contains('.') {
            return Err(AppError::invalid("email address domain must be fully qualified"));
        }
        Ok(Self(s.to_ascii_lowercase()))
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
        EmailAddress::parse(&s).map_err(|e| serde::de::Error::custom(e.detail()))
    }
}

/// An organisation's display name: 2 to 100 printable characters, trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "Northwind Partners")]
pub struct OrgName(String);

impl OrgName {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let s = raw.trim();
        let n = s.chars().count();
        if !(2..=100).contains(&n) {
            return Err(AppError::invalid("organisation name must be 2 to 100 characters"));
        }
        if s.chars().any(char::is_control) {
            return Err(AppError::invalid(
                "organisation name must not contain control characters",
            ));
        }
        Ok(Self(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The form used for uniqueness and sorting.
    pub fn folded(&self) -> String {
        self.0.to_lowercase()
    }
}

impl<'de> Deserialize<'de> for OrgName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        OrgName::parse(&s).map_err(|e| serde::de::Error::custom(e.detail()))
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
    CustomerUser,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::PlatformAdmin => "platform_admin",
            Role::PartnerManager => "partner_manager",
            Role::PartnerUser => "partner_user",
            Role::CustomerAccountOwner => "customer_account_owner",
            Role::CustomerUser => "customer_user",
        }
    }
    /// The kind of organisation a user with this role belongs to.
    pub fn org_kind(self) -> OrgKind {
        match self {
            Role::PlatformAdmin => OrgKind::Platform,
            Role::PartnerManager | Role::PartnerUser => OrgKind::Partner,
            Role::CustomerAccountOwner | Role::CustomerUser => OrgKind::Customer,
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
    pub version: u64,
}

impl Organization {
    /// The rules for a new organisation's shape, whoever creates it.
    pub fn new(
        id: OrgId,
        name: OrgName,
        kind: OrgKind,
        partner_of_record: Option<OrgId>,
        now: DateTime<Utc>,
    ) -> Result<Self, AppError> {
        match (kind, partner_of_record) {
            (OrgKind::Customer, None) => {
                return Err(AppError::invalid(
                    "a customer organisation needs its partner of record (partnerOfRecord)",
                ));
            }
            (OrgKind::Partner | OrgKind::Platform, Some(_)) => {
                return Err(AppError::invalid(
                    "only customer organisations have a partner of record",
                ));
            }
            _ => {}
        }
        Ok(Self {
            id,
            name,
            kind,
            partner_of_record,
            created_at: now,
            version: 1,
        })
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
    pub version: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_rejects_header_injection_and_normalises() {
        for bad in [
            "a@b.com\r\nBcc: x@y.com",
            "a@b.com\n",
            "",
            "no-at",
            "a@localhost",
            "a b@c.com",
            "<a@b.com>",
            "a@b.com,c@d.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(
            EmailAddress::parse(" Ann@Example.COM ").unwrap().as_str(),
            "ann@example.com"
        );
    }

    #[test]
    fn org_names_are_bounded() {
        assert!(OrgName::parse("A").is_err());
        assert!(OrgName::parse(&"x".repeat(101)).is_err());
        assert!(OrgName::parse("Acme\u{7}").is_err());
        assert_eq!(OrgName::parse("  Acme Ltd ").unwrap().as_str(), "Acme Ltd");
    }

    #[test]
    fn only_customers_have_a_partner_of_record() {
        let now = Utc::now();
        let name = OrgName::parse("Acme").unwrap();
        let p = OrgId(Uuid::nil());
        assert!(Organization::new(OrgId(Uuid::nil()), name.clone(), OrgKind::Customer, None, now).is_err());
        assert!(Organization::new(OrgId(Uuid::nil()), name.clone(), OrgKind::Partner, Some(p), now).is_err());
        assert!(Organization::new(OrgId(Uuid::nil()), name, OrgKind::Customer, Some(p), now).is_ok());
    }
}
