//! Who may do what, as the policies decide it: every role × every action ×
//! every relationship between the caller's organisation and the resource,
//! evaluated by `authz` (checked against the schema), written out as
//! `docs/permissions.md`. The test fails when the file differs from what the
//! policies say; `PORTICO_WRITE_PERMISSIONS=1` rewrites it.

use portico_core::authz::{Action, Authz, OrgFacts, Principal};
use portico_core::domain::{EmailAddress, OrgId, OrgKind, Role, UserId};
use portico_core::settings::{SettingDefinition, SettingGroup, SettingKey};

fn org(n: u128, kind: OrgKind, partner: Option<OrgId>) -> OrgFacts {
    OrgFacts {
        id: OrgId(uuid::Uuid::from_u128(n)),
        kind,
        partner_of_record: partner,
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
            Role::CustomerAccountOwner | Role::CustomerUser => self.customer,
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
            Role::CustomerAccountOwner | Role::CustomerUser => vec![
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

const ROLES: [Role; 5] = [
    Role::PlatformAdmin,
    Role::PartnerManager,
    Role::PartnerUser,
    Role::CustomerAccountOwner,
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
         customer's *partner* is its partner of record. Anything not listed is refused.\n\n",
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
                .filter(|(_, o)| authz.is_allowed(&p, action, o).unwrap())
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
                .filter(|(_, o)| authz.setting_access(&p, &grants, o, &def).unwrap().is_none())
                .map(|(label, _)| label)
                .collect();
            out.push_str(&format!(" {} |", cell(&allowed)));
        }
        out.push('\n');
    }
    out
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
