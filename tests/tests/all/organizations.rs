//! The first operation end to end over HTTP, on both backends: platform
//! admins create partners and linked customers; everyone lists what they may
//! see; every change commits with its activity event or not at all.

use std::sync::Arc;

use async_trait::async_trait;
use portico_core::audit::ActivityEvent;
use portico_core::domain::{OrgId, Organization, Role};
use portico_core::store::{Cond, Index, Key, Page, Query, StoreError, Table, Write, keys};
use portico_tests::{Backend, Options, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn post(app: &TestApp, role: Role, body: Value) -> reqwest::Response {
    app.http
        .post(app.url("/organizations"))
        .bearer_auth(app.token(role))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn get(app: &TestApp, role: Role, path: &str) -> reqwest::Response {
    app.http
        .get(app.url(path))
        .bearer_auth(app.token(role))
        .send()
        .await
        .unwrap()
}

async fn names(app: &TestApp, role: Role, path: &str) -> Vec<String> {
    let resp = get(app, role, path).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let page: Value = resp.json().await.unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap().to_string())
        .collect()
}

async fn events(app: &TestApp, org: OrgId) -> Vec<ActivityEvent> {
    let page = app
        .deps
        .table
        .query(&Query::partition(Index::Primary, keys::activity_partition(org)))
        .await
        .unwrap();
    page.items.iter().map(|i| i.decode().unwrap()).collect()
}

async fn partner_id(app: &TestApp) -> String {
    let page: Value = get(app, Role::PlatformAdmin, "/organizations?kind=partner")
        .await
        .json()
        .await
        .unwrap();
    page["items"][0]["id"].as_str().unwrap().to_string()
}

pub async fn admin_creates_partner_and_linked_customer_and_each_role_sees_its_share(b: Backend) {
    let app = TestApp::spawn(b).await;
    let resp = post(
        &app,
        Role::PlatformAdmin,
        json!({ "name": "Globex Resellers", "kind": "partner" }),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let globex: Organization = resp.json().await.unwrap();

    let resp = post(
        &app,
        Role::PlatformAdmin,
        json!({ "name": "Initech", "kind": "customer", "partnerOfRecord": globex.id }),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let initech: Organization = resp.json().await.unwrap();
    assert_eq!(initech.partner_of_record, Some(globex.id));

    // The platform admin sees every organisation, by kind then name.
    assert_eq!(
        names(&app, Role::PlatformAdmin, "/organizations").await,
        [
            "Contoso Ltd",
            "Fabrikam Inc",
            "Initech",
            "Globex Resellers",
            "Northwind Partners",
            "Portico Platform"
        ]
    );
    assert_eq!(
        names(&app, Role::PlatformAdmin, "/organizations?kind=partner").await,
        ["Globex Resellers", "Northwind Partners"]
    );
    // Northwind's users see only Northwind's customers: not Initech.
    for role in [Role::PartnerManager, Role::PartnerUser] {
        assert_eq!(
            names(&app, role, "/organizations").await,
            ["Contoso Ltd", "Fabrikam Inc"]
        );
        assert_eq!(
            names(&app, role, "/organizations?kind=partner").await,
            ["Northwind Partners"],
            "its own"
        );
        assert!(names(&app, role, "/organizations?kind=platform").await.is_empty());
        let resp = get(&app, role, &format!("/organizations/{}", initech.id)).await;
        assert_eq!(
            resp.status(),
            StatusCode::NOT_FOUND,
            "another partner's customer is invisible"
        );
    }
    // A customer sees itself.
    assert_eq!(
        names(&app, Role::CustomerAccountOwner, "/organizations").await,
        ["Contoso Ltd"]
    );
    let resp = get(
        &app,
        Role::CustomerAccountOwner,
        &format!("/organizations/{}", initech.id),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = get(&app, Role::PlatformAdmin, &format!("/organizations/{}", initech.id)).await;
    assert_eq!(resp.json::<Organization>().await.unwrap(), initech);

    // Each creation wrote its event, with who, where from and what.
    let evs = events(&app, initech.id).await;
    assert_eq!(evs.len(), 1);
    let ev = &evs[0];
    assert_eq!(ev.actor_user_id, Some(app.users[&Role::PlatformAdmin]));
    assert_eq!(
        ev.actor_email.as_ref().map(|a| a.as_str()),
        Some("admin@portico.example.com")
    );
    assert_eq!(ev.org_id, initech.id);
    assert_eq!(ev.source_ip, "127.0.0.1");
    assert_eq!(ev.target.id, initech.id.to_string());
    assert_eq!(serde_json::to_value(ev.action).unwrap(), "Create Organization");
    assert!(ev.description.contains("Initech"), "{}", ev.description);
    assert_eq!(ev.after.as_ref().unwrap()["partnerOfRecord"], json!(globex.id));
    assert_eq!(events(&app, globex.id).await.len(), 1);
}

pub async fn listing_pages_with_a_cursor(b: Backend) {
    let app = TestApp::spawn(b).await;
    let partner = partner_id(&app).await;
    for i in 0..7 {
        let body = json!({ "name": format!("Customer {i:02}"), "kind": "customer", "partnerOfRecord": partner });
        assert_eq!(
            post(&app, Role::PlatformAdmin, body).await.status(),
            StatusCode::CREATED
        );
    }
    let mut seen = Vec::new();
    let mut path = "/organizations?limit=4".to_string();
    loop {
        let page: Value = get(&app, Role::PartnerUser, &path).await.json().await.unwrap();
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["name"].as_str().unwrap().to_string()),
        );
        match page["nextCursor"].as_str() {
            Some(c) => path = format!("/organizations?limit=4&cursor={c}"),
            None => break,
        }
    }
    let mut expected: Vec<String> = (0..7).map(|i| format!("Customer {i:02}")).collect();
    expected.extend(["Contoso Ltd".to_string(), "Fabrikam Inc".to_string()]);
    expected.sort_by_key(|s| s.to_lowercase());
    assert_eq!(seen, expected);
}

pub async fn refusals(b: Backend) {
    let app = TestApp::spawn(b).await;
    let partner = partner_id(&app).await;
    // Only platform admins create organisations.
    for role in [Role::PartnerManager, Role::PartnerUser, Role::CustomerAccountOwner] {
        let resp = post(
            &app,
            role,
            json!({ "name": "Sneaky", "kind": "customer", "partnerOfRecord": partner }),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{role:?}");
    }
    // Names are unique, case-insensitively; the loser writes nothing.
    let resp = post(
        &app,
        Role::PlatformAdmin,
        json!({ "name": "contoso ltd", "kind": "partner" }),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let problem: Value = resp.json().await.unwrap();
    assert_eq!(problem["type"], "urn:portico:problem:conflict");
    // A customer's partner of record must be a partner.
    let customer = names(&app, Role::PlatformAdmin, "/organizations?kind=customer").await;
    assert_eq!(customer.len(), 2);
    let page: Value = get(&app, Role::PlatformAdmin, "/organizations?kind=customer")
        .await
        .json()
        .await
        .unwrap();
    let a_customer = page["items"][0]["id"].clone();
    for bad in [json!(a_customer), json!(uuid::Uuid::new_v4())] {
        let resp = post(
            &app,
            Role::PlatformAdmin,
            json!({ "name": "Orphan", "kind": "customer", "partnerOfRecord": bad }),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    }
    let resp = post(
        &app,
        Role::PlatformAdmin,
        json!({ "name": "Orphan", "kind": "customer" }),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = post(
        &app,
        Role::PlatformAdmin,
        json!({ "name": "Second Platform", "kind": "platform" }),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        names(&app, Role::PlatformAdmin, "/organizations").await.len(),
        4,
        "nothing was created"
    );
}

/// Adds a write whose condition fails to every transaction, as a lost race
/// or a failing disk would.
struct FailingCondition(Arc<dyn Table>);

#[async_trait]
impl Table for FailingCondition {
    async fn get(&self, key: &Key) -> Result<Option<portico_core::store::Item>, StoreError> {
        self.0.get(key).await
    }
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<portico_core::store::Item>>, StoreError> {
        self.0.get_many(keys).await
    }
    async fn query(&self, q: &Query) -> Result<Page, StoreError> {
        self.0.query(q).await
    }
    async fn transact(&self, mut writes: Vec<Write>) -> Result<(), StoreError> {
        if writes
            .iter()
            .any(|w| matches!(w, Write::Put { item, .. } if item.entity == keys::EVENT))
        {
            writes.push(Write::Check {
                key: Key::new("INJECTED", "FAULT"),
                cond: Cond::MustExist,
            });
        }
        self.0.transact(writes).await
    }
}

pub async fn an_injected_failing_condition_leaves_neither_change_nor_event(b: Backend) {
    let opts = Options {
        wrap: Some(Box::new(|t| Arc::new(FailingCondition(t)) as Arc<dyn Table>)),
        ..Default::default()
    };
    let app = TestApp::spawn_with(b, opts).await;
    let next_org = OrgId(app.ids.peek());
    let resp = post(
        &app,
        Role::PlatformAdmin,
        json!({ "name": "Doomed Partners", "kind": "partner" }),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CONFLICT, "{}", resp.text().await.unwrap());
    assert!(
        app.deps.table.get(&keys::org(next_org)).await.unwrap().is_none(),
        "no organisation"
    );
    assert!(events(&app, next_org).await.is_empty(), "no event");
    assert!(
        app.deps
            .table
            .get(&keys::org_name("doomed partners"))
            .await
            .unwrap()
            .is_none(),
        "no name guard"
    );
    assert_eq!(names(&app, Role::PlatformAdmin, "/organizations").await.len(), 4);
}

/// Seed 003's "Update Organization": Contoso's Account Owner renames it
/// (listed under its new name, the old name free again, the event with
/// before and after); a stale version, a taken name, and a Partner User
/// renaming its partner are refused.
async fn renaming(backend: portico_tests::Backend) {
    let app = TestApp::spawn(backend).await;
    let contoso = app.orgs[&Role::CustomerAccountOwner];
    let owner = app.token(Role::CustomerAccountOwner);
    let path = format!("/organizations/{contoso}/name");
    // An instance, listed by the customer's name, comes along.
    let (_instance, url) = portico_tests::reference_instance().await;
    let (s, reg) = app
        .post(
            &format!("/customers/{contoso}/instances"),
            Some(app.token(Role::PlatformAdmin)),
            json!({ "name": "Contoso production", "url": url }),
        )
        .await;
    assert_eq!(s, 201, "{reg}");
    let (_, org) = app.get_json(&format!("/organizations/{contoso}"), owner).await;
    let version = org["version"].clone();
    let (s, body) = app
        .put(&path, owner, json!({ "name": "Fabrikam Inc", "version": version }))
        .await;
    assert_eq!(s, 409, "taken: {body}");
    let (s, body) = app
        .put(&path, owner, json!({ "name": "Contoso Group", "version": version }))
        .await;
    assert_eq!((s, &body["name"]), (200, &json!("Contoso Group")), "{body}");
    let (s, listed) = app
        .get_json(&format!("/customers/{contoso}/instances"), app.token(Role::PartnerUser))
        .await;
    assert_eq!(s, 200, "{listed}");
    assert!(
        listed.to_string().contains("Contoso production"),
        "the instance is still listed: {listed}"
    );
    let northwind = app.orgs[&Role::PartnerManager];
    let (_, d) = app
        .get_json(&format!("/customers/{contoso}/delegations/{northwind}"), owner)
        .await;
    assert_eq!(
        d["groups"],
        json!(["Contoso Group Decision Maker"]),
        "the group is renamed: {d}"
    );
    let (_, rel) = app
        .get_json(
            &format!("/organizations/{northwind}/relationships"),
            app.token(Role::PartnerManager),
        )
        .await;
    assert_eq!(rel["items"][0]["customerName"], "Contoso Group", "{rel}");
    let (s, body) = app
        .put(&path, owner, json!({ "name": "Contoso Again", "version": version }))
        .await;
    assert_eq!(s, 409, "stale: {body}");
    let listed = names(&app, Role::PartnerUser, "/organizations?kind=customer").await;
    assert!(listed.contains(&"Contoso Group".to_string()), "{listed:?}");
    // The old name is free: the platform may create a partner with it.
    let created = post(
        &app,
        Role::PlatformAdmin,
        json!({ "name": "Contoso Ltd", "kind": "partner" }),
    )
    .await;
    assert_eq!(created.status(), 201);
    let e = events(&app, contoso)
        .await
        .into_iter()
        .find(|e| e.action == portico_core::audit::ActionType::UpdateOrganization)
        .expect("the rename's event");
    assert_eq!(e.before, Some(json!({ "name": "Contoso Ltd" })));
    assert_eq!(e.after, Some(json!({ "name": "Contoso Group" })));
    let partner = app.orgs[&Role::PartnerManager];
    let (s, _) = app
        .put(
            &format!("/organizations/{partner}/name"),
            app.token(Role::PartnerUser),
            json!({ "name": "Southwind", "version": 1 }),
        )
        .await;
    assert_eq!(s, 403);
}

/// Deleting with safeguards: the platform deletes an empty partner and a
/// customer without users (its default delegation and group go with it,
/// the event in the platform's and the partner's logs); a customer with
/// users, a partner with customers and the platform itself are refused,
/// saying why; nobody else may.
async fn deleting(backend: portico_tests::Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.token(Role::PlatformAdmin);
    let northwind = app.orgs[&Role::PartnerManager];
    let delete = |id: String, token: String| {
        let app = &app;
        async move {
            let resp = app
                .http
                .delete(app.url(&format!("/organizations/{id}")))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let created = post(
        &app,
        Role::PlatformAdmin,
        json!({ "name": "Temporary Partner", "kind": "partner" }),
    )
    .await;
    let temp: Value = created.json().await.unwrap();
    let created = post(
        &app,
        Role::PlatformAdmin,
        json!({ "name": "Short Lived", "kind": "customer", "partnerOfRecord": northwind }),
    )
    .await;
    let short: Value = created.json().await.unwrap();
    let short_id: OrgId = serde_json::from_value(short["id"].clone()).unwrap();
    let dm = portico_core::delegations::RoleKey::parse("decision-maker").unwrap();
    assert!(
        app.deps
            .table
            .get(&keys::delegated_group(northwind, short_id, &dm))
            .await
            .unwrap()
            .is_some()
    );

    let (s, body) = delete(
        short["id"].as_str().unwrap().into(),
        app.token(Role::PartnerManager).into(),
    )
    .await;
    assert_eq!(s, 403, "{body}");
    let (s, body) = delete(short["id"].as_str().unwrap().into(), admin.into()).await;
    assert_eq!(s, 200, "{body}");
    assert!(app.deps.table.get(&keys::org(short_id)).await.unwrap().is_none());
    assert!(
        app.deps
            .table
            .get(&keys::delegation(short_id, northwind, None))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        app.deps
            .table
            .get(&keys::delegated_group(northwind, short_id, &dm))
            .await
            .unwrap()
            .is_none()
    );
    let (s, _) = delete(temp["id"].as_str().unwrap().into(), admin.into()).await;
    assert_eq!(s, 200);
    let (s, body) = delete(app.orgs[&Role::CustomerAccountOwner].to_string(), admin.into()).await;
    assert_eq!(s, 409, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("users"), "{body}");
    let (s, _) = delete(northwind.to_string(), admin.into()).await;
    assert_eq!(s, 409);
    let (s, _) = delete(app.orgs[&Role::PlatformAdmin].to_string(), admin.into()).await;
    assert_eq!(s, 409);
    let said: Vec<String> = events(&app, northwind)
        .await
        .into_iter()
        .map(|e| e.description)
        .collect();
    assert!(
        said.iter()
            .any(|d| d.contains("Deleted customer organisation \"Short Lived\"")),
        "{said:?}"
    );
}

macro_rules! on_backend {
    ($name:ident, $backend:expr) => {
        mod $name {
            #[tokio::test]
            async fn admin_creates_partner_and_linked_customer_and_each_role_sees_its_share() {
                super::admin_creates_partner_and_linked_customer_and_each_role_sees_its_share($backend).await
            }
            #[tokio::test]
            async fn listing_pages_with_a_cursor() {
                super::listing_pages_with_a_cursor($backend).await
            }
            #[tokio::test]
            async fn deleting() {
                super::deleting($backend).await
            }
            #[tokio::test]
            async fn renaming() {
                super::renaming($backend).await
            }
            #[tokio::test]
            async fn refusals() {
                super::refusals($backend).await
            }
            #[tokio::test]
            async fn an_injected_failing_condition_leaves_neither_change_nor_event() {
                super::an_injected_failing_condition_leaves_neither_change_nor_event($backend).await
            }
        }
    };
}

on_backend!(embedded_sqlite, portico_tests::Backend::Sqlite);
on_backend!(dynamodb_local, portico_tests::Backend::Dynamo);
