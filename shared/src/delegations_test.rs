use super::*;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-01T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn parties(contact: Option<&str>) -> Parties {
    Parties {
        customer_id: OrgId::parse("01a248ff-0000-7000-8000-000000000001").unwrap(),
        customer_name: "Contoso Ltd".into(),
        partner_id: OrgId::parse("01a248ff-0000-7000-8000-000000000002").unwrap(),
        contact_user: contact.map(|u| UserId::parse(u).unwrap()),
    }
}

fn key(k: &str) -> RoleKey {
    RoleKey::parse(k).unwrap()
}

fn roles(keys: &[&str]) -> BTreeSet<RoleKey> {
    keys.iter().map(|k| key(k)).collect()
}

fn granted(keys: &[&str], term: Option<u32>, auto_extend: bool) -> Delegation {
    Delegation::new(parties(None), roles(keys), term, auto_extend, StartedBy::Customer, t0())
}

fn days(n: i64) -> Duration {
    Duration::days(n)
}

#[test]
fn the_seeded_catalogue_is_seed_004s() {
    let cat = Catalogue::seeded();
    let dm = cat.capabilities(&roles(&["decision-maker"]));
    assert_eq!(dm, Capability::ALL.into_iter().collect());
    let pm = cat.capabilities(&roles(&["phone-manager"]));
    assert!(!pm.contains(&Capability::BillingView), "Phone Managers see no invoices");
    assert_eq!(pm.len(), 4);
    // The union of the groups' roles.
    assert_eq!(cat.capabilities(&roles(&["decision-maker", "phone-manager"])), dm);
    assert!(cat.capabilities(&roles(&["no-such-role"])).is_empty());
    assert!(cat.any_sensitive(&roles(&["decision-maker"])));
    assert!(!cat.any_sensitive(&roles(&["phone-manager"])));
    assert!(
        cat.any_sensitive(&roles(&["no-such-role"])),
        "unknown: never auto-extended"
    );
}

#[test]
fn group_names_are_the_customer_then_the_role() {
    let cat = Catalogue::seeded();
    let dm = cat.get(&key("decision-maker")).unwrap();
    let pm = cat.get(&key("phone-manager")).unwrap();
    assert_eq!(group_name("Contoso Ltd", dm), "Contoso Ltd Decision Maker");
    assert_eq!(group_name(" Contoso Ltd ", pm), "Contoso Ltd Phone Manager");
}

#[test]
fn capabilities_and_keys_parse_and_print_as_documented() {
    for c in Capability::ALL {
        let json = serde_json::to_value(c).unwrap();
        assert_eq!(json, c.as_str());
        assert_eq!(serde_json::from_value::<Capability>(json).unwrap(), c);
    }
    for bad in ["", "Decision", "1role", "a_b", "a b", &"a".repeat(41)] {
        assert!(RoleKey::parse(bad).is_err(), "{bad:?}");
        assert!(serde_json::from_value::<RoleKey>(serde_json::json!(bad)).is_err());
    }
    assert!(RoleKey::parse(&"a".repeat(40)).is_ok());
    assert!(parse_term_days(0).is_err());
    assert!(parse_term_days(731).is_err());
    assert_eq!(parse_term_days(1), Ok(1));
    assert_eq!(parse_term_days(730), Ok(730));
}

#[test]
fn a_grant_is_active_then_expiring_then_expired_at_the_boundary() {
    let d = granted(&["phone-manager"], Some(90), false);
    let end = t0() + days(90);
    assert_eq!(d.ends_at, Some(end));
    assert_eq!(d.state(t0()), DelegationState::Active);
    let just_before = end - days(30) - Duration::seconds(1);
    assert_eq!(d.state(just_before), DelegationState::Active);
    assert_eq!(d.state(end - days(30)), DelegationState::Expiring);
    assert_eq!(d.state(end - Duration::seconds(1)), DelegationState::Expiring);
    assert_eq!(d.state(end), DelegationState::Expired);
    let cat = Catalogue::seeded();
    assert_eq!(d.capabilities(end - Duration::seconds(1), &cat).len(), 4);
    assert!(d.capabilities(end, &cat).is_empty(), "expired: nothing");
}

#[test]
fn without_a_term_it_stays_active_until_revoked() {
    let mut d = granted(&["decision-maker"], None, false);
    let cat = Catalogue::seeded();
    assert_eq!(d.state(t0() + days(3650)), DelegationState::Active);
    assert_eq!(d.next_due(&cat), None);
    assert_eq!(d.due(t0() + days(3650), &cat), None);
    d.revoked_at = Some(t0() + days(1));
    assert_eq!(d.state(t0() + days(1)), DelegationState::Revoked);
    assert!(d.capabilities(t0() + days(1), &cat).is_empty());
}

#[test]
fn a_partners_request_waits_for_approval_and_lapses_after_90_days() {
    let cat = Catalogue::seeded();
    let mut d = Delegation::new(
        parties(None),
        roles(&["phone-manager"]),
        Some(30),
        false,
        StartedBy::Partner,
        t0(),
    );
    assert_eq!(d.state(t0()), DelegationState::Requested);
    assert!(d.capabilities(t0(), &cat).is_empty(), "nothing until approved");
    assert_eq!(d.next_due(&cat), Some(t0() + days(90)));
    assert_eq!(d.due(t0() + days(90) - Duration::seconds(1), &cat), None);
    assert_eq!(d.state(t0() + days(90)), DelegationState::Expired);
    assert_eq!(d.due(t0() + days(90), &cat), Some(Due::End));
    // Approved in time: the term runs from the approval.
    d.approve(t0() + days(10));
    assert_eq!(d.ends_at, Some(t0() + days(40)));
    assert_eq!(d.state(t0() + days(10)), DelegationState::Expiring);
}

#[test]
fn reminders_at_30_7_and_1_days_each_once() {
    let cat = Catalogue::seeded();
    let mut d = granted(&["phone-manager"], Some(365), false);
    let end = t0() + days(365);
    assert_eq!(d.next_due(&cat), Some(end - days(30)));
    assert_eq!(d.due(end - days(31), &cat), None);
    for n in [30, 7, 1] {
        let at = end - days(i64::from(n));
        assert_eq!(d.next_due(&cat), Some(at));
        assert_eq!(d.due(at - Duration::seconds(1), &cat), None, "not yet");
        assert_eq!(d.due(at, &cat), Some(Due::Remind { days_before: n }));
        d.reminded(n);
        assert_eq!(d.due(at, &cat), None, "sent once");
    }
    assert_eq!(d.next_due(&cat), Some(end));
    assert_eq!(d.due(end, &cat), Some(Due::End));
}

#[test]
fn a_late_sweep_sends_only_the_most_urgent_reminder() {
    let cat = Catalogue::seeded();
    let mut d = granted(&["phone-manager"], Some(365), false);
    let end = t0() + days(365);
    assert_eq!(d.due(end - days(3), &cat), Some(Due::Remind { days_before: 7 }));
    d.reminded(7);
    assert_eq!(d.reminded, [7, 30].into_iter().collect());
    assert_eq!(d.next_due(&cat), Some(end - days(1)));
}

#[test]
fn auto_extend_adds_180_days_unless_a_role_is_sensitive() {
    let cat = Catalogue::seeded();
    let mut d = granted(&["phone-manager"], Some(30), true);
    let end = t0() + days(30);
    assert!(d.extends(&cat));
    assert_eq!(d.next_due(&cat), Some(end), "no reminders: it goes on");
    assert_eq!(d.due(end - days(1), &cat), None);
    assert_eq!(d.due(end, &cat), Some(Due::Extend { until: end + days(180) }));
    // A sweep that comes a year late extends past now in one step.
    assert_eq!(
        d.due(end + days(365), &cat),
        Some(Due::Extend { until: end + days(540) })
    );
    d.extend_to(end + days(180));
    assert_eq!(d.state(end), DelegationState::Active);
    // Decision Maker is sensitive: it ends.
    let dm = granted(&["decision-maker", "phone-manager"], Some(30), true);
    assert!(!dm.extends(&cat));
    assert_eq!(dm.due(end, &cat), Some(Due::End));
}

#[test]
fn a_member_holds_a_role_only_at_its_groups_current_generation() {
    let cat = Catalogue::seeded();
    let mut d = granted(&["decision-maker", "phone-manager"], None, false);
    assert_eq!(d.groups.len(), 2, "a group per granted role");
    let dm = key("decision-maker");
    let pm = key("phone-manager");
    let mine = UserDelegatedRoles {
        roles: [(pm.clone(), d.groups[&pm])].into_iter().collect(),
    };
    let caps = user_capabilities(&cat, t0(), Some(&d), Some(&mine), None);
    assert!(!caps.contains(&Capability::BillingView) && caps.contains(&Capability::SettingsManage));
    assert!(
        user_capabilities(&cat, t0(), Some(&d), None, None).is_empty(),
        "no group, nothing"
    );
    // Revoked and granted again: a new group; the old membership is dead.
    assert!(d.revoke_role(&pm));
    assert!(user_capabilities(&cat, t0(), Some(&d), Some(&mine), None).is_empty());
    d.grant_role(pm.clone(), t0());
    assert_ne!(d.groups[&pm], mine.roles[&pm], "a new generation");
    assert!(user_capabilities(&cat, t0(), Some(&d), Some(&mine), None).is_empty());
    // Its group's names.
    let group = DelegatedGroup::of(&d, cat.get(&dm).unwrap(), t0()).unwrap();
    assert_eq!(group.name, "Contoso Ltd Decision Maker");
    // A delegation that no longer grants gives nothing, groups or not.
    let closed = d.close_groups();
    assert_eq!(closed.len(), 2);
    assert!(DelegatedGroup::of(&d, cat.get(&dm).unwrap(), t0()).is_none());
}

#[test]
fn an_authorized_contact_holds_the_roles_in_person_without_groups() {
    let cat = Catalogue::seeded();
    let contact = parties(Some("01a248ff-0000-7000-8000-0000000000aa"));
    let mut d = Delegation::new(
        contact,
        roles(&["phone-manager"]),
        Some(10),
        false,
        StartedBy::Partner,
        t0(),
    );
    assert!(
        user_capabilities(&cat, t0(), None, None, Some(&d)).is_empty(),
        "not approved yet"
    );
    d.approve(t0());
    assert!(d.groups.is_empty(), "one person: no group");
    assert_eq!(user_capabilities(&cat, t0(), None, None, Some(&d)).len(), 4);
    assert!(
        user_capabilities(&cat, t0() + days(10), None, None, Some(&d)).is_empty(),
        "ended"
    );
}

#[test]
fn the_item_is_listed_for_the_partner_and_in_the_sweep_while_due() {
    let cat = Catalogue::seeded();
    let d = granted(&["phone-manager"], Some(60), false);
    let item = d.item(1, &cat).unwrap();
    assert_eq!(item.sk, format!("DELEGATION#{}", d.partner_id));
    assert_eq!(
        item.gsi1pk.as_deref(),
        Some(format!("ORG#{}#DELEGATIONS", d.partner_id).as_str())
    );
    assert!(item.gsi1sk.as_deref().unwrap().starts_with("contoso ltd#"));
    let due = (t0() + days(30)).timestamp_millis();
    assert!(item.gsi2sk.as_deref().unwrap().starts_with(&format!("{due:015}#")));
    let forever = granted(&["phone-manager"], None, false).item(1, &cat).unwrap();
    assert_eq!(forever.gsi2pk, None, "nothing ever due: not in the sweep's index");
    let back: Delegation = item.decode().unwrap();
    assert_eq!(back, d);
}

#[test]
fn a_new_delegation_numbers_its_groups_after_an_ended_one() {
    let mut old = granted(&["phone-manager"], None, false);
    let pm = key("phone-manager");
    let member = UserDelegatedRoles {
        roles: [(pm.clone(), old.groups[&pm])].into_iter().collect(),
    };
    old.revoked_at = Some(t0());
    old.close_groups();
    let new = granted(&["phone-manager"], None, false).after(Some(&old));
    assert!(new.groups[&pm] > member.roles[&pm]);
    let cat = Catalogue::seeded();
    assert!(user_capabilities(&cat, t0(), Some(&new), Some(&member), None).is_empty());
}

#[test]
fn the_default_delegation_is_held_by_every_user_of_the_partner() {
    let cat = Catalogue::seeded();
    let (d, groups) = default_delegation(&cat, parties(None), t0()).unwrap();
    assert!(d.everyone);
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].name, "Contoso Ltd Decision Maker");
    // No membership needed; narrowed, a membership is.
    assert_eq!(user_capabilities(&cat, t0(), Some(&d), None, None).len(), 5);
    let mut narrowed = d.clone();
    narrowed.everyone = false;
    assert!(user_capabilities(&cat, t0(), Some(&narrowed), None, None).is_empty());
    // None when the platform names no default roles, or for a person.
    let none = Catalogue {
        default_roles: BTreeSet::new(),
        ..Catalogue::seeded()
    };
    assert!(default_delegation(&none, parties(None), t0()).is_none());
    assert!(default_delegation(&cat, parties(Some("01a248ff-0000-7000-8000-000000000009")), t0()).is_none());
}

#[test]
fn an_ended_delegation_is_due_no_more() {
    let cat = Catalogue::seeded();
    let mut d = granted(&["phone-manager"], Some(10), false);
    let after = t0() + days(10);
    assert_eq!(d.due(after, &cat), Some(Due::End));
    let closed = d.end();
    assert_eq!(closed.len(), 1);
    assert_eq!(d.due(after + days(1), &cat), None);
    assert_eq!(d.next_due(&cat), None);
    assert_eq!(d.state(after), DelegationState::Expired);
}
