//! Who may do what, as the policies decide it: every role × every action ×
//! every relationship between the caller's organisation and the resource,
//! evaluated by `authz` (checked against the schema), written out as
//! `docs/permissions.md`. The test fails when the file differs from what the
//! policies say; `PORTICO_WRITE_PERMISSIONS=1` rewrites it.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use portico_core::authz::{Action, Authz, Held, OrgFacts, Principal};
use portico_core::delegations::{
    Capability, Catalogue, Delegation, Parties, RoleKey, StartedBy, UserDelegatedRoles, user_capabilities,
};
use portico_core::domain::{EmailAddress, OrgId, OrgKind, Role, UserId};
use portico_core::settings::{SettingDefinition, SettingGroup, SettingKey};

fn org(n: u128, kind: OrgKind, partner: Option<OrgId>) -> OrgFacts {
    OrgFacts {
        id: OrgId(uuid::Uuid::from_u128(n)),
        kind,
        partner_of_record: partner,
        allows: (kind == OrgKind::Partner).then(Default::default),
    }
}

struct World {
    platform: OrgFacts,
    partner: OrgFacts,
    other_partner: OrgFacts,
    customer: OrgFacts,
    other_customer: OrgFacts,
}

impl World {
    fn new() -> Self {
        let partner = org(2, OrgKind::Partner, None);
        let other_partner = org(3, OrgKind::Partner, None);
        Self {
            platform: org(1, OrgKind::Platform, None),
            customer: org(4, OrgKind::Customer, Some(partner.id)),
            other_customer: org(5, OrgKind::Customer, Some(other_partner.id)),
            partner,
            other_partner,
        }
    }

    /// The caller's organisation for a role.
    fn home(&self, role: Role) -> OrgFacts {
        match role {
            Role::PlatformAdmin => self.platform,
            Role::PartnerManager | Role::PartnerUser => self.partner,
            Role::CustomerAccountOwner | Role::CustomerAdmin | Role::CustomerUser => self.customer,
        }
    }

    /// Every organisation, named as the holder of `role` sees it.
    fn as_seen_by(&self, role: Role) -> Vec<(&'static str, OrgFacts)> {
        match role {
            Role::PlatformAdmin => vec![
                ("own organisation", self.platform),
                ("partners", self.partner),
                ("customers", self.customer),
            ],
            Role::PartnerManager | Role::PartnerUser => vec![
                ("own organisation", self.partner),
                ("its customers", self.customer),
                ("other partners", self.other_partner),
                ("others' customers", self.other_customer),
                ("the platform", self.platform),
            ],
            Role::CustomerAccountOwner | Role::CustomerAdmin | Role::CustomerUser => vec![
                ("own organisation", self.customer),
                ("its partner", self.partner),
                ("other customers", self.other_customer),
                ("the platform", self.platform),
            ],
        }
    }
}

fn principal(role: Role, home: OrgFacts) -> Principal {
    Principal {
        user_id: UserId(uuid::Uuid::from_u128(100)),
        email: EmailAddress::parse("someone@example.com").unwrap(),
        org_id: home.id,
        org_kind: home.kind,
        role,
        settings_hidden: false,
    }
}

fn setting(group: SettingGroup, restricted: bool) -> SettingDefinition {
    SettingDefinition {
        key: SettingKey::parse("some.setting").unwrap(),
        name: "Some setting".into(),
        description: "A setting.".into(),
        group,
        restricted,
        default_enabled: false,
    }
}

/// What a partner's user holds at `o` in the main tables: every capability
/// at its customers (the platform's default delegation, Decision Maker to
/// every user of the partner of record), nothing elsewhere.
fn held_at(p: &Principal, o: &OrgFacts) -> Held {
    if p.org_kind == OrgKind::Partner && o.partner_of_record == Some(p.org_id) {
        Capability::ALL.into_iter().collect()
    } else {
        Held::new()
    }
}

const ROLES: [Role; 6] = [
    Role::PlatformAdmin,
    Role::PartnerManager,
    Role::PartnerUser,
    Role::CustomerAccountOwner,
    Role::CustomerAdmin,
    Role::CustomerUser,
];

fn generate(authz: &Authz) -> String {
    let w = World::new();
    let mut out = String::from(
        "# Who may do what\n\n\
         Generated from `shared/policies/portico.cedar` by `tests/tests/all/permissions.rs`\n\
         (a test fails when this file and the policies disagree; `PORTICO_WRITE_PERMISSIONS=1`\n\
         rewrites it). Each cell lists the organisations the role may act on, named from the\n\
         role's side: a partner's *customers* are those whose partner of record it is; a\n\
         customer's *partner* is its partner of record. Anything not listed is refused.\n\n\
         At its customers a partner's users are taken to hold every capability (the\n\
         platform's default delegation: Decision Maker, held by every user of the partner of\n\
         record); what each delegated role and relationship state allows is in the\n\
         capability table at the end.\n\n",
    );
    out.push_str("| action |");
    for r in ROLES {
        out.push_str(&format!(" {} |", r.as_str()));
    }
    out.push_str("\n|---|");
    for _ in ROLES {
        out.push_str("---|");
    }
    out.push('\n');
    for action in Action::ALL {
        out.push_str(&format!("| {} |", action.name()));
        for role in ROLES {
            let p = principal(role, w.home(role));
            let allowed: Vec<&str> = w
                .as_seen_by(role)
                .into_iter()
                .filter(|(_, o)| authz.is_allowed_holding(&p, action, o, &held_at(&p, o)).unwrap())
                .map(|(label, _)| label)
                .collect();
            out.push_str(&format!(" {} |", cell(&allowed)));
        }
        out.push('\n');
    }
    out.push_str(
        "\n## Changing one setting of a customer\n\n\
         By the setting's kind; a grant is a Partner Manager's grant of that very setting.\n\n",
    );
    out.push_str("| setting |");
    for r in ROLES {
        out.push_str(&format!(" {} |", r.as_str()));
    }
    out.push_str("\n|---|");
    for _ in ROLES {
        out.push_str("---|");
    }
    out.push('\n');
    let kinds = [
        ("general", setting(SettingGroup::General, false), false),
        ("restricted", setting(SettingGroup::General, true), false),
        ("restricted, with a grant", setting(SettingGroup::General, true), true),
        ("paid add-on", setting(SettingGroup::PaidAddOn, false), false),
    ];
    for (name, def, granted) in kinds {
        out.push_str(&format!("| {name} |"));
        let grants = if granted { vec![def.key.clone()] } else { vec![] };
        for role in ROLES {
            let p = principal(role, w.home(role));
            let allowed: Vec<&str> = w
                .as_seen_by(role)
                .into_iter()
                .filter(|(_, o)| o.kind == OrgKind::Customer)
                .filter(|(_, o)| {
                    authz
                        .setting_access(&p, &grants, &held_at(&p, o), o, &def)
                        .unwrap()
                        .is_none()
                })
                .map(|(label, _)| label)
                .collect();
            out.push_str(&format!(" {} |", cell(&allowed)));
        }
        out.push('\n');
    }
    out.push_str(&capability_table(authz, &w));
    out
}

/// The capability-bound actions.
const BY_CAPABILITY: [(&str, Action); 5] = [
    ("settings.manage: change a general setting", Action::ViewSettings),
    ("instance.login", Action::LogInToInstance),
    ("users.manage", Action::ManageStaff),
    ("billing.view", Action::ViewBilling),
    ("activity.view", Action::ViewActivity),
];

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-01T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// Roles × capabilities × relationship states: a partner user who is a
/// member of the delegation's group for each role, at a customer of their
/// partner and at a customer that delegated to them without being theirs
/// (an authorized contact), with the delegation in each state, decided by
/// the policies from the capabilities the state leaves them.
fn capability_table(authz: &Authz, w: &World) -> String {
    let catalogue = Catalogue::seeded();
    let mut out = String::from(
        "\n## Delegated roles: capabilities by relationship state\n\n\
         A partner's user in the group of the role (or every user, for the default delegation),\n\
         at the customer, with the delegation in each state. ✓ allowed, — refused. The same\n\
         holds at a customer that is not the partner's own (an authorized contact): only a\n\
         delegation names a customer and a partner together. Staff (users.manage) is a\n\
         Partner Manager's; a customer's Account Owner manages its own users regardless.\n\n",
    );
    out.push_str("| partner role | role held | state | customer |");
    let columns = [
        "change a general setting",
        "LogMeIn",
        "manage users (staff)",
        "invoices and payments",
        "activity log",
    ];
    for c in columns {
        out.push_str(&format!(" {c} |"));
    }
    out.push_str("\n|---|---|---|---|");
    for _ in columns {
        out.push_str("---|");
    }
    out.push('\n');
    let stranger = OrgFacts {
        id: OrgId(uuid::Uuid::from_u128(6)),
        kind: OrgKind::Customer,
        partner_of_record: Some(w.other_partner.id),
        allows: None,
    };
    let general = setting(portico_core::settings::SettingGroup::General, false);
    for who in [Role::PartnerManager, Role::PartnerUser] {
        let partner_user = principal(who, w.partner);
        for (role_name, role) in [("Decision Maker", "decision-maker"), ("Phone Manager", "phone-manager")] {
            for (state, d) in states(role) {
                for (label, customer) in [("its own", w.customer), ("another's", stranger)] {
                    let mine = UserDelegatedRoles {
                        roles: d.groups.clone(),
                    };
                    let held = user_capabilities(&catalogue, t0(), Some(&d), Some(&mine), None);
                    out.push_str(&format!("| {} | {role_name} | {state} | {label} |", who.as_str()));
                    for (i, (_, action)) in BY_CAPABILITY.iter().enumerate() {
                        let allowed = if i == 0 {
                            authz
                                .setting_access(&partner_user, &[], &held, &customer, &general)
                                .unwrap()
                                .is_none()
                        } else {
                            authz
                                .is_allowed_holding(&partner_user, *action, &customer, &held)
                                .unwrap()
                        };
                        // The table states what the catalogue says: a cell
                        // allowed exactly when the role gives the capability
                        // and the state grants (staff: Partner Managers only).
                        let cap = Capability::ALL[i];
                        let expected = d.state(t0()).grants()
                            && catalogue.capabilities(&d.roles).contains(&cap)
                            && (cap != Capability::UsersManage || who == Role::PartnerManager);
                        assert_eq!(allowed, expected, "{role_name} {state} {label}: {}", cap.as_str());
                        out.push_str(if allowed { " ✓ |" } else { " — |" });
                    }
                    out.push('\n');
                }
            }
        }
    }
    out
}

/// A delegation of `role` in each state at [`t0`].
fn states(role: &str) -> Vec<(&'static str, Delegation)> {
    let parties = || Parties {
        customer_id: OrgId(uuid::Uuid::from_u128(4)),
        customer_name: "Contoso Ltd".into(),
        partner_id: OrgId(uuid::Uuid::from_u128(2)),
        contact_user: None,
    };
    let roles: BTreeSet<RoleKey> = [RoleKey::parse(role).unwrap()].into();
    let at = |days: i64| t0() - Duration::days(days);
    let granted = |term: Option<u32>, ago: i64| {
        Delegation::new(parties(), roles.clone(), term, false, StartedBy::Customer, at(ago))
    };
    let requested = Delegation::new(parties(), roles.clone(), Some(90), false, StartedBy::Partner, at(1));
    let lapsed = Delegation::new(parties(), roles.clone(), Some(90), false, StartedBy::Partner, at(91));
    let mut revoked = granted(None, 5);
    revoked.revoked_at = Some(at(1));
    revoked.close_groups();
    vec![
        ("active", granted(None, 5)),
        ("expiring", granted(Some(40), 20)),
        ("expired", granted(Some(10), 20)),
        ("requested", requested),
        ("requested, lapsed", lapsed),
        ("revoked", revoked),
    ]
}

fn cell(allowed: &[&str]) -> String {
    if allowed.is_empty() {
        "—".into()
    } else {
        allowed.join(", ")
    }
}

#[test]
fn docs_permissions_md_says_what_the_policies_decide() {
    let authz = Authz::checked().unwrap();
    let table = generate(&authz);
    if std::env::var_os("PORTICO_WRITE_PERMISSIONS").is_some() {
        std::fs::write(portico_tests::repo_path("docs/permissions.md"), &table).unwrap();
    }
    let written = std::fs::read_to_string(portico_tests::repo_path("docs/permissions.md")).unwrap_or_default();
    assert!(
        written == table,
        "docs/permissions.md is not what the policies decide; rerun with PORTICO_WRITE_PERMISSIONS=1 and review the diff"
    );
}
