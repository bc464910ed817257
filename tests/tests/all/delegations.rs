//! Delegated roles' storage (issue 15, first slice), on both backends: a
//! customer's grant writes the delegation, a group per role and a member in
//! one transaction; one batched read decides a partner user's capabilities;
//! both sides list the delegation; the sweep's index holds it only once
//! something is due; revoking a role closes its group at once, however
//! many members it had.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{Duration, Utc};
use portico_core::clock::SystemClock;
use portico_core::delegations::{
    Capability, Catalogue, DelegatedGroup, Delegation, Parties, RoleKey, StartedBy, UserDelegatedRoles,
    user_capabilities,
};
use portico_core::domain::{OrgId, UserId};
use portico_core::store::{Cond, Index, Item, Query, SkCond, StoreError, Table, Write, keys};
use portico_tests::{Backend, fresh_table};

fn role(k: &str) -> RoleKey {
    RoleKey::parse(k).unwrap()
}

/// The user's capabilities at the customer, from one batched read.
async fn capabilities(t: &dyn Table, cat: &Catalogue, d: &Delegation, user: UserId) -> BTreeSet<Capability> {
    let read = t
        .get_many(&[
            keys::delegation(d.customer_id, d.partner_id, None),
            keys::user_delegated_roles(user, d.customer_id),
            keys::delegation(d.customer_id, d.partner_id, Some(user)),
        ])
        .await
        .unwrap();
    let decode = |i: &Option<Item>| i.as_ref().map(|i| i.decode::<Delegation>().unwrap());
    let partner_wide = decode(&read[0]);
    let mine: Option<UserDelegatedRoles> = read[1].as_ref().map(|i| i.decode().unwrap());
    let personal = decode(&read[2]);
    user_capabilities(cat, Utc::now(), partner_wide.as_ref(), mine.as_ref(), personal.as_ref())
}

async fn count(t: &dyn Table, q: Query) -> usize {
    t.query(&q).await.unwrap().items.len()
}

async fn grant_use_and_revoke(b: Backend) {
    let t = fresh_table(b, Arc::new(SystemClock)).await;
    let cat = Catalogue::seeded();
    let now = Utc::now();
    let (customer, partner) = (OrgId(uuid::Uuid::now_v7()), OrgId(uuid::Uuid::now_v7()));
    let user = UserId(uuid::Uuid::now_v7());
    let (dm, pm) = (role("decision-maker"), role("phone-manager"));
    let parties = Parties {
        customer_id: customer,
        customer_name: "Contoso Ltd".into(),
        partner_id: partner,
        contact_user: None,
    };
    let mut d = Delegation::new(
        parties,
        [dm.clone(), pm.clone()].into_iter().collect(),
        Some(90),
        false,
        StartedBy::Customer,
        now,
    );

    // The grant: the delegation and a group per role, in one transaction;
    // the partner adds its user to Phone Manager.
    let mut writes = vec![Write::Put {
        item: d.item(1, &cat).unwrap(),
        cond: Cond::MustNotExist,
    }];
    for r in [&dm, &pm] {
        let group = DelegatedGroup::of(&d, cat.get(r).unwrap(), now).unwrap();
        writes.push(Write::Put {
            item: group.item(1).unwrap(),
            cond: Cond::MustNotExist,
        });
    }
    t.transact(writes).await.unwrap();
    let group: DelegatedGroup = t
        .get(&keys::delegated_group(partner, customer, &pm))
        .await
        .unwrap()
        .unwrap()
        .decode()
        .unwrap();
    assert_eq!(group.name, "Contoso Ltd Phone Manager");
    let member = Item::new(
        keys::group_member(partner, customer, &pm, user),
        keys::GROUP_MEMBER,
        1,
        &serde_json::json!({ "userId": user, "generation": group.generation }),
    )
    .unwrap();
    let mine = UserDelegatedRoles {
        roles: [(pm.clone(), group.generation)].into_iter().collect(),
    };
    t.transact(vec![
        Write::Put {
            item: member,
            cond: Cond::MustNotExist,
        },
        Write::Put {
            item: mine.item(user, customer, 1).unwrap(),
            cond: Cond::MustNotExist,
        },
    ])
    .await
    .unwrap();
    let caps = capabilities(t.as_ref(), &cat, &d, user).await;
    assert_eq!(caps.len(), 4, "{caps:?}");
    assert!(
        !caps.contains(&Capability::BillingView),
        "a Phone Manager sees no invoices"
    );

    // Both sides list it; the sweep's index holds it, due 30 days before the end.
    let partner_side = Query::partition(Index::Gsi1, keys::partner_delegations(partner));
    assert_eq!(count(t.as_ref(), partner_side).await, 1);
    let customer_side = Query::partition(Index::Primary, format!("ORG#{customer}"))
        .sk(SkCond::BeginsWith(keys::DELEGATIONS_PREFIX.into()));
    assert_eq!(count(t.as_ref(), customer_side).await, 1);
    let due_by = |at: chrono::DateTime<Utc>| {
        Query::partition(Index::Gsi2, keys::DELEGATIONS_DUE)
            .sk(SkCond::Lte(keys::delegations_due_upto(at.timestamp_millis())))
    };
    assert_eq!(count(t.as_ref(), due_by(now + Duration::days(59))).await, 0);
    let due = t.query(&due_by(now + Duration::days(60))).await.unwrap().items;
    assert_eq!(due.len(), 1, "only this delegation is due, and only then");
    assert_eq!(due[0].key(), keys::delegation(customer, partner, None));

    // Revoke Phone Manager: the delegation and the group's deletion in one
    // transaction; from that commit the member holds nothing, though its
    // items are still there to be tidied.
    assert!(d.revoke_role(&pm));
    t.transact(vec![
        Write::Put {
            item: d.item(2, &cat).unwrap(),
            cond: Cond::VersionIs(1),
        },
        Write::Delete {
            key: keys::delegated_group(partner, customer, &pm),
            cond: Cond::MustExist,
        },
    ])
    .await
    .unwrap();
    assert!(capabilities(t.as_ref(), &cat, &d, user).await.is_empty());
    assert!(
        t.get(&keys::delegated_group(partner, customer, &pm))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        t.get(&keys::delegated_group(partner, customer, &dm))
            .await
            .unwrap()
            .is_some()
    );
    let members = Query::partition(Index::Primary, format!("ORG#{partner}"))
        .sk(SkCond::BeginsWith(keys::group_members_prefix(customer, &pm)));
    assert_eq!(count(t.as_ref(), members.clone()).await, 1, "tidied after the commit");
    // Granted again: a new group, and the old membership does not revive.
    d.grant_role(pm.clone(), now);
    t.transact(vec![Write::Put {
        item: d.item(3, &cat).unwrap(),
        cond: Cond::VersionIs(2),
    }])
    .await
    .unwrap();
    assert!(capabilities(t.as_ref(), &cat, &d, user).await.is_empty());
    // A stale writer loses: the version moved on.
    let stale = t
        .transact(vec![Write::Put {
            item: d.item(3, &cat).unwrap(),
            cond: Cond::VersionIs(2),
        }])
        .await;
    assert!(matches!(stale, Err(StoreError::ConditionFailed { .. })), "{stale:?}");
}

both_backends!(grant_use_and_revoke);
