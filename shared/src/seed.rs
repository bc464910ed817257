//! Demo data for the local portal's first start: the platform with one
//! admin, one partner with a Partner Manager, two customers linked to it.

use serde::Serialize;

use crate::app::Deps;
use crate::domain::{DisplayName, EmailAddress, OrgId, OrgKind, OrgName, Organization, Role, User, UserId, UserStatus};
use crate::error::AppError;
use crate::store::{Cond, Item, Key, Write, keys};

/// The demo users the local portal prints sign-in tokens for.
#[derive(Debug, Clone, Serialize)]
pub struct DemoUser {
    pub id: UserId,
    pub org_id: OrgId,
    pub email: String,
    pub role: Role,
}

const MARKER_PK: &str = "SEED#demo";

/// Writes the demo data once (all or nothing) and returns its users; on
/// later starts reads them back.
pub async fn demo(deps: &Deps) -> Result<Vec<DemoUser>, AppError> {
    let marker = Key::new(MARKER_PK, "SEED");
    if let Some(item) = deps.table.get(&marker).await? {
        return Ok(item
            .decode::<Vec<(UserId, OrgId, String, Role)>>()?
            .into_iter()
            .map(|(id, org_id, email, role)| DemoUser {
                id,
                org_id,
                email,
                role,
            })
            .collect());
    }
    let now = deps.clock.now();
    let name = |s: &str| OrgName::parse(s);
    let org = |n: &str, kind, partner| Organization::new(OrgId(deps.ids.new_id()), name(n)?, kind, partner, now);
    let platform = org("Portico Platform", OrgKind::Platform, None)?;
    let partner = org("Northwind Partners", OrgKind::Partner, None)?;
    let customers = [
        org("Contoso Ltd", OrgKind::Customer, Some(partner.id))?,
        org("Fabrikam Inc", OrgKind::Customer, Some(partner.id))?,
    ];
    // Demo users are set up already: active, MFA counted as enrolled, email
    // confirmed; they sign in with the tokens the portal prints.
    let user = |org: &Organization, email: &str, display: &str, role| -> Result<User, AppError> {
        let mut u = User::invited(
            UserId(deps.ids.new_id()),
            &org.into(),
            EmailAddress::parse(email)?,
            DisplayName::parse(display)?,
            role,
            now,
        )?;
        u.status = UserStatus::Active;
        u.mfa_enrolled = true;
        u.email_confirmed_at = Some(now);
        Ok(u)
    };
    let users = [
        user(&platform, "admin@portico.example.com", "Pat Admin", Role::PlatformAdmin)?,
        user(
            &partner,
            "manager@northwind.example.com",
            "Nora Manager",
            Role::PartnerManager,
        )?,
        user(&partner, "user@northwind.example.com", "Nico User", Role::PartnerUser)?,
        user(
            &customers[0],
            "owner@contoso.example.com",
            "Cora Owner",
            Role::CustomerAccountOwner,
        )?,
    ];
    let listed: Vec<(UserId, OrgId, String, Role)> = users
        .iter()
        .map(|u| (u.id, u.org_id, u.email.to_string(), u.role))
        .collect();
    let mut writes = vec![
        // The catalogue, unless the platform has one already.
        Write::Put {
            item: crate::settings::demo_catalogue().item()?,
            cond: Cond::MustNotExist,
        },
        Write::Put {
            item: Item::new(marker, "Seed", 1, &listed)?,
            cond: Cond::MustNotExist,
        },
    ];
    for o in [&platform, &partner, &customers[0], &customers[1]] {
        writes.push(Write::Put {
            item: o.item()?,
            cond: Cond::MustNotExist,
        });
        writes.push(Write::Put {
            item: Item::new(
                keys::org_name(&o.name.skeleton()),
                keys::ORG_NAME,
                1,
                &serde_json::json!({ "orgId": o.id }),
            )?,
            cond: Cond::MustNotExist,
        });
    }
    for u in &users {
        writes.push(Write::Put {
            item: u.item()?,
            cond: Cond::MustNotExist,
        });
        writes.push(Write::Put {
            item: u.login_item()?,
            cond: Cond::MustNotExist,
        });
    }
    deps.table.transact(writes).await?;
    Ok(listed
        .into_iter()
        .map(|(id, org_id, email, role)| DemoUser {
            id,
            org_id,
            email,
            role,
        })
        .collect())
}
