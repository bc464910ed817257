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
use serde_json::{Value, json};

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

/// Seed 004's flow over HTTP: Contoso starts with the platform's default
/// delegation (Decision Maker, held by every Northwind user); its Account
/// Owner adds Phone Manager (a group each, named as the seed says), telling
/// two addresses; revokes Phone Manager (its group gone in the transaction
/// that logs it); revokes all, then grants again. Each step is a "Grant
/// Partner Role" event in both logs. Then an authorized contact: the same
/// dialog for a partner that is not Contoso's.
async fn the_partner_access_dialog(b: Backend) {
    let app = TestApp::spawn(b).await;
    let customer = app.orgs[&Role::CustomerAccountOwner];
    let partner = app.orgs[&Role::PartnerManager];
    let owner = app.token(Role::CustomerAccountOwner);
    let path = format!("/customers/{customer}/delegations/{partner}");
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
    assert_eq!(
        (
            &view["roles"],
            &view["everyone"],
            &view["partnerOfRecord"],
            &view["state"]
        ),
        (&json!(["decision-maker"]), &json!(true), &json!(true), &json!("active")),
        "the platform's default delegation: {view}"
    );
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

    // Revoked, then granted again: a new delegation, its roles held by the groups' members only.
    let (s, view) = app.put(&path, owner, set(&[])).await;
    assert_eq!(
        (s, &view["state"], &view["roles"], &view["groups"]),
        (200, &json!("revoked"), &json!([]), &json!([])),
        "{view}"
    );
    let (s, view) = app.put(&path, owner, set(&["phone-manager"])).await;
    assert_eq!(
        (s, &view["state"], &view["everyone"]),
        (200, &json!("active"), &json!(false)),
        "{view}"
    );
    assert!(app.deps.table.get(&group).await.unwrap().is_some());

    // Each step in both logs: granted Phone Manager (Decision Maker was the
    // default's), revoked it, revoked all, granted again.
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
        assert!(said[0].contains("granted Phone Manager to "), "{said:?}");
        assert!(said[1].contains("revoked Phone Manager"), "{said:?}");
        assert!(said[2].contains("revoked Decision Maker"), "{said:?}");
        assert!(said[3].contains("granted Phone Manager"), "{said:?}");
    }

    // Refusals: not the Account Owner; nobody told; a role not in the
    // catalogue; a term over 2 years; a "partner" that is a customer.
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
    let (s, body) = app
        .put(
            &format!("/customers/{customer}/delegations/{customer}"),
            owner,
            set(&["phone-manager"]),
        )
        .await;
    assert_eq!(s, 404, "{body}");

    // An authorized contact: a partner that is not Contoso's own, for 30 days.
    let admin = app.token(Role::PlatformAdmin);
    let (s, other) = app
        .post(
            "/organizations",
            Some(admin),
            json!({ "name": format!("Consultants {run}"), "kind": "partner" }),
        )
        .await;
    assert_eq!(s, 201, "{other}");
    let other = other["id"].as_str().unwrap();
    let contact = format!("/customers/{customer}/delegations/{other}");
    let (s, view) = app
        .put(
            &contact,
            owner,
            json!({ "roles": ["phone-manager"], "notify": tell, "termDays": 30 }),
        )
        .await;
    assert_eq!(s, 200, "{view}");
    assert_eq!(
        (&view["partnerOfRecord"], &view["state"], &view["termDays"]),
        (&json!(false), &json!("expiring"), &json!(30)),
        "{view}"
    );
    // Northwind's users do not see another partner's delegation (they see Contoso: 403).
    let (s, _) = app.get_json(&contact, app.token(Role::PartnerUser)).await;
    assert_eq!(s, 403);
}

/// The partner's managers put their users in the groups a customer's
/// delegation opened; a member holds the group's role at that customer
/// until they are taken out or the role is revoked. At first every
/// Northwind user holds the default delegation's roles; the manager
/// narrows them to the groups' members.
async fn the_partner_adds_members(b: Backend) {
    let app = TestApp::spawn(b).await;
    let customer = app.orgs[&Role::CustomerAccountOwner];
    let partner = app.orgs[&Role::PartnerManager];
    let manager = app.token(Role::PartnerManager);
    let nico = app.users[&Role::PartnerUser];
    let tell = json!([format!("it-{}@northwind.example.com", uuid::Uuid::new_v4().simple())]);
    let access = format!("/customers/{customer}/delegations/{partner}");
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
    assert_eq!(caps().await.len(), 5, "every user holds the default delegation's roles");
    let (s, seen) = app.get_json(&group("decision-maker"), manager).await;
    assert_eq!((s, &seen["everyone"]), (200, &json!(true)), "{seen}");
    let holders = format!("/organizations/{partner}/delegations/{customer}/holders");
    let (s, body) = app.put(&holders, manager, json!({ "everyone": false })).await;
    assert_eq!((s, &body["everyone"]), (200, &json!(false)), "{body}");
    assert!(caps().await.is_empty(), "narrowed to the groups, in none yet");
    // The settings answer too: a general setting is read-only to Nico now.
    let settings = format!("/customers/{customer}/settings/feed.comments");
    let (s, body) = app
        .put(
            &settings,
            app.token(Role::PartnerUser),
            json!({ "enabled": false, "version": 0 }),
        )
        .await;
    assert_eq!(s, 403, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("settings.manage"), "{body}");

    // Nico joins Phone Manager: its capabilities, no billing.
    let (s, m) = join("phone-manager", nico, manager).await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(
        (&m["userId"], &m["member"]),
        (&json!(nico.to_string()), &json!(true)),
        "{m}"
    );
    assert!(m["group"].as_str().unwrap().ends_with(" Phone Manager"), "{m}");
    assert_eq!(caps().await.len(), 4);
    assert!(!caps().await.contains(&Capability::BillingView));
    // Seed 004: a Phone Manager changes settings but sees no invoices.
    let (s, entry) = app
        .post(
            &format!("/customers/{customer}/billing"),
            Some(app.token(Role::PlatformAdmin)),
            json!({ "kind": "invoice", "reference": "INV-7", "date": "2026-12-01", "due": "2026-12-31", "amount": "1250.00", "currency": "EUR" }),
        )
        .await;
    assert_eq!((s, &entry["amount"]), (201, &json!("1250.00")), "{entry}");
    let billing = format!("/customers/{customer}/billing");
    let puser = app.token(Role::PartnerUser);
    let (s, body) = app.get_json(&billing, puser).await;
    assert_eq!(s, 403, "a Phone Manager: no invoices: {body}");
    let change_setting = || async {
        let (_, page) = app.get_json(&format!("/customers/{customer}/settings"), puser).await;
        let v = page["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["key"] == "feed.comments")
            .unwrap()
            .clone();
        let (s, body) = app
            .put(
                &settings,
                puser,
                json!({ "enabled": !v["enabled"].as_bool().unwrap(), "version": v["version"] }),
            )
            .await;
        (s, body)
    };
    let (s, body) = change_setting().await;
    assert_eq!(s, 200, "a Phone Manager changes settings: {body}");
    // Again: nothing changes.
    let (s, _) = join("phone-manager", nico, manager).await;
    assert_eq!(s, 200);
    // And Decision Maker: everything, invoices too.
    let (s, _) = join("decision-maker", nico, manager).await;
    assert_eq!(s, 200);
    assert_eq!(caps().await.len(), 5);
    let (s, body) = app.get_json(&billing, puser).await;
    assert_eq!((s, &body["items"][0]["reference"]), (200, &json!("INV-7")), "{body}");
    let (s, body) = change_setting().await;
    assert_eq!(s, 200, "a Decision Maker changes settings: {body}");
    // The partner's users see the group; a customer does not.
    let (s, seen) = app
        .get_json(&group("phone-manager"), app.token(Role::PartnerUser))
        .await;
    assert_eq!((s, seen["members"].as_array().unwrap().len()), (200, 1), "{seen}");
    let (s, _) = app.get_json(&group("phone-manager"), owner).await;
    assert_eq!(s, 404, "a partner's groups are not the customer's to see");

    // Refused: a partner user adding; a user of another organisation.
    let (s, body) = join("phone-manager", nico, app.token(Role::PartnerUser)).await;
    assert_eq!(s, 403, "{body}");
    let cora = app.users[&Role::CustomerAccountOwner];
    let (s, body) = join("phone-manager", cora, manager).await;
    assert_eq!(s, 404, "{body}");

    // The customer revokes Decision Maker: Nico keeps Phone Manager only;
    // the closed group's member items wait for the sweep, counting for nothing.
    let (s, body) = app
        .put(&access, owner, json!({ "roles": ["phone-manager"], "notify": tell }))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(caps().await.len(), 4);
    let (s, _) = app.get_json(&group("decision-maker"), manager).await;
    assert_eq!(s, 404, "the group is gone");
    let due = app
        .deps
        .table
        .query(
            &Query::partition(Index::Gsi2, keys::DELEGATIONS_DUE)
                .sk(SkCond::Lte(keys::delegations_due_upto(Utc::now().timestamp_millis()))),
        )
        .await
        .unwrap();
    assert!(
        due.items
            .iter()
            .any(|i| i.entity == keys::CLOSED_GROUP && i.data["role"] == "decision-maker"),
        "the closed group is due for the sweep"
    );
    let (s, body) = join("decision-maker", nico, manager).await;
    assert_eq!(s, 404, "{body}");
    // The sweep deletes the closed group's member item (Nico's).
    let prefix = keys::group_members_prefix(customer, &RoleKey::parse("decision-maker").unwrap());
    let members = Query::partition(Index::Primary, keys::org(partner).pk).sk(SkCond::BeginsWith(prefix));
    assert_eq!(count(app.deps.table.as_ref(), members.clone()).await, 1);
    let r = portico_core::jobs::run(&app.deps, portico_core::jobs::Job::DelegationSweep)
        .await
        .unwrap()
        .delegations
        .unwrap();
    assert_eq!(r.tidied, 1, "{r:?}");
    assert_eq!(count(app.deps.table.as_ref(), members).await, 0);
    // Granted again: a new group, and Nico's old membership does not count or show.
    let (s, body) = app
        .put(
            &access,
            owner,
            json!({ "roles": ["phone-manager", "decision-maker"], "notify": tell }),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(caps().await.len(), 4, "the old membership does not revive");
    let (s, seen) = app.get_json(&group("decision-maker"), manager).await;
    assert_eq!((s, &seen["members"]), (200, &json!([])), "{seen}");

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
        assert_eq!(said.len(), 4, "{org}: narrowed, two joins, one leave: {said:#?}");
        assert!(
            said[0].contains(" removed ") && said[0].ends_with("Phone Manager\""),
            "{said:?}"
        );
    }
}

/// A data directory from before delegated roles: a customer without any
/// delegation. Its partner's users may no longer change its settings; the
/// migration the local portal runs at each start gives it the default
/// delegation (once: a second run gives none), and they may again.
async fn customers_from_before_get_the_default(b: Backend) {
    let app = TestApp::spawn(b).await;
    let customer = app.orgs[&Role::CustomerAccountOwner];
    let partner = app.orgs[&Role::PartnerManager];
    app.deps
        .table
        .transact(vec![Write::Delete {
            key: keys::delegation(customer, partner, None),
            cond: Cond::MustExist,
        }])
        .await
        .unwrap();
    let settings = format!("/customers/{customer}/settings/feed.comments");
    let nico = app.token(Role::PartnerUser);
    let (s, body) = app
        .put(&settings, nico, json!({ "enabled": false, "version": 0 }))
        .await;
    assert_eq!(s, 403, "no delegation, no settings.manage: {body}");
    let given = portico_core::ops::delegations::migrate_defaults(&app.deps)
        .await
        .unwrap();
    assert_eq!(given, 1, "Contoso only: Fabrikam has its default already");
    let (s, body) = app
        .put(&settings, nico, json!({ "enabled": false, "version": 0 }))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        portico_core::ops::delegations::migrate_defaults(&app.deps)
            .await
            .unwrap(),
        0
    );
}

/// The sweep, on an injected clock: Northwind's Decision Maker for 60
/// days (sensitive: no auto-extend) is reminded 30, 7 and 1 days before
/// its end, once each; at the end to the second the capability is gone,
/// before the sweep runs; the sweep then expires it (its group deleted, an
/// event in both logs, the addresses told). A consultancy's Phone Manager
/// for 40 days with auto-extend goes on 180 days at its end, unreminded.
async fn the_sweep_reminds_extends_and_ends(b: Backend) {
    let (app, clock) = TestApp::with_clock(b).await;
    let customer = app.orgs[&Role::CustomerAccountOwner];
    let partner = app.orgs[&Role::PartnerManager];
    let owner = app.token(Role::CustomerAccountOwner);
    let run = uuid::Uuid::new_v4().simple().to_string();
    let (x, y) = (
        format!("x-{run}@northwind.example.com"),
        format!("y-{run}@consult.example.com"),
    );
    let (s, other) = app
        .post(
            "/organizations",
            Some(app.token(Role::PlatformAdmin)),
            json!({ "name": format!("Consult {run}"), "kind": "partner" }),
        )
        .await;
    assert_eq!(s, 201, "{other}");
    let other = other["id"].as_str().unwrap().to_string();
    let northwind = format!("/customers/{customer}/delegations/{partner}");
    let consult = format!("/customers/{customer}/delegations/{other}");
    let (s, body) = app
        .put(
            &northwind,
            owner,
            json!({ "roles": ["decision-maker"], "notify": [x], "termDays": 60 }),
        )
        .await;
    assert_eq!((s, &body["state"]), (200, &json!("active")), "{body}");
    let (s, body) = app
        .put(
            &consult,
            owner,
            json!({ "roles": ["phone-manager"], "notify": [y], "termDays": 40, "autoExtend": true }),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    // Northwind trusts the loopback: no daily email confirmation over 60 days.
    let manager = app.token(Role::PartnerManager);
    let ranges = format!("/organizations/{partner}/trusted-ranges");
    let (_, tr) = app.get_json(&ranges, manager).await;
    let (s, body) = app
        .put(
            &ranges,
            manager,
            json!({ "ranges": ["127.0.0.1/32"], "version": tr["version"] }),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let t0 = portico_core::clock::Clock::now(clock.as_ref());
    let sweep = || async {
        portico_core::jobs::run(&app.deps, portico_core::jobs::Job::DelegationSweep)
            .await
            .unwrap()
            .delegations
            .unwrap()
    };
    let at = |d: i64, s: i64| t0 + Duration::days(d) + Duration::seconds(s);
    let editable = || async {
        let (s, page) = app
            .get_json(&format!("/customers/{customer}/settings"), app.token(Role::PartnerUser))
            .await;
        assert_eq!(s, 200, "{page}");
        page["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["key"] == "feed.comments")
            .unwrap()["editable"]
            .as_bool()
            .unwrap()
    };
    let subjects = |to: String| {
        let app = &app;
        async move { app.subjects_to(&to).await }
    };
    assert_eq!(subjects(x.clone()).await.len(), 1, "the grant's notice");

    // Nothing due until 30 days before Northwind's end.
    assert_eq!(sweep().await.reminded, 0);
    clock.set(at(30, -1));
    assert_eq!(sweep().await.reminded, 0);
    clock.set(at(30, 0));
    let r = sweep().await;
    assert_eq!((r.reminded, r.extended, r.ended), (1, 0, 0), "{r:?}");
    assert!(subjects(x.clone()).await.iter().any(|s| s.contains("end in 30 days")));
    assert_eq!(sweep().await.reminded, 0, "once");
    // The consultancy's end: extended, not ended; nobody reminded it.
    clock.set(at(40, 0));
    let r = sweep().await;
    assert_eq!((r.reminded, r.extended, r.ended), (0, 1, 0), "{r:?}");
    let (_, view) = app.get_json(&consult, owner).await;
    assert_eq!(view["state"], "active", "{view}");
    let ends: chrono::DateTime<Utc> = serde_json::from_value(view["endsAt"].clone()).unwrap();
    assert_eq!(ends, at(220, 0));
    // 7 and 1 days before Northwind's end.
    clock.set(at(53, 0));
    assert_eq!(sweep().await.reminded, 1);
    clock.set(at(59, 0));
    assert_eq!(sweep().await.reminded, 1);
    assert_eq!(sweep().await.reminded, 0);
    let told = subjects(x.clone()).await;
    for n in ["30 days", "7 days", "1 day"] {
        assert_eq!(
            told.iter().filter(|s| s.contains(&format!("end in {n}"))).count(),
            1,
            "{n}: {told:?}"
        );
    }
    assert!(
        subjects(y.clone()).await.iter().all(|s| !s.contains("end in")),
        "auto-extending: no reminders"
    );

    // The boundary: a second before, Nico may change a setting; at the end, not, sweep or no sweep.
    clock.set(at(60, -1));
    assert!(editable().await);
    let (_, view) = app.get_json(&northwind, owner).await;
    assert_eq!(view["state"], "expiring");
    clock.set(at(60, 0));
    assert!(!editable().await, "ended at the boundary, before any sweep");
    let (_, view) = app.get_json(&northwind, owner).await;
    assert_eq!(view["state"], "expired");
    let r = sweep().await;
    assert_eq!((r.ended, r.failed.len()), (1, 0), "{r:?}");
    let dm = RoleKey::parse("decision-maker").unwrap();
    assert!(
        app.deps
            .table
            .get(&keys::delegated_group(partner, customer, &dm))
            .await
            .unwrap()
            .is_none()
    );
    assert!(subjects(x.clone()).await.iter().any(|s| s.contains("expired")));
    assert_eq!(sweep().await.ended, 0, "nothing more is due");
    for org in [customer, partner] {
        let (_, log) = app
            .get_json(
                &format!("/organizations/{org}/activity?action=Grant%20Partner%20Role&limit=10"),
                app.token(Role::PlatformAdmin),
            )
            .await;
        assert!(
            log["items"][0]["description"].as_str().unwrap().contains("expired"),
            "{org}: {log}"
        );
    }
}

/// A partner asks, the customer decides: a proposal on the delegation in
/// force (approved: its roles and a renewed term; declined: dropped), a
/// request after a revoke (approved: it starts), and a request left 90 days
/// unanswered (it lapses: refused, then ended by the sweep). Each step is
/// an event in both logs.
async fn partners_ask_and_customers_decide(b: Backend) {
    let (app, clock) = TestApp::with_clock(b).await;
    let customer = app.orgs[&Role::CustomerAccountOwner];
    let partner = app.orgs[&Role::PartnerManager];
    let (owner, manager) = (app.token(Role::CustomerAccountOwner), app.token(Role::PartnerManager));
    let ranges = format!("/organizations/{partner}/trusted-ranges");
    let (_, tr) = app.get_json(&ranges, manager).await;
    let (s, _) = app
        .put(
            &ranges,
            manager,
            json!({ "ranges": ["127.0.0.1/32"], "version": tr["version"] }),
        )
        .await;
    assert_eq!(s, 200);
    let path = format!("/customers/{customer}/delegations/{partner}");
    let tell = json!([format!("cora-{}@contoso.example.com", uuid::Uuid::new_v4().simple())]);
    let ask = |roles: &[&str], term: Option<u32>| json!({ "roles": roles, "notify": tell, "termDays": term });
    let answer = |approve: bool| json!({ "approve": approve, "notify": tell });

    // A proposal on the default delegation: nothing changes until approved.
    let (s, view) = app
        .post(
            &format!("{path}/request"),
            Some(manager),
            ask(&["decision-maker", "phone-manager"], Some(90)),
        )
        .await;
    assert_eq!(s, 200, "{view}");
    assert_eq!(view["roles"], json!(["decision-maker"]), "{view}");
    assert_eq!(
        view["proposal"]["roles"],
        json!(["decision-maker", "phone-manager"]),
        "{view}"
    );
    assert_eq!(
        app.subjects_to(tell[0].as_str().unwrap()).await.len(),
        1,
        "the customer is told"
    );
    let (s, view) = app.post(&format!("{path}/decision"), Some(owner), answer(true)).await;
    assert_eq!(s, 200, "{view}");
    assert_eq!(
        (&view["roles"], &view["termDays"], &view["proposal"]),
        (&json!(["decision-maker", "phone-manager"]), &json!(90), &Value::Null),
        "{view}"
    );
    assert_eq!(view["groups"].as_array().unwrap().len(), 2, "{view}");
    // Declined: dropped, nothing else changes.
    let (s, _) = app
        .post(&format!("{path}/request"), Some(manager), ask(&["phone-manager"], None))
        .await;
    assert_eq!(s, 200);
    let (s, view) = app.post(&format!("{path}/decision"), Some(owner), answer(false)).await;
    assert_eq!(
        (s, &view["roles"], &view["proposal"]),
        (200, &json!(["decision-maker", "phone-manager"]), &Value::Null),
        "{view}"
    );
    let (s, body) = app.post(&format!("{path}/decision"), Some(owner), answer(true)).await;
    assert_eq!(s, 409, "nothing waiting: {body}");

    // Revoked; the partner asks anew: requested, then approved, it starts.
    let (s, _) = app.put(&path, owner, json!({ "roles": [], "notify": tell })).await;
    assert_eq!(s, 200);
    let (s, view) = app
        .post(
            &format!("{path}/request"),
            Some(manager),
            ask(&["phone-manager"], Some(30)),
        )
        .await;
    assert_eq!(
        (s, &view["state"], &view["groups"]),
        (200, &json!("requested"), &json!([])),
        "{view}"
    );
    assert!(view["lapsesAt"].is_string(), "{view}");
    let (s, view) = app.post(&format!("{path}/decision"), Some(owner), answer(true)).await;
    assert_eq!(
        (s, &view["state"]),
        (200, &json!("expiring")),
        "30 days: expiring at once: {view}"
    );
    assert_eq!(view["groups"].as_array().unwrap().len(), 1, "{view}");

    // Revoked again; a request left unanswered lapses after 90 days.
    let (s, _) = app.put(&path, owner, json!({ "roles": [], "notify": tell })).await;
    assert_eq!(s, 200);
    let (s, _) = app
        .post(&format!("{path}/request"), Some(manager), ask(&["phone-manager"], None))
        .await;
    assert_eq!(s, 200);
    clock.advance(Duration::days(90));
    let (_, view) = app.get_json(&path, owner).await;
    assert_eq!(view["state"], "expired", "{view}");
    let (s, body) = app.post(&format!("{path}/decision"), Some(owner), answer(true)).await;
    assert_eq!(s, 409, "lapsed: {body}");
    let r = portico_core::jobs::run(&app.deps, portico_core::jobs::Job::DelegationSweep)
        .await
        .unwrap()
        .delegations
        .unwrap();
    assert_eq!(r.ended, 1, "{r:?}");
    for org in [customer, partner] {
        let (_, log) = app
            .get_json(
                &format!(
                    "/organizations/{org}/activity?action=Grant%20Partner%20Role%2CUpdate%20User%20Permissions&limit=20"
                ),
                app.token(Role::PlatformAdmin),
            )
            .await;
        let said: Vec<&str> = log["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["description"].as_str().unwrap())
            .collect();
        assert!(said[0].contains("lapsed"), "{org}: {said:#?}");
        assert_eq!(
            said.iter().filter(|d| d.contains(" asked ")).count(),
            4,
            "{org}: {said:#?}"
        );
        assert_eq!(
            said.iter()
                .filter(|d| d.contains("approved its partner's request"))
                .count(),
            2,
            "{said:#?}"
        );
        assert_eq!(
            said.iter()
                .filter(|d| d.contains("declined its partner's request"))
                .count(),
            1,
            "{said:#?}"
        );
    }

    // Refused: a partner user; a manager asking for another partner; a customer asking.
    let (s, _) = app
        .post(
            &format!("{path}/request"),
            Some(app.token(Role::PartnerUser)),
            ask(&["phone-manager"], None),
        )
        .await;
    assert_eq!(s, 403);
    let stranger = uuid::Uuid::now_v7();
    let (s, _) = app
        .post(
            &format!("/customers/{customer}/delegations/{stranger}/request"),
            Some(manager),
            ask(&["phone-manager"], None),
        )
        .await;
    assert_eq!(s, 404, "no such partner");
    let (s, _) = app
        .post(&format!("{path}/request"), Some(owner), ask(&["phone-manager"], None))
        .await;
    assert_eq!(s, 403);
}

/// Bulk over 500 customers, a few of which fail (two unknown, one of
/// another partner's), retried with the same key: no item is done twice
/// (500 - 3 proposals, as many events in the partner's log), the failures
/// are attempted again, the key with another body is refused; then a bulk
/// revoke of 3.
async fn bulk_over_500_customers(b: Backend) {
    let app = TestApp::spawn(b).await;
    let partner = app.orgs[&Role::PartnerManager];
    let manager = app.token(Role::PartnerManager);
    let now = Utc::now();
    let cat = Catalogue::seeded();
    // 497 customers of Northwind's, each with the default delegation, written straight to the table.
    let run = uuid::Uuid::new_v4().simple().to_string();
    let mut customers = Vec::new();
    let mut writes = Vec::new();
    for n in 0..497 {
        let c = portico_core::domain::Organization::new(
            OrgId(uuid::Uuid::now_v7()),
            portico_core::domain::OrgName::parse(&format!("Bulk {run} {n:03}")).unwrap(),
            portico_core::domain::OrgKind::Customer,
            Some(partner),
            now,
        )
        .unwrap();
        writes.push(Write::Put {
            item: c.item().unwrap(),
            cond: Cond::MustNotExist,
        });
        let parties = Parties {
            customer_id: c.id,
            customer_name: c.name.as_str().to_string(),
            partner_id: partner,
            contact_user: None,
        };
        let (d, groups) = portico_core::delegations::default_delegation(&cat, parties, now).unwrap();
        writes.push(Write::Put {
            item: d.item(1, &cat).unwrap(),
            cond: Cond::MustNotExist,
        });
        for g in groups {
            writes.push(Write::Put {
                item: g.item(1).unwrap(),
                cond: Cond::None,
            });
        }
        customers.push(c.id);
    }
    for chunk in writes.chunks(99) {
        app.deps.table.transact(chunk.to_vec()).await.unwrap();
    }
    // A customer of another partner, and two ids that are no one's.
    let (_, other) = app
        .post(
            "/organizations",
            Some(app.token(Role::PlatformAdmin)),
            json!({ "name": format!("Other {run}"), "kind": "partner" }),
        )
        .await;
    let (s, theirs) = app
        .post(
            "/organizations",
            Some(app.token(Role::PlatformAdmin)),
            json!({ "name": format!("Theirs {run}"), "kind": "customer", "partnerOfRecord": other["id"] }),
        )
        .await;
    assert_eq!(s, 201, "{theirs}");
    let theirs: OrgId = serde_json::from_value(theirs["id"].clone()).unwrap();
    let unknown = [OrgId(uuid::Uuid::now_v7()), OrgId(uuid::Uuid::now_v7())];
    let mut all = customers.clone();
    all.insert(100, unknown[0]);
    all.insert(250, theirs);
    all.push(unknown[1]);
    assert_eq!(all.len(), 500);
    let key = format!("migration-{run}");
    let body = json!({
        "idempotencyKey": key,
        "action": "request",
        "customers": all,
        "roles": ["phone-manager"],
        "termDays": 90,
        "notify": ["it@northwind.example.com"],
    });
    let bulk = format!("/organizations/{partner}/delegations/bulk");
    // A call out of time reaches nothing: each item says so, and a retry goes on.
    let claimed = app.local_tokens.verify(manager).unwrap();
    let caller = portico_core::http::principal::Caller {
        user_id: UserId::parse(&claimed.user).unwrap(),
        org_id: OrgId::parse(&claimed.org).unwrap(),
        source_ip: "127.0.0.1".into(),
        auth_time: claimed.auth_time,
        org_kind: claimed.org_kind,
        touch: Default::default(),
        session_id: claimed.session_id,
        seen: Default::default(),
    };
    let input: portico_core::ops::delegation_bulk::BulkDelegations = serde_json::from_value(body.clone()).unwrap();
    let late =
        portico_core::ops::delegation_bulk::run_within(&app.deps, &caller, partner, input, std::time::Duration::ZERO)
            .await
            .unwrap();
    assert_eq!((late.succeeded, late.items.len()), (0, 500));
    assert!(late.items.iter().all(|i| i.status == 503), "{:?}", late.items[0]);
    let (s, mut first) = app.post(&bulk, Some(manager), body.clone()).await;
    assert_eq!(s, 200, "{first}");
    // A slow store may not reach every item in one call's 20 seconds: the
    // rest answer 503, and the same call again goes on from there.
    let mut calls = 1;
    let not_reached = |v: &serde_json::Value| v["items"].as_array().unwrap().iter().any(|i| i["status"] == 503);
    while not_reached(&first) {
        calls += 1;
        assert!(calls <= 10, "no progress: {first}");
        let (s, next) = app.post(&bulk, Some(manager), body.clone()).await;
        assert_eq!(s, 200, "{next}");
        first = next;
    }
    assert_eq!(
        (&first["succeeded"], &first["failed"]),
        (&json!(497), &json!(3)),
        "{}",
        first["failed"]
    );
    let items = first["items"].as_array().unwrap();
    assert_eq!(items.len(), 500);
    assert_eq!(items[100]["status"], 404, "{}", items[100]);
    assert_eq!(
        items[250]["status"], 404,
        "another partner's customer is not ours to see: {}",
        items[250]
    );
    assert_eq!(items[0]["outcome"], "proposed", "{}", items[0]);

    // Retried with the same key: everything answered from the records, nothing done twice.
    let (s, again) = app.post(&bulk, Some(manager), body.clone()).await;
    assert_eq!(s, 200, "{again}");
    let again_items = again["items"].as_array().unwrap();
    assert_eq!(again_items.iter().filter(|i| i["replayed"] == true).count(), 497);
    assert_eq!(again["failed"], 3, "the failures are attempted again, and fail again");
    // One proposal per customer, one event each in the partner's log.
    let mut asked = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = format!(
            "/organizations/{partner}/activity?action=Update%20User%20Permissions&limit=100{}",
            cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default()
        );
        let (s, page) = app.get_json(&path, app.token(Role::PlatformAdmin)).await;
        assert_eq!(s, 200, "{page}");
        asked += page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["description"].as_str().unwrap().contains(" asked Bulk "))
            .count();
        match page["next"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(asked, 497, "no duplicates");
    let d: Delegation = app
        .deps
        .table
        .get(&keys::delegation(customers[496], partner, None))
        .await
        .unwrap()
        .unwrap()
        .decode()
        .unwrap();
    assert!(d.proposal.is_some(), "the last customer's too");

    // The same key with another body: refused.
    let mut changed = body.clone();
    changed["termDays"] = json!(30);
    let (s, refused) = app.post(&bulk, Some(manager), changed).await;
    assert_eq!(s, 409, "{refused}");
    // A partner user may not; a bulk revoke of three gives them up.
    let (s, _) = app.post(&bulk, Some(app.token(Role::PartnerUser)), body).await;
    assert_eq!(s, 403);
    let (s, revoked) = app
        .post(
            &bulk,
            Some(manager),
            json!({ "idempotencyKey": format!("revoke-{run}"), "action": "revoke", "customers": &customers[..3], "notify": ["it@northwind.example.com"] }),
        )
        .await;
    assert_eq!((s, &revoked["succeeded"]), (200, &json!(3)), "{revoked}");
    let (_, view) = app
        .get_json(&format!("/customers/{}/delegations/{partner}", customers[0]), manager)
        .await;
    assert_eq!(
        (&view["state"], &view["groups"]),
        (&json!("revoked"), &json!([])),
        "{view}"
    );
}

/// B6: every relationship, from either side: Contoso sees its default
/// delegation to Northwind and a consultancy's; Northwind sees Contoso's and
/// Fabrikam's, with the groups and their members; a third party sees
/// neither.
async fn relationships_from_either_side(b: Backend) {
    let app = TestApp::spawn(b).await;
    let customer = app.orgs[&Role::CustomerAccountOwner];
    let partner = app.orgs[&Role::PartnerManager];
    let (owner, manager) = (app.token(Role::CustomerAccountOwner), app.token(Role::PartnerManager));
    let run = uuid::Uuid::new_v4().simple().to_string();
    let (_, other) = app
        .post(
            "/organizations",
            Some(app.token(Role::PlatformAdmin)),
            json!({ "name": format!("Consult {run}"), "kind": "partner" }),
        )
        .await;
    let other = other["id"].as_str().unwrap().to_string();
    let tell = json!(["it@contoso.example.com"]);
    let (s, _) = app
        .put(
            &format!("/customers/{customer}/delegations/{other}"),
            owner,
            json!({ "roles": ["phone-manager"], "notify": tell, "termDays": 60 }),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .put(
            &format!("/customers/{customer}/delegations/{partner}"),
            owner,
            json!({ "roles": ["decision-maker", "phone-manager"], "notify": tell }),
        )
        .await;
    assert_eq!(s, 200);
    let nico = app.users[&Role::PartnerUser];
    let (s, _) = app
        .put(
            &format!("/organizations/{partner}/groups/{customer}/phone-manager/members/{nico}"),
            manager,
            json!({}),
        )
        .await;
    assert_eq!(s, 200);

    let (s, mine) = app
        .get_json(&format!("/organizations/{customer}/relationships"), owner)
        .await;
    assert_eq!(s, 200, "{mine}");
    let items = mine["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{mine}");
    let to = |id: &str| items.iter().find(|r| r["partnerId"] == id).unwrap();
    let northwind = to(&partner.to_string());
    assert_eq!(
        (
            &northwind["partnerOfRecord"],
            &northwind["state"],
            &northwind["everyone"]
        ),
        (&json!(true), &json!("active"), &json!(true)),
        "{northwind}"
    );
    assert_eq!(northwind["partnerName"], "Northwind Partners");
    let pm = northwind["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["role"] == "phone-manager")
        .unwrap();
    assert_eq!(pm["members"][0]["userId"], nico.to_string(), "{pm}");
    let consult = to(&other);
    assert_eq!(
        (&consult["partnerOfRecord"], &consult["state"], &consult["termDays"]),
        (&json!(false), &json!("active"), &json!(60)),
        "{consult}"
    );

    let (s, theirs) = app
        .get_json(
            &format!("/organizations/{partner}/relationships"),
            app.token(Role::PartnerUser),
        )
        .await;
    assert_eq!(s, 200, "{theirs}");
    let names: Vec<&str> = theirs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["customerName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Contoso Ltd", "Fabrikam Inc"], "by customer name");
    // Neither side's relationships are a third party's to see.
    let (s, _) = app
        .get_json(&format!("/organizations/{partner}/relationships"), owner)
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .get_json(&format!("/organizations/{customer}/relationships"), manager)
        .await;
    assert_eq!(s, 403, "Northwind sees Contoso, not its relationships");
}

/// Every route of delegated roles, tried from every role but the
/// platform's (Northwind's manager and user; Contoso's Account Owner,
/// System Administrator and user) with another partner's and its
/// customer's ids: no answer is a success, none names them, and nothing of
/// theirs changes.
async fn no_route_leaks_across_tenants(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.token(Role::PlatformAdmin);
    let run = uuid::Uuid::new_v4().simple().to_string();
    let (other_name, their_name) = (format!("Other {run}"), format!("Theirs {run}"));
    let (_, other) = app
        .post(
            "/organizations",
            Some(admin),
            json!({ "name": other_name, "kind": "partner" }),
        )
        .await;
    let other: OrgId = serde_json::from_value(other["id"].clone()).unwrap();
    let (_, theirs) = app
        .post(
            "/organizations",
            Some(admin),
            json!({ "name": their_name, "kind": "customer", "partnerOfRecord": other }),
        )
        .await;
    let theirs: OrgId = serde_json::from_value(theirs["id"].clone()).unwrap();
    let (s, _) = app
        .post(
            &format!("/customers/{theirs}/billing"),
            Some(admin),
            json!({ "kind": "invoice", "reference": "INV-SECRET", "date": "2026-12-01", "amount": "1.00", "currency": "EUR" }),
        )
        .await;
    assert_eq!(s, 201);
    let before = app
        .deps
        .table
        .get(&keys::delegation(theirs, other, None))
        .await
        .unwrap()
        .unwrap();
    let (northwind, contoso) = (app.orgs[&Role::PartnerManager], app.orgs[&Role::CustomerAccountOwner]);
    let someone = app.users[&Role::PartnerUser];
    let tell = json!(["it@example.com"]);
    let set = json!({ "roles": [], "notify": tell });
    let ask = json!({ "roles": ["phone-manager"], "notify": tell });
    let routes: Vec<(&str, String, Option<serde_json::Value>)> = vec![
        ("GET", format!("/customers/{theirs}/delegations/{other}"), None),
        (
            "PUT",
            format!("/customers/{theirs}/delegations/{other}"),
            Some(set.clone()),
        ),
        (
            "PUT",
            format!("/customers/{theirs}/delegations/{northwind}"),
            Some(ask.clone()),
        ),
        ("GET", format!("/customers/{contoso}/delegations/{other}"), None),
        (
            "POST",
            format!("/customers/{theirs}/delegations/{other}/request"),
            Some(ask.clone()),
        ),
        (
            "POST",
            format!("/customers/{theirs}/delegations/{northwind}/request"),
            Some(ask.clone()),
        ),
        (
            "POST",
            format!("/customers/{theirs}/delegations/{other}/decision"),
            Some(json!({ "approve": true, "notify": tell })),
        ),
        (
            "PUT",
            format!("/organizations/{other}/delegations/{theirs}/holders"),
            Some(json!({ "everyone": false })),
        ),
        (
            "PUT",
            format!("/organizations/{northwind}/delegations/{theirs}/holders"),
            Some(json!({ "everyone": false })),
        ),
        (
            "GET",
            format!("/organizations/{other}/groups/{theirs}/decision-maker"),
            None,
        ),
        (
            "PUT",
            format!("/organizations/{other}/groups/{theirs}/decision-maker/members/{someone}"),
            Some(json!({})),
        ),
        (
            "DELETE",
            format!("/organizations/{other}/groups/{theirs}/decision-maker/members/{someone}"),
            None,
        ),
        (
            "POST",
            format!("/organizations/{other}/delegations/bulk"),
            Some(
                json!({ "idempotencyKey": format!("leak-{run}"), "action": "revoke", "customers": [theirs], "notify": tell }),
            ),
        ),
        ("GET", format!("/customers/{theirs}/billing"), None),
        (
            "POST",
            format!("/customers/{theirs}/billing"),
            Some(
                json!({ "kind": "payment", "reference": "X", "date": "2026-12-01", "amount": "1", "currency": "EUR" }),
            ),
        ),
        ("GET", format!("/organizations/{other}/relationships"), None),
        ("GET", format!("/organizations/{theirs}/relationships"), None),
    ];
    let mut tried = 0;
    // Contoso's System Administrator and a customer user too: every role
    // but the platform's (which sees all by design).
    let mut tokens: Vec<(Role, String)> = [Role::PartnerManager, Role::PartnerUser, Role::CustomerAccountOwner]
        .into_iter()
        .map(|r| (r, app.token(r).to_string()))
        .collect();
    for (role, who) in [(Role::CustomerAdmin, "sam"), (Role::CustomerUser, "cy")] {
        let email = format!("{who}-{run}@contoso.example.com");
        let (s, body) = app
            .post(
                &format!("/customers/{contoso}/staff"),
                Some(app.token(Role::CustomerAccountOwner)),
                json!({ "email": email, "displayName": who, "role": role.as_str() }),
            )
            .await;
        assert_eq!(s, 201, "{body}");
        tokens.push((role, app.set_up_account(&email).await.0));
    }
    for (role, token) in &tokens {
        let role = *role;
        for (method, path, body) in &routes {
            let (s, answer) = app.call(method, path, Some(token), body.clone()).await;
            let text = answer.to_string();
            // Contoso's own view of what it delegates to a partner (nothing)
            // is its Account Owner's to read; it names no one.
            let own = matches!(
                role,
                Role::CustomerAccountOwner | Role::CustomerAdmin | Role::CustomerUser
            ) && *method == "GET"
                && path.starts_with(&format!("/customers/{contoso}/"));
            assert!(
                matches!(s, 403 | 404) || (own && s == 200),
                "{role:?} {method} {path}: {s} {text}"
            );
            for secret in [other_name.as_str(), their_name.as_str(), "INV-SECRET"] {
                assert!(
                    !text.contains(secret),
                    "{role:?} {method} {path} names {secret}: {text}"
                );
            }
            tried += 1;
        }
        // In bulk on its own partner: Theirs is a per-item 404, named nowhere.
        if role == Role::PartnerManager {
            let (s, answer) = app
                .post(
                    &format!("/organizations/{northwind}/delegations/bulk"),
                    Some(token),
                    json!({ "idempotencyKey": format!("leak-own-{run}"), "action": "request", "customers": [theirs], "roles": ["phone-manager"], "notify": tell }),
                )
                .await;
            assert_eq!((s, &answer["items"][0]["status"]), (200, &json!(404)), "{answer}");
            assert!(!answer.to_string().contains(&their_name), "{answer}");
        }
    }
    assert_eq!(tried, 5 * 17);
    let after = app
        .deps
        .table
        .get(&keys::delegation(theirs, other, None))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.version, before.version, "nothing of theirs changed");
    assert!(
        app.deps
            .table
            .get(&keys::delegation(theirs, northwind, None))
            .await
            .unwrap()
            .is_none()
    );
}

/// The README's walk-through of seed 004's flow, run as written (bash,
/// curl, python3) against the app with the demo users' tokens file, then
/// its effect read back: Northwind holds Decision Maker only, for its
/// groups' members, and Nico is one.
async fn the_readme_walk_through_runs(b: Backend) {
    let app = TestApp::spawn(b).await;
    let stdout = portico_tests::run_readme_section(&app, "## Delegated roles (seed 004)").await;
    let customer = app.orgs[&Role::CustomerAccountOwner];
    let partner = app.orgs[&Role::PartnerManager];
    let d: Delegation = app
        .deps
        .table
        .get(&keys::delegation(customer, partner, None))
        .await
        .unwrap()
        .unwrap()
        .decode()
        .unwrap();
    assert_eq!(d.roles, [role("decision-maker")].into_iter().collect(), "{stdout}");
    assert!(!d.everyone, "narrowed to the groups");
    let nico = app.users[&Role::PartnerUser];
    let mine: UserDelegatedRoles = app
        .deps
        .table
        .get(&keys::user_delegated_roles(nico, customer))
        .await
        .unwrap()
        .unwrap()
        .decode()
        .unwrap();
    assert_eq!(
        mine.roles.get(&role("decision-maker")),
        d.groups.get(&role("decision-maker"))
    );
}

/// An authorized contact in person (seed 004): Contoso gives Nico alone
/// Phone Manager (no group); once Northwind narrows its own roles to the
/// groups, Nico changes a setting but sees no invoices, and Nora (not in
/// any group) changes nothing; revoked, Nico holds nothing either.
async fn an_authorized_contact_in_person(b: Backend) {
    let app = TestApp::spawn(b).await;
    let customer = app.orgs[&Role::CustomerAccountOwner];
    let partner = app.orgs[&Role::PartnerManager];
    let (owner, manager) = (app.token(Role::CustomerAccountOwner), app.token(Role::PartnerManager));
    let nico = app.users[&Role::PartnerUser];
    let tell = json!(["it@northwind.example.com"]);
    let (s, _) = app
        .put(
            &format!("/organizations/{partner}/delegations/{customer}/holders"),
            manager,
            json!({ "everyone": false }),
        )
        .await;
    assert_eq!(s, 200);
    let person = format!("/customers/{customer}/delegations/{partner}/users/{nico}");
    let (s, view) = app
        .put(
            &person,
            owner,
            json!({ "roles": ["phone-manager"], "notify": tell, "termDays": 30 }),
        )
        .await;
    assert_eq!(s, 200, "{view}");
    assert_eq!(
        (&view["contactUser"], &view["groups"], &view["state"]),
        (&json!(nico.to_string()), &json!([]), &json!("expiring")),
        "{view}"
    );
    let (s, seen) = app.get_json(&person, manager).await;
    assert_eq!(
        (s, &seen["roles"]),
        (200, &json!(["phone-manager"])),
        "the partner sees it: {seen}"
    );
    let settings = |token: &str| {
        let app = &app;
        let token = token.to_string();
        async move {
            let (_, page) = app.get_json(&format!("/customers/{customer}/settings"), &token).await;
            page["settings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["key"] == "feed.comments")
                .unwrap()["editable"]
                .as_bool()
                .unwrap()
        }
    };
    assert!(
        settings(app.token(Role::PartnerUser)).await,
        "Nico, in person, changes settings"
    );
    assert!(!settings(manager).await, "Nora holds nothing: in no group");
    let (s, _) = app
        .get_json(&format!("/customers/{customer}/billing"), app.token(Role::PartnerUser))
        .await;
    assert_eq!(s, 403, "a Phone Manager sees no invoices");
    // Someone not of the partner cannot be its contact.
    let cora = app.users[&Role::CustomerAccountOwner];
    let (s, _) = app
        .put(
            &format!("/customers/{customer}/delegations/{partner}/users/{cora}"),
            owner,
            json!({ "roles": ["phone-manager"], "notify": tell }),
        )
        .await;
    assert_eq!(s, 404);
    let (s, view) = app.put(&person, owner, json!({ "roles": [], "notify": tell })).await;
    assert_eq!((s, &view["state"]), (200, &json!("revoked")), "{view}");
    assert!(!settings(app.token(Role::PartnerUser)).await, "revoked: nothing");
    let (_, log) = app
        .get_json(
            &format!("/organizations/{partner}/activity?action=Grant%20Partner%20Role&limit=10"),
            app.token(Role::PlatformAdmin),
        )
        .await;
    assert!(
        log.to_string().contains("user@northwind.example.com in person"),
        "{log}"
    );
}

both_backends!(
    an_authorized_contact_in_person,
    the_readme_walk_through_runs,
    relationships_from_either_side,
    no_route_leaks_across_tenants,
    bulk_over_500_customers,
    customers_from_before_get_the_default,
    partners_ask_and_customers_decide,
    the_sweep_reminds_extends_and_ends,
    grant_use_and_revoke,
    the_partner_access_dialog,
    the_partner_adds_members
);
