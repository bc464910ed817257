//! Unit tests of the parsed-once types and entity rules.
use super::*;

#[test]
fn email_rejects_header_injection_and_normalises() {
    for bad in [
        "a@b.com\r\nBcc: x@y.com",
        "a@b.com\n",
        "",
        "no-at",
        "a@localhost",
        "a b@c.com",
        "<a@b.com>",
        "a@b.com,c@d.com",
    ] {
        assert!(EmailAddress::parse(bad).is_err(), "{bad:?} should be rejected");
    }
    assert_eq!(
        EmailAddress::parse(" Ann@Example.COM ").unwrap().as_str(),
        "ann@example.com"
    );
}

#[test]
fn org_names_are_bounded() {
    assert!(OrgName::parse("A").is_err());
    assert!(OrgName::parse(&"x".repeat(101)).is_err());
    assert!(OrgName::parse("Acme\u{7}").is_err());
    assert_eq!(OrgName::parse("  Acme Ltd ").unwrap().as_str(), "Acme Ltd");
}

#[test]
fn trusted_ranges_parse_and_match_both_families() {
    assert_eq!(
        parse_trusted_range(" 203.0.113.7/24 ").unwrap().to_string(),
        "203.0.113.0/24"
    );
    assert_eq!(
        parse_trusted_range("2001:db8::1/32").unwrap().to_string(),
        "2001:db8::/32"
    );
    assert_eq!(
        parse_trusted_range("198.51.100.9").unwrap().to_string(),
        "198.51.100.9/32"
    );
    for bad in ["", "10.0.0.0/33", "0.0.0.0/0", "::/0", "example.com", "10.0.0.0/8/8"] {
        assert!(parse_trusted_range(bad).is_err(), "{bad:?}");
    }
    // Two halves of everything, and anything wider than /16 (IPv4) or /32 (IPv6).
    for wide in [
        "0.0.0.0/1",
        "128.0.0.0/1",
        "::/1",
        "8000::/1",
        "10.0.0.0/8",
        "172.16.0.0/15",
        "2001:db8::/31",
    ] {
        assert!(parse_trusted_range(wide).is_err(), "{wide:?}");
    }
    for narrow in ["172.16.0.0/16", "2001:db8::/32", "2001:db8::/48"] {
        assert!(parse_trusted_range(narrow).is_ok(), "{narrow:?}");
    }
    let mut o = Organization::new(
        OrgId(Uuid::nil()),
        OrgName::parse("Acme").unwrap(),
        OrgKind::Partner,
        None,
        Utc::now(),
    )
    .unwrap();
    o.trusted_ranges = vec!["203.0.113.0/24".into(), "2001:db8::/32".into()];
    assert!(o.trusts("203.0.113.200"));
    assert!(o.trusts("2001:db8:0:1::5"));
    assert!(!o.trusts("203.0.114.1"));
    assert!(!o.trusts("unknown"));
}

#[test]
fn only_customers_have_a_partner_of_record() {
    let now = Utc::now();
    let name = OrgName::parse("Acme").unwrap();
    let p = OrgId(Uuid::nil());
    assert!(Organization::new(OrgId(Uuid::nil()), name.clone(), OrgKind::Customer, None, now).is_err());
    assert!(Organization::new(OrgId(Uuid::nil()), name.clone(), OrgKind::Partner, Some(p), now).is_err());
    assert!(Organization::new(OrgId(Uuid::nil()), name, OrgKind::Customer, Some(p), now).is_ok());
}

#[test]
fn passwords_must_be_hard_to_guess() {
    let email = EmailAddress::parse("gloria@globex.example.com").unwrap();
    for weak in [
        "            ",
        "Password123!",
        "qwertyuiopas",
        "gloriagloria",
        "globex.example.com1",
    ] {
        let Err(e) = Password::parse(weak, &email) else {
            panic!("{weak:?} was accepted");
        };
        assert!(e.detail().contains("password"), "{weak:?}: {}", e.detail());
    }
    let e = Password::parse("Password123!", &email).map(|_| ()).unwrap_err();
    assert!(e.detail().contains("too easy to guess"), "{}", e.detail());
    for strong in [
        "Correct horse battery staple 42!",
        "A different long passphrase 9",
        "Another long passphrase 7",
    ] {
        assert!(Password::parse(strong, &email).is_ok(), "{strong:?}");
    }
}

#[test]
fn names_are_nfc_visible_and_unique_by_skeleton() {
    assert_eq!(OrgName::parse(" Cafe\u{301} Ltd ").unwrap().as_str(), "Caf\u{e9} Ltd");
    for bad in [
        "Evil\u{202E}corp",
        "Zero\u{200B}width",
        "BOM\u{FEFF}Inc",
        "Private\u{E000}Use",
        "Non\u{FDD0}char",
        "Non\u{FFFF}char",
        "Filler\u{3164}Co",
        "Line\u{2028}Sep",
    ] {
        assert!(OrgName::parse(bad).is_err(), "{bad:?}");
        assert!(DisplayName::parse(bad).is_err(), "{bad:?}");
    }
    let latin = OrgName::parse("Northwind Partners").unwrap();
    let cyrillic = OrgName::parse("N\u{43E}rthwind Partners").unwrap();
    assert_ne!(latin.as_str(), cyrillic.as_str());
    assert_eq!(latin.skeleton(), cyrillic.skeleton(), "confusable");
    assert_eq!(
        latin.skeleton(),
        OrgName::parse("NORTHWIND partners").unwrap().skeleton(),
        "case"
    );
    assert_ne!(
        latin.skeleton(),
        OrgName::parse("Northwind Partner").unwrap().skeleton()
    );
}

#[test]
fn a_link_hash_reads_from_its_string_and_from_the_key_users_held_before() {
    let hash = LinkHash::of("token");
    let now: LinkHash = serde_json::from_value(serde_json::json!(hash.as_str())).unwrap();
    let before: LinkHash =
        serde_json::from_value(serde_json::json!({ "pk": format!("LINK#{}", hash.as_str()), "sk": "LINK" })).unwrap();
    assert_eq!(now, hash);
    assert_eq!(before, hash);
    assert_eq!(serde_json::to_value(&hash).unwrap(), serde_json::json!(hash.as_str()));
}
