//! Seed 003's staff list and a customer's self-administration (issue 15),
//! on both backends: the Account Owner invites a System Administrator and
//! an Account Owner; the System Administrator manages users but not Account
//! Owners; Northwind's Partner Manager (users.manage, by the default
//! delegation) assigns an Account Owner; the customer always keeps one; a
//! removed user's token stops working at once; each change is an event.

use portico_core::domain::Role;
use portico_tests::{Backend, TestApp};
use serde_json::json;

async fn staff_and_self_administration(b: Backend) {
    let app = TestApp::spawn(b).await;
    let customer = app.orgs[&Role::CustomerAccountOwner];
    let cora = app.users[&Role::CustomerAccountOwner];
    let owner = app.token(Role::CustomerAccountOwner);
    let staff = format!("/customers/{customer}/staff");
    let run = uuid::Uuid::new_v4().simple().to_string();
    let email = |who: &str| format!("{who}-{run}@contoso.example.com");
    let invite = |who: &str, role: &str| json!({ "email": email(who), "displayName": who, "role": role });

    let (s, list) = app.get_json(&staff, owner).await;
    assert_eq!((s, list["items"].as_array().map(Vec::len)), (200, Some(1)), "{list}");
    // Cora invites Sam as System Administrator; Sam sets up and signs in.
    let (s, sam) = app.post(&staff, Some(owner), invite("sam", "customer_admin")).await;
    assert_eq!((s, &sam["status"]), (201, &json!("pending")), "{sam}");
    let sam_id = sam["id"].as_str().unwrap().to_string();
    let (sam_token, _, _) = app.set_up_account(&email("sam")).await;
    // Cora cannot step down: she is the only active Account Owner.
    let (s, body) = app
        .put(&format!("{staff}/{cora}"), owner, json!({ "role": "customer_user" }))
        .await;
    assert_eq!(s, 409, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("only active Account Owner"),
        "{body}"
    );

    // Sam manages users, not Account Owners.
    let (s, _) = app.get_json(&staff, &sam_token).await;
    assert_eq!(s, 200);
    let (s, cy) = app.post(&staff, Some(&sam_token), invite("cy", "customer_user")).await;
    assert_eq!(s, 201, "{cy}");
    let cy_id = cy["id"].as_str().unwrap().to_string();
    let (s, body) = app
        .post(&staff, Some(&sam_token), invite("ann", "customer_account_owner"))
        .await;
    assert_eq!(s, 403, "a System Administrator invites no Account Owner: {body}");
    let (s, _) = app
        .put(
            &format!("{staff}/{cora}"),
            &sam_token,
            json!({ "role": "customer_user" }),
        )
        .await;
    assert_eq!(s, 403, "nor changes one");
    let (s, body) = app
        .put(
            &format!("{staff}/{cy_id}"),
            &sam_token,
            json!({ "role": "customer_admin" }),
        )
        .await;
    assert_eq!((s, &body["role"]), (200, &json!("customer_admin")), "{body}");
    // Cy sets up, then Sam removes Cy: Cy's token stops working at once.
    let (cy_token, _, _) = app.set_up_account(&email("cy")).await;
    let (s, why) = app.get_json(&staff, &cy_token).await;
    assert_eq!(s, 200, "a System Administrator now: {why}");
    let request = app
        .http
        .delete(app.url(&format!("{staff}/{cy_id}")))
        .bearer_auth(&sam_token)
        .send()
        .await
        .unwrap();
    assert_eq!(request.status(), 200);
    let (s, _) = app.get_json(&staff, &cy_token).await;
    assert_eq!(s, 401, "removed: no request of Cy's is served");
    let (_, list) = app.get_json(&staff, owner).await;
    assert!(!list.to_string().contains(&email("cy")), "{list}");

    // Northwind's Partner Manager (users.manage at Contoso) makes Sam an
    // Account Owner; a Partner User may not; then Cora may step down.
    let (s, body) = app
        .put(
            &format!("{staff}/{sam_id}"),
            app.token(Role::PartnerManager),
            json!({ "role": "customer_account_owner" }),
        )
        .await;
    assert_eq!((s, &body["role"]), (200, &json!("customer_account_owner")), "{body}");
    let (s, _) = app.get_json(&staff, app.token(Role::PartnerUser)).await;
    assert_eq!(s, 403, "a Partner User manages no staff");
    let (s, body) = app
        .put(&format!("{staff}/{cora}"), owner, json!({ "role": "customer_user" }))
        .await;
    assert_eq!(s, 200, "{body}");
    // Not a customer role; another customer's user; an unknown user.
    let (s, _) = app
        .put(
            &format!("{staff}/{sam_id}"),
            &sam_token,
            json!({ "role": "platform_admin" }),
        )
        .await;
    assert_eq!(s, 400);
    let manager_id = app.users[&Role::PartnerManager];
    let (s, _) = app
        .put(
            &format!("{staff}/{manager_id}"),
            &sam_token,
            json!({ "role": "customer_user" }),
        )
        .await;
    assert_eq!(s, 404, "not Contoso's user");

    // The events: Contoso's log has each; Northwind's has its manager's change.
    let (_, log) = app
        .get_json(
            &format!("/organizations/{customer}/activity?action=Update%20User%20Groups%2CInvite%20User&limit=50"),
            app.token(Role::PlatformAdmin),
        )
        .await;
    let said: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["description"].as_str().unwrap())
        .collect();
    for expected in [
        "invited sam-",
        "invited cy-",
        "System Administrator of Contoso Ltd (was user)",
        "removed cy-",
        "Account Owner of Contoso Ltd (was System Administrator)",
        "user of Contoso Ltd (was Account Owner)",
    ] {
        assert!(said.iter().any(|d| d.contains(expected)), "{expected}: {said:#?}");
    }
    let partner = app.orgs[&Role::PartnerManager];
    let (_, theirs) = app
        .get_json(
            &format!("/organizations/{partner}/activity?action=Update%20User%20Groups&limit=50"),
            app.token(Role::PlatformAdmin),
        )
        .await;
    assert!(theirs.to_string().contains("Account Owner of Contoso Ltd"), "{theirs}");
}

both_backends!(staff_and_self_administration);
