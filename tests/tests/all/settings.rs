//! Platform settings per customer over HTTP on both backends: who may change
//! what (a decision table), restricted-setting grants, and no lost update
//! under concurrent toggles.

use std::sync::Arc;

use portico_core::domain::Role;
use portico_core::store::{Index, Query, keys};
use portico_tests::{Backend, TestApp};
use serde_json::{Value, json};

async fn call(app: &TestApp, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = app
        .http
        .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), app.url(path))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn setting<'a>(page: &'a Value, key: &str) -> &'a Value {
    page["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == key)
        .unwrap_or_else(|| panic!("{key} in {page}"))
}

/// Expected outcome of a change: Ok, or the status of the refusal.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Change,
    ReadOnly(&'static str),
    Hidden,
}

pub async fn decision_table(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.token(Role::PlatformAdmin).to_string();
    let manager = app.token(Role::PartnerManager).to_string();
    let puser = app.token(Role::PartnerUser).to_string();
    let owner = app.token(Role::CustomerAccountOwner).to_string();
    let partner = app.orgs[&Role::PartnerManager];
    let linked = app.orgs[&Role::CustomerAccountOwner];
    // A customer of another partner.
    let (_, other) = call(
        &app,
        "POST",
        "/organizations",
        &admin,
        Some(json!({ "name": "Litware Partners", "kind": "partner" })),
    )
    .await;
    let (s, unlinked) = call(
        &app,
        "POST",
        "/organizations",
        &admin,
        Some(json!({ "name": "Woodgrove", "kind": "customer", "partnerOfRecord": other["id"] })),
    )
    .await;
    assert_eq!(s, 201);
    let unlinked = unlinked["id"].as_str().unwrap().to_string();
    // A second partner user, granted the restricted setting.
    let email = format!("granted-{}@northwind.example.com", uuid::Uuid::new_v4().simple());
    let (s, added) = call(
        &app,
        "POST",
        &format!("/organizations/{partner}/users"),
        &admin,
        Some(json!({ "email": email, "displayName": "Gra", "role": "partner_user" })),
    )
    .await;
    assert_eq!(s, 201, "{added}");
    let granted_id = added["user"]["id"].as_str().unwrap().to_string();
    let (s, g) = call(
        &app,
        "POST",
        &format!("/partners/{partner}/setting-grants"),
        &manager,
        Some(json!({ "userId": granted_id, "key": "sso.enforce" })),
    )
    .await;
    assert_eq!(s, 201, "{g}");
    // The granted user is pending (no password): make them active for this table.
    let key = keys::user(portico_core::domain::UserId::parse(&granted_id).unwrap());
    let w = portico_core::store::Write::patch(
        key,
        &json!({ "status": "active", "mfaEnrolled": true, "emailConfirmedAt": chrono::Utc::now() }),
        portico_core::store::Cond::MustExist,
    )
    .unwrap();
    app.deps.table.transact(vec![w]).await.unwrap();
    let granted = portico_core::sessions::open_local(
        &app.deps,
        &app.local_tokens,
        portico_core::domain::UserId::parse(&granted_id).unwrap(),
        60,
        chrono::Utc::now() + chrono::Duration::hours(1),
    )
    .await
    .unwrap();

    use Outcome::*;
    let linked_s = linked.to_string();
    #[rustfmt::skip]
    let table: Vec<(&str, &str, &str, &str, Outcome)> = vec![
        // who, token, customer, setting, outcome
        ("platform admin", &admin, &linked_s, "feed.comments", Change),
        ("platform admin", &admin, &linked_s, "sso.enforce", Change),
        ("platform admin", &admin, &linked_s, "livestream", ReadOnly("paid_add_on")),
        ("platform admin", &admin, &unlinked, "feed.comments", Change),
        ("partner manager", &manager, &linked_s, "feed.comments", Change),
        ("partner manager", &manager, &linked_s, "sso.enforce", Change),
        ("partner manager", &manager, &linked_s, "livestream", ReadOnly("paid_add_on")),
        ("partner manager", &manager, &unlinked, "feed.comments", Hidden),
        ("partner user", &puser, &linked_s, "feed.comments", Change),
        ("partner user", &puser, &linked_s, "sso.enforce", ReadOnly("restricted")),
        ("partner user", &puser, &linked_s, "livestream", ReadOnly("paid_add_on")),
        ("partner user", &puser, &unlinked, "sso.enforce", Hidden),
        ("granted partner user", &granted, &linked_s, "sso.enforce", Change),
        ("granted partner user", &granted, &linked_s, "data.export", ReadOnly("restricted")),
        ("granted partner user", &granted, &linked_s, "livestream", ReadOnly("paid_add_on")),
        ("granted partner user", &granted, &unlinked, "sso.enforce", Hidden),
        ("partner manager", &manager, &linked_s, "translation.auto", ReadOnly("paid_add_on")),
        ("granted partner user", &granted, &linked_s, "translation.auto", ReadOnly("paid_add_on")),
        ("platform admin", &admin, &linked_s, "translation.auto", ReadOnly("paid_add_on")),
        ("customer user", &owner, &linked_s, "feed.comments", ReadOnly("no_access")),
        ("customer user", &owner, &linked_s, "sso.enforce", ReadOnly("no_access")),
        ("customer user", &owner, &linked_s, "livestream", ReadOnly("paid_add_on")),
        ("customer user", &owner, &unlinked, "feed.comments", Hidden),
    ];
    for (who, token, customer, key, outcome) in table {
        let (s, page) = call(&app, "GET", &format!("/customers/{customer}/settings"), token, None).await;
        let put = |enabled: bool, version: &Value| json!({ "enabled": enabled, "version": version });
        match outcome {
            Hidden => {
                assert_eq!(s, 404, "{who} reading {key}: {page}");
                let (s, _) = call(
                    &app,
                    "PUT",
                    &format!("/customers/{customer}/settings/{key}"),
                    token,
                    Some(json!({ "enabled": true, "version": 0 })),
                )
                .await;
                assert_eq!(s, 404, "{who} changing {key} of an unlinked customer");
            }
            Change | ReadOnly(_) => {
                assert_eq!(s, 200, "{who} reading: {page}");
                let row = setting(&page, key);
                let enabled = row["enabled"].as_bool().unwrap();
                let (s, after) = call(
                    &app,
                    "PUT",
                    &format!("/customers/{customer}/settings/{key}"),
                    token,
                    Some(put(!enabled, &row["version"])),
                )
                .await;
                if let ReadOnly(reason) = outcome {
                    assert_eq!(
                        (row["editable"].as_bool(), row["readOnlyReason"].as_str()),
                        (Some(false), Some(reason)),
                        "{who} {key}: {row}"
                    );
                    assert_eq!(s, 403, "{who} changing {key}: {after}");
                } else {
                    assert_eq!(row["editable"], true, "{who} {key}: {row}");
                    assert_eq!(
                        (s, after["enabled"].as_bool()),
                        (200, Some(!enabled)),
                        "{who} changing {key}: {after}"
                    );
                }
            }
        }
    }
    assert_eq!(
        setting(
            &call(&app, "GET", &format!("/customers/{linked}/settings"), &admin, None)
                .await
                .1,
            "feed.comments"
        )["name"],
        "Comments on posts"
    );
    // Only customers have settings.
    assert_eq!(
        call(&app, "GET", &format!("/customers/{partner}/settings"), &admin, None)
            .await
            .0,
        404
    );
    let body = json!({ "enabled": true, "version": 0 });
    assert_eq!(
        call(
            &app,
            "PUT",
            &format!("/customers/{partner}/settings/feed.comments"),
            &admin,
            Some(body)
        )
        .await
        .0,
        404
    );
    // A stale version gets 409 with the current value as fields; the same value again changes nothing.
    let (_, page) = call(&app, "GET", &format!("/customers/{linked}/settings"), &manager, None).await;
    let row = setting(&page, "feed.comments").clone();
    let body = json!({ "enabled": true, "version": 0 });
    let (s, p) = call(
        &app,
        "PUT",
        &format!("/customers/{linked}/settings/feed.comments"),
        &manager,
        Some(body),
    )
    .await;
    assert_eq!(
        (s, p["type"].as_str()),
        (409, Some("urn:portico:problem:stale-version")),
        "{p}"
    );
    assert_eq!(
        (p["current"]["enabled"].clone(), p["current"]["version"].clone()),
        (row["enabled"].clone(), row["version"].clone())
    );
    let body = json!({ "enabled": row["enabled"], "version": row["version"] });
    let (s, same) = call(
        &app,
        "PUT",
        &format!("/customers/{linked}/settings/feed.comments"),
        &manager,
        Some(body),
    )
    .await;
    assert_eq!(
        (s, same["version"].clone()),
        (200, row["version"].clone()),
        "no change, no new version"
    );

    // Revoking the grant takes effect on the next request.
    let (s, list) = call(
        &app,
        "GET",
        &format!("/partners/{partner}/setting-grants?key=sso.enforce"),
        &manager,
        None,
    )
    .await;
    assert_eq!((s, list["items"].as_array().map(Vec::len)), (200, Some(1)), "{list}");
    let (s, list) = call(
        &app,
        "GET",
        &format!("/partners/{partner}/setting-grants?userId={granted_id}"),
        &manager,
        None,
    )
    .await;
    assert_eq!(
        (s, list["items"][0]["key"].as_str()),
        (200, Some("sso.enforce")),
        "{list}"
    );
    assert_eq!(
        call(
            &app,
            "DELETE",
            &format!("/partners/{partner}/setting-grants/{granted_id}/sso.enforce"),
            &puser,
            None
        )
        .await
        .0,
        403,
        "partner users may not"
    );
    assert_eq!(
        call(
            &app,
            "DELETE",
            &format!("/partners/{partner}/setting-grants/{granted_id}/sso.enforce"),
            &manager,
            None
        )
        .await
        .0,
        204
    );
    let (_, page) = call(&app, "GET", &format!("/customers/{linked}/settings"), &granted, None).await;
    assert_eq!(
        setting(&page, "sso.enforce")["readOnlyReason"],
        "restricted",
        "revoked at once"
    );
    // What cannot be granted.
    for (key, why) in [
        ("livestream", "a paid add-on"),
        ("translation.auto", "a restricted paid add-on"),
        ("feed.comments", "not restricted"),
        ("no.such", "unknown"),
    ] {
        let (s, _) = call(
            &app,
            "POST",
            &format!("/partners/{partner}/setting-grants"),
            &manager,
            Some(json!({ "userId": granted_id, "key": key })),
        )
        .await;
        assert_eq!(s, 400, "{why}");
    }
    let other_user = app.users[&Role::CustomerAccountOwner];
    let (s, _) = call(
        &app,
        "POST",
        &format!("/partners/{partner}/setting-grants"),
        &manager,
        Some(json!({ "userId": other_user, "key": "sso.enforce" })),
    )
    .await;
    assert_eq!(s, 404, "not a user of this partner");
    // Grants and toggles are audited with old and new values.
    let events = app
        .deps
        .table
        .query(&Query::partition(Index::Primary, keys::activity_partition(partner)))
        .await
        .unwrap();
    let perms: Vec<_> = events
        .items
        .iter()
        .filter(|i| i.data["action"] == "Update User Permissions")
        .collect();
    assert_eq!(perms.len(), 2, "one grant, one revoke");
    let events = app
        .deps
        .table
        .query(&Query::partition(Index::Primary, keys::activity_partition(linked)))
        .await
        .unwrap();
    let config: Vec<_> = events
        .items
        .iter()
        .filter(|i| i.data["action"] == "Update Configuration")
        .collect();
    assert!(
        config
            .iter()
            .all(|e| e.data["before"]["enabled"].is_boolean() && e.data["after"]["enabled"].is_boolean())
    );
    assert_eq!(
        config.len(),
        6,
        "one event per successful change on the linked customer"
    );
}

pub async fn concurrent_toggles_lose_no_update(b: Backend) {
    let app = Arc::new(TestApp::spawn(b).await);
    let customer = app.orgs[&Role::CustomerAccountOwner];
    let path = format!("/customers/{customer}/settings/feed.reactions");
    let tasks = (0..50).map(|i| {
        let app = app.clone();
        let path = path.clone();
        tokio::spawn(async move {
            // As a person would: on 409, reload and try again (a few times).
            let manager = app.token(Role::PartnerManager).to_string();
            let mut last = (0, Value::Null, 0);
            for _ in 0..5 {
                let (_, page) = call(&app, "GET", &format!("/customers/{customer}/settings"), &manager, None).await;
                let version = setting(&page, "feed.reactions")["version"].as_u64().unwrap();
                let (s, v) = call(
                    &app,
                    "PUT",
                    &path,
                    &manager,
                    Some(json!({ "enabled": i % 2 == 0, "version": version })),
                )
                .await;
                last = (s, v, version);
                if last.0 != 409 {
                    break;
                }
            }
            last
        })
    });
    let results: Vec<(u16, Value, u64)> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    // Successful writes; a 200 that sent the value the setting already had writes nothing.
    let wins: Vec<&Value> = results
        .iter()
        .filter(|(s, v, sent)| *s == 200 && v["version"].as_u64() == Some(sent + 1))
        .map(|(_, v, _)| v)
        .collect();
    assert!(results.iter().all(|(s, _, _)| *s == 200 || *s == 409), "{results:?}");
    assert!(!wins.is_empty());
    println!("{} of 50 concurrent toggles won ({b:?})", wins.len());
    let last = wins.iter().max_by_key(|v| v["version"].as_u64().unwrap()).unwrap();
    let versions: std::collections::BTreeSet<u64> = wins.iter().map(|v| v["version"].as_u64().unwrap()).collect();
    assert_eq!(versions.len(), wins.len(), "every success has its own version");
    let (_, page) = call(
        &app,
        "GET",
        &format!("/customers/{customer}/settings"),
        app.token(Role::PartnerManager),
        None,
    )
    .await;
    let now = setting(&page, "feed.reactions");
    assert_eq!(
        (now["enabled"].clone(), now["version"].clone()),
        (last["enabled"].clone(), last["version"].clone()),
        "the final value is the last successful write"
    );
    let events = app
        .deps
        .table
        .query(&Query::partition(Index::Primary, keys::activity_partition(customer)).limit(1000))
        .await
        .unwrap();
    let n = events
        .items
        .iter()
        .filter(|i| i.data["action"] == "Update Configuration" && i.data["target"]["id"] == "feed.reactions")
        .count();
    assert_eq!(
        n,
        wins.len(),
        "exactly one event per successful write ({} of 50 won)",
        wins.len()
    );
}

pub async fn platform_admins_manage_the_catalogue(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.token(Role::PlatformAdmin).to_string();
    let (s, cat) = call(&app, "GET", "/settings-catalogue", app.token(Role::PartnerUser), None).await;
    assert_eq!(
        (s, cat["settings"].as_array().map(Vec::len)),
        (200, Some(12)),
        "the seeded catalogue: {cat}"
    );
    let entry = |version: &Value| json!({ "name": "Chat", "description": "Direct messages.", "group": "general", "restricted": true, "defaultEnabled": true, "version": version });
    assert_eq!(
        call(
            &app,
            "PUT",
            "/settings-catalogue/chat.enabled",
            app.token(Role::PartnerManager),
            Some(entry(&cat["version"]))
        )
        .await
        .0,
        403
    );
    assert_eq!(
        call(
            &app,
            "PUT",
            "/settings-catalogue/chat.enabled",
            &admin,
            Some(entry(&json!(99)))
        )
        .await
        .0,
        409
    );
    assert_eq!(
        call(
            &app,
            "PUT",
            "/settings-catalogue/Not A Key",
            &admin,
            Some(entry(&cat["version"]))
        )
        .await
        .0,
        400
    );
    let (s, cat) = call(
        &app,
        "PUT",
        "/settings-catalogue/chat.enabled",
        &admin,
        Some(entry(&cat["version"])),
    )
    .await;
    assert_eq!((s, cat["settings"].as_array().map(Vec::len)), (200, Some(13)), "{cat}");
    let customer = app.orgs[&Role::CustomerAccountOwner];
    let (_, page) = call(
        &app,
        "GET",
        &format!("/customers/{customer}/settings"),
        app.token(Role::PartnerUser),
        None,
    )
    .await;
    let row = setting(&page, "chat.enabled");
    assert_eq!(
        (
            row["enabled"].as_bool(),
            row["version"].as_u64(),
            row["readOnlyReason"].as_str()
        ),
        (Some(true), Some(0), Some("restricted")),
        "the default, restricted: {row}"
    );
}

macro_rules! on_backend {
    ($name:ident, $backend:expr) => {
        mod $name {
            #[tokio::test]
            async fn platform_admins_manage_the_catalogue() {
                super::platform_admins_manage_the_catalogue($backend).await
            }
            #[tokio::test]
            async fn decision_table() {
                super::decision_table($backend).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn concurrent_toggles_lose_no_update() {
                super::concurrent_toggles_lose_no_update($backend).await
            }
        }
    };
}

on_backend!(embedded_sqlite, portico_tests::Backend::Sqlite);
on_backend!(dynamodb_local, portico_tests::Backend::Dynamo);
