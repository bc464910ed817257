//! Each entity builds its own items: keys, entity type, version and index
//! attributes in one place (modyne's habit). The `impl`s live beside the
//! keys so that `domain` stays free of storage.

use crate::domain::{Organization, User};
use crate::store::{Item, StoreError, keys};

impl Organization {
    /// The organisation's item: by id, listed under all organisations by
    /// kind and name, and under its partner of record.
    pub fn item(&self) -> Result<Item, StoreError> {
        let folded = self.name.folded();
        let mut item = Item::new(keys::org(self.id), keys::ORG, self.version, self)?
            .with_gsi1(keys::ALL_ORGS, keys::org_listing_sk(self.kind, &folded, self.id));
        if let Some(p) = self.partner_of_record {
            item = item.with_gsi2(keys::partner_customers(p), keys::customer_listing_sk(&folded, self.id));
        } else if self.awaiting_approval {
            // Sparse: the self-registered organisations waiting for the platform.
            item = item.with_gsi2(keys::AWAITING_APPROVAL, keys::newest_first(self.created_at, self.id));
        }
        Ok(item)
    }
}

impl User {
    /// The user's item: by id, listed under its organisation by email.
    pub fn item(&self) -> Result<Item, StoreError> {
        Ok(Item::new(keys::user(self.id), keys::USER, self.version, self)?
            .with_gsi1(keys::org_users(self.org_id), self.email.as_str()))
    }

    /// The sign-in lookup by email (and the email's uniqueness).
    pub fn login_item(&self) -> Result<Item, StoreError> {
        Item::new(
            keys::login(&self.email),
            keys::LOGIN,
            1,
            &crate::accounts::Login::of(self),
        )
    }
}
