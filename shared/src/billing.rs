//! A customer's invoices and payments: a minimal, read-only record the
//! platform feeds (it bills its customers elsewhere). Seed 004's "Invoices &
//! Payments" page reads it; a partner's users need `billing.view` at the
//! customer (a Decision Maker has it, a Phone Manager does not).
//!
//! Money is decimal: an amount is kept in minor units (cents) as an integer
//! and written as a decimal string with two places ("1250.00"), never as a
//! float.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{OrgId, ParseError};
use crate::store::{Item, StoreError, keys};

/// An invoice issued to the customer, or a payment received from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Invoice,
    Payment,
}

/// An amount of money: a decimal string with up to two places, 0 to
/// 999999999999.99 ("1250", "1250.5", "1250.00").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ToSchema)]
#[schema(value_type = String, example = "1250.00")]
pub struct Amount(i64);

impl Amount {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::new("an amount is a decimal with up to 2 places, 0 to 999999999999.99, e.g. 1250.00");
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        if whole.is_empty()
            || whole.len() > 12
            || frac.len() > 2
            || (s.contains('.') && frac.is_empty())
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let whole: i64 = whole.parse().map_err(|_| bad())?;
        let cents: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
        Ok(Amount(whole * 100 + cents))
    }

    /// In minor units (cents).
    pub fn minor(self) -> i64 {
        self.0
    }
}

impl std::fmt::Display for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Amount::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An ISO 4217 currency code: three upper-case letters ("EUR").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "EUR")]
pub struct Currency(String);

impl Currency {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        if s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Currency(s.to_string()))
        } else {
            Err(ParseError::new(
                "a currency is an ISO 4217 code: three upper-case letters, e.g. EUR",
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Currency::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// One line of the customer's invoices and payments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BillingEntry {
    pub id: uuid::Uuid,
    pub customer_id: OrgId,
    pub kind: EntryKind,
    /// The invoice's number, or the payment's reference.
    pub reference: String,
    /// The invoice's date, or the day the payment was received.
    pub date: NaiveDate,
    /// An invoice's due date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<NaiveDate>,
    pub amount: Amount,
    pub currency: Currency,
    pub recorded_at: DateTime<Utc>,
}

impl BillingEntry {
    /// Listed newest first by date (then by id) under the customer.
    pub fn item(&self) -> Result<Item, StoreError> {
        Item::new(
            keys::billing_entry(self.customer_id, self.date, self.id),
            keys::BILLING_ENTRY,
            1,
            self,
        )
    }
}

/// A reference: 1 to 40 printable characters, no control characters.
pub fn parse_reference(s: &str) -> Result<String, ParseError> {
    let t = s.trim();
    if (1..=40).contains(&t.chars().count()) && !t.chars().any(char::is_control) {
        Ok(t.to_string())
    } else {
        Err(ParseError::new("a reference is 1 to 40 characters"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_decimal_strings_in_minor_units() {
        for (s, minor, shown) in [
            ("0", 0, "0.00"),
            ("1250", 125000, "1250.00"),
            ("1250.5", 125050, "1250.50"),
            ("0.07", 7, "0.07"),
            ("999999999999.99", 99_999_999_999_999, "999999999999.99"),
        ] {
            let a = Amount::parse(s).unwrap();
            assert_eq!((a.minor(), a.to_string().as_str()), (minor, shown), "{s}");
        }
        for bad in [
            "",
            ".5",
            "1.",
            "1.234",
            "-1",
            "1e3",
            "1,50",
            "1000000000000",
            " 1",
            "NaN",
        ] {
            assert!(Amount::parse(bad).is_err(), "{bad:?}");
        }
        assert!(
            serde_json::from_value::<Amount>(serde_json::json!(12.5)).is_err(),
            "never a float"
        );
    }

    #[test]
    fn currencies_are_iso_codes() {
        assert!(Currency::parse("EUR").is_ok());
        for bad in ["eur", "EURO", "E1R", ""] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
    }
}
