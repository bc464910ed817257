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
    // The platform's default delegation: the partner's users hold the
    // default roles at both customers, as any new customer's partner does.
    let catalogue = crate::delegations::Catalogue::from_item(deps.table.get(&keys::delegated_roles()).await?.as_ref())?;
    for c in &customers {
        if let Some((ws, _, _)) = crate::ops::delegations::default_for(&catalogue, c, now)? {
            writes.extend(ws);
        }
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

/// A demo customer's instance, served by the reference instance inside the
/// local portal (under `/_reference/<slug>`).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DemoInstance {
    pub slug: String,
    pub instance_id: crate::domain::InstanceId,
    /// The connection's secret, as the vendor would install it in the instance.
    pub secret: String,
    pub url: String,
}

/// Where the demo instances' setup (their secrets among it) is kept, 0600.
pub const DEMO_INSTANCES_FILE: &str = "demo-instances.json";

/// Contoso's and Fabrikam's instances at `<base>/_reference/<slug>`,
/// registered by the demo admin on the first start (checked at once);
/// later starts read them back from the data directory. An instance the
/// store no longer has is registered again.
pub async fn demo_instances(
    deps: &Deps,
    users: &[DemoUser],
    base: &str,
    data_dir: &std::path::Path,
) -> Result<Vec<DemoInstance>, AppError> {
    let file = data_dir.join(DEMO_INSTANCES_FILE);
    let kept: Vec<DemoInstance> = match std::fs::read(&file) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let admin = users
        .iter()
        .find(|u| u.role == Role::PlatformAdmin)
        .ok_or_else(|| AppError::Internal("the demo data has no platform admin".into()))?;
    let as_user = |u: &DemoUser, org_kind| -> Result<crate::audit::Actor, AppError> {
        Ok(crate::audit::Actor::new(
            crate::authz::Principal {
                user_id: u.id,
                email: EmailAddress::parse(&u.email)?,
                org_id: u.org_id,
                org_kind,
                role: u.role,
                settings_hidden: false,
            },
            "seed",
        ))
    };
    let actor = as_user(admin, OrgKind::Platform)?;
    let owner = users.iter().find(|u| u.role == Role::CustomerAccountOwner);
    let mut out = Vec::new();
    for (slug, name, instance) in [
        ("contoso", "Contoso Ltd", "Contoso production"),
        ("fabrikam", "Fabrikam Inc", "Fabrikam production"),
    ] {
        if let Some(k) = kept.iter().find(|k| k.slug == slug)
            && deps.table.get(&keys::instance(k.instance_id)).await?.is_some()
        {
            out.push(k.clone());
            continue;
        }
        let Some(guard) = deps
            .table
            .get(&keys::org_name(&OrgName::parse(name)?.skeleton()))
            .await?
        else {
            continue;
        };
        let id: OrgId = serde_json::from_value(guard.data["orgId"].clone())
            .map_err(|e| AppError::Internal(format!("demo customer {name}: {e}")))?;
        let Some(customer) = deps.table.get(&keys::org(id)).await? else {
            continue;
        };
        let customer: Organization = customer.decode()?;
        let url = format!("{}/_reference/{slug}", base.trim_end_matches('/'));
        let (i, secret) = crate::ops::instances::register_as(
            deps,
            &actor,
            &customer,
            crate::domain::InstanceName::parse(instance)?,
            crate::instances::BaseUrl::parse(&url, deps.settings.outbound)?,
            Some(deps.clock.now()),
        )
        .await?;
        // Contoso lets its partner in; Fabrikam approves each sign-in (its
        // choice made by the seed: the demo has no Fabrikam user).
        let (consent_by, mode) = match owner.filter(|o| o.org_id == customer.id) {
            Some(o) => (
                as_user(o, OrgKind::Customer)?,
                crate::access::ConsentMode::Standing { until: None },
            ),
            None => (actor.clone(), crate::access::ConsentMode::Ask),
        };
        let access = deps.table.get(&crate::access::InstanceAccess::key(customer.id)).await?;
        crate::ops::access::consent_as(deps, &consent_by, &customer, &i, access.as_ref(), mode).await?;
        out.push(DemoInstance {
            slug: slug.into(),
            instance_id: i.id,
            secret,
            url,
        });
    }
    let json = serde_json::to_vec_pretty(&out).map_err(|e| AppError::Internal(e.to_string()))?;
    crate::files::write_private(&file, &json).map_err(|e| AppError::Internal(format!("{}: {e}", file.display())))?;
    Ok(out)
}
