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
use portico_core::domain::Role;
use portico_core::domain::{OrgId, UserId};
use portico_core::store::{Cond, Index, Item, Query, SkCond, StoreError, Table, Write, keys};
use portico_tests::{Backend, TestApp, fresh_table};
use serde_json::json;

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

/// Seed 004's flow over HTTP: the customer's Account Owner grants its
/// partner of record Decision Maker and Phone Manager (a group each, named
/// as the seed says), telling two addresses; revokes Phone Manager (its
/// group gone in the transaction that logs it); revokes all, then grants
/// again. Each step is a "Grant Partner Role" event in both logs.
async fn the_partner_access_dialog(b: Backend) {
    let app = TestApp::spawn(b).await;
    let customer = app.orgs[&Role::CustomerAccountOwner];
    let partner = app.orgs[&Role::PartnerManager];
    let owner = app.token(Role::CustomerAccountOwner);
    let path = format!("/customers/{customer}/partner-access");
    let (_, org) = app.get_json(&format!("/organizations/{customer}"), owner).await;
    let name = org["name"].as_str().unwrap().to_string();
    // Addresses of this test's own (moto's SES is shared by the whole run).
    let run = uuid::Uuid::new_v4().simple().to_string();
    let (it, cto) = (
        format!("it-{run}@northwind.example.com"),
        format!("cto-{run}@northwind.example.com"),
    );
    let tell = [it.as_str(), cto.as_str()];
    let set = |roles: &[&str]| json!({ "roles": roles, "notify": tell });

    let (s, view) = app.get_json(&path, app.token(Role::PartnerUser)).await;
    assert_eq!(s, 200, "{view}");
    assert_eq!(view["roles"], json!([]), "nothing delegated yet: {view}");
    let (s, view) = app.put(&path, owner, set(&["decision-maker", "phone-manager"])).await;
    assert_eq!(s, 200, "{view}");
    assert_eq!(view["state"], "active", "{view}");
    assert_eq!(
        view["groups"],
        json!([format!("{name} Decision Maker"), format!("{name} Phone Manager")])
    );
    for to in tell {
        assert_eq!(app.subjects_to(to).await.len(), 1, "{to} told");
    }
    let pm = RoleKey::parse("phone-manager").unwrap();
    let group = keys::delegated_group(partner, customer, &pm);
    assert!(app.deps.table.get(&group).await.unwrap().is_some());

    // Phone Manager cleared: its group goes; the partner's users see it.
    let (s, view) = app.put(&path, owner, set(&["decision-maker"])).await;
    assert_eq!(s, 200, "{view}");
    assert_eq!(view["groups"], json!([format!("{name} Decision Maker")]));
    assert!(app.deps.table.get(&group).await.unwrap().is_none());
    let (_, seen) = app.get_json(&path, app.token(Role::PartnerManager)).await;
    assert_eq!(seen["roles"], json!(["decision-maker"]), "{seen}");
    // The same again changes nothing and tells nobody.
    let (s, _) = app.put(&path, owner, set(&["decision-maker"])).await;
    assert_eq!(s, 200);
    assert_eq!(app.subjects_to(tell[0]).await.len(), 2);

    // Revoked, then granted again.
    let (s, view) = app.put(&path, owner, set(&[])).await;
    assert_eq!(
        (s, &view["state"], &view["roles"], &view["groups"]),
        (200, &json!("revoked"), &json!([]), &json!([])),
        "{view}"
    );
    let (s, view) = app.put(&path, owner, set(&["phone-manager"])).await;
    assert_eq!((s, &view["state"]), (200, &json!("active")), "{view}");
    assert!(app.deps.table.get(&group).await.unwrap().is_some());

    // Each step in both logs: granted, revoked Phone Manager, revoked all, granted again.
    for org in [customer, partner] {
        let (s, log) = app
            .get_json(
                &format!("/organizations/{org}/activity?action=Grant%20Partner%20Role&limit=100"),
                app.token(Role::PlatformAdmin),
            )
            .await;
        assert_eq!(s, 200, "{log}");
        let said: Vec<&str> = log["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["description"].as_str().unwrap())
            .rev()
            .collect();
        assert_eq!(said.len(), 4, "{org}: {said:#?}");
        assert!(said[0].contains("granted Decision Maker, Phone Manager"), "{said:?}");
        assert!(said[1].contains("revoked Phone Manager"), "{said:?}");
        assert!(said[2].contains("revoked Decision Maker"), "{said:?}");
        assert!(said[3].contains("granted Phone Manager"), "{said:?}");
    }

    // Refusals: not the Account Owner; nobody told; a role not in the catalogue.
    let (s, body) = app
        .put(&path, app.token(Role::PartnerManager), set(&["decision-maker"]))
        .await;
    assert_eq!(s, 403, "{body}");
    let (s, body) = app
        .put(&path, owner, json!({ "roles": ["decision-maker"], "notify": [] }))
        .await;
    assert_eq!(s, 400, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("notify"), "{body}");
    let (s, body) = app.put(&path, owner, set(&["billing-god"])).await;
    assert_eq!(s, 400, "{body}");
    let (s, body) = app
        .put(&path, owner, json!({ "roles": [], "notify": tell, "termDays": 731 }))
        .await;
    assert_eq!(s, 400, "{body}");
}

/// The partner's managers put their users in the groups a customer's
/// delegation opened; a member holds the group's role at that customer
/// until they are taken out or the role is revoked.
async fn the_partner_adds_members(b: Backend) {
    let app = TestApp::spawn(b).await;
    let customer = app.orgs[&Role::CustomerAccountOwner];
    let partner = app.orgs[&Role::PartnerManager];
    let manager = app.token(Role::PartnerManager);
    let nico = app.users[&Role::PartnerUser];
    let tell = json!([format!("it-{}@northwind.example.com", uuid::Uuid::new_v4().simple())]);
    let access = format!("/customers/{customer}/partner-access");
    let owner = app.token(Role::CustomerAccountOwner);
    let (s, body) = app
        .put(
            &access,
            owner,
            json!({ "roles": ["decision-maker", "phone-manager"], "notify": tell }),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let group = |role: &str| format!("/organizations/{partner}/groups/{customer}/{role}");
    let join = |role: &str, user: UserId, token: &str| {
        let path = format!("{}/members/{user}", group(role));
        let token = token.to_string();
        let app = &app;
        async move { app.put(&path, &token, json!({})).await }
    };
    let caps = || async {
        let d: Delegation = app
            .deps
            .table
            .get(&keys::delegation(customer, partner, None))
            .await
            .unwrap()
            .map(|i| i.decode().unwrap())
            .unwrap();
        capabilities(app.deps.table.as_ref(), &Catalogue::seeded(), &d, nico).await
    };
    assert!(caps().await.is_empty(), "in no group yet");

    // Nico joins Phone Manager: its capabilities, no billing.
    let (s, view) = join("phone-manager", nico, manager).await;
    assert_eq!(s, 200, "{view}");
    assert_eq!(view["members"][0]["userId"], nico.to_string(), "{view}");
    assert!(view["name"].as_str().unwrap().ends_with(" Phone Manager"), "{view}");
    assert_eq!(caps().await.len(), 4);
    assert!(!caps().await.contains(&Capability::BillingView));
    // Again: nothing changes.
    let (s, _) = join("phone-manager", nico, manager).await;
    assert_eq!(s, 200);
    // And Decision Maker: everything.
    let (s, _) = join("decision-maker", nico, manager).await;
    assert_eq!(s, 200);
    assert_eq!(caps().await.len(), 5);
    // The partner's users see the group; a customer does not.
    let (s, seen) = app
        .get_json(&group("phone-manager"), app.token(Role::PartnerUser))
        .await;
    assert_eq!((s, seen["members"].as_array().unwrap().len()), (200, 1), "{seen}");
    let (s, _) = app.get_json(&group("phone-manager"), owner).await;
    assert_eq!(s, 404, "a partner's groups are not the customer's to see");

    // Refused: a partner user adding; a user of another organisation; a role not granted.
    let (s, body) = join("phone-manager", nico, app.token(Role::PartnerUser)).await;
    assert_eq!(s, 403, "{body}");
    let cora = app.users[&Role::CustomerAccountOwner];
    let (s, body) = join("phone-manager", cora, manager).await;
    assert_eq!(s, 404, "{body}");

    // The customer revokes Decision Maker: Nico keeps Phone Manager only,
    // and the closed group's members are gone.
    let (s, body) = app
        .put(&access, owner, json!({ "roles": ["phone-manager"], "notify": tell }))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(caps().await.len(), 4);
    let (s, _) = app.get_json(&group("decision-maker"), manager).await;
    assert_eq!(s, 404, "the group is gone");
    let prefix = keys::group_members_prefix(customer, &RoleKey::parse("decision-maker").unwrap());
    let left = app
        .deps
        .table
        .query(&Query::partition(Index::Primary, keys::org(partner).pk).sk(SkCond::BeginsWith(prefix)))
        .await
        .unwrap();
    assert!(left.items.is_empty(), "members tidied");
    let (s, body) = join("decision-maker", nico, manager).await;
    assert_eq!(s, 404, "{body}");

    // Taken out of Phone Manager: nothing left.
    let request = app
        .http
        .delete(app.url(&format!("{}/members/{nico}", group("phone-manager"))))
        .bearer_auth(manager)
        .send()
        .await
        .unwrap();
    assert_eq!(request.status(), 200);
    assert!(caps().await.is_empty());

    // Each step in both logs: two joins and one leave.
    for org in [customer, partner] {
        let (_, log) = app
            .get_json(
                &format!("/organizations/{org}/activity?action=Update%20User%20Groups&limit=100"),
                app.token(Role::PlatformAdmin),
            )
            .await;
        let said: Vec<&str> = log["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["description"].as_str().unwrap())
            .collect();
        assert_eq!(said.len(), 3, "{org}: {said:#?}");
        assert!(
            said[0].contains(" removed ") && said[0].ends_with("Phone Manager\""),
            "{said:?}"
        );
    }
}

both_backends!(
    grant_use_and_revoke,
    the_partner_access_dialog,
    the_partner_adds_members
);
