//! Authorization decisions, table-driven, straight from the Cedar policies.

use portico_core::authz::{Action, Authz, Held, OrgFacts, Principal};
use portico_core::delegations::Capability;
use portico_core::domain::{EmailAddress, OrgId, OrgKind, Role, UserId};
use uuid::Uuid;

fn id(n: u128) -> OrgId {
    OrgId(Uuid::from_u128(n))
}

const PLATFORM: u128 = 1;
const PARTNER_A: u128 = 2;
const PARTNER_B: u128 = 3;
const CUSTOMER_OF_A: u128 = 4;
const CUSTOMER_OF_B: u128 = 5;

fn who(role: Role, org: u128) -> Principal {
    Principal {
        user_id: UserId(Uuid::from_u128(1000 + org)),
        email: EmailAddress::parse("someone@example.com").unwrap(),
        org_id: id(org),
        org_kind: match org {
            PLATFORM => OrgKind::Platform,
            PARTNER_A | PARTNER_B => OrgKind::Partner,
            _ => OrgKind::Customer,
        },
        role,
        settings_hidden: false,
    }
}

fn org(n: u128) -> OrgFacts {
    match n {
        PLATFORM => OrgFacts {
            id: id(n),
            kind: OrgKind::Platform,
            partner_of_record: None,
            allows: None,
        },
        PARTNER_A | PARTNER_B => OrgFacts {
            id: id(n),
            kind: OrgKind::Partner,
            partner_of_record: None,
            allows: Some(Default::default()),
        },
        CUSTOMER_OF_A => OrgFacts {
            id: id(n),
            kind: OrgKind::Customer,
            partner_of_record: Some(id(PARTNER_A)),
            allows: None,
        },
        _ => OrgFacts {
            id: id(n),
            kind: OrgKind::Customer,
            partner_of_record: Some(id(PARTNER_B)),
            allows: None,
        },
    }
}

/// What a partner's user holds at `resource` by the platform's default
/// delegation (seed 000's partner of record: every capability at its own
/// customers), nothing elsewhere.
fn by_default(p: &Principal, resource: &OrgFacts) -> Held {
    if p.org_kind == OrgKind::Partner && resource.partner_of_record == Some(p.org_id) {
        Capability::ALL.into_iter().collect()
    } else {
        Held::new()
    }
}

/// The decision with the default delegation's capabilities held.
fn decide(authz: &Authz, p: &Principal, action: Action, resource: &OrgFacts) -> bool {
    authz
        .is_allowed_holding(p, action, resource, &by_default(p, resource))
        .unwrap()
}

#[test]
fn policies_validate_against_the_schema() {
    Authz::new().unwrap().validate().expect("strict validation");
}

#[test]
fn decision_table() {
    use Action::*;
    use Role::*;
    let authz = Authz::checked().unwrap();
    #[rustfmt::skip]
    let table: &[(Role, u128, Action, u128, bool)] = &[
        // role, principal's org, action, resource org, allowed
        (PlatformAdmin, PLATFORM, CreateOrganization, PARTNER_A, true),
        // The activity log: the platform reads all; partners their own and their customers'; customers their own.
        (PlatformAdmin, PLATFORM, ViewActivity, CUSTOMER_OF_B, true),
        (PlatformAdmin, PLATFORM, ViewActivity, PARTNER_A, true),
        (PlatformAdmin, PLATFORM, ManageActivityRetention, CUSTOMER_OF_A, true),
        // Restoring suspended users: their Partner Manager asks, the platform reinstates.
        (PartnerManager, PARTNER_A, RequestRestore, PARTNER_A, true),
        (PartnerManager, PARTNER_A, RequestRestore, PARTNER_B, false),
        (PartnerUser, PARTNER_A, RequestRestore, PARTNER_A, false),
        (PlatformAdmin, PLATFORM, RequestRestore, PARTNER_A, true),
        (PlatformAdmin, PLATFORM, ReinstateUser, PARTNER_A, true),
        (PartnerManager, PARTNER_A, ReinstateUser, PARTNER_A, false),
        (PartnerManager, PARTNER_A, ReinstateUser, PLATFORM, false),
        (CustomerAccountOwner, CUSTOMER_OF_A, ReinstateUser, CUSTOMER_OF_A, false),
        (PartnerManager, PARTNER_A, ViewActivity, PARTNER_A, true),
        (PartnerUser, PARTNER_A, ViewActivity, PARTNER_A, true),
        (PartnerManager, PARTNER_A, ViewActivity, CUSTOMER_OF_A, true),
        (PartnerUser, PARTNER_A, ViewActivity, CUSTOMER_OF_A, true),
        (PartnerManager, PARTNER_A, ViewActivity, CUSTOMER_OF_B, false),
        (PartnerManager, PARTNER_A, ViewActivity, PARTNER_B, false),
        (PartnerManager, PARTNER_A, ViewActivity, PLATFORM, false),
        (PartnerManager, PARTNER_A, ManageActivityRetention, PARTNER_A, false),
        (CustomerAccountOwner, CUSTOMER_OF_A, ViewActivity, CUSTOMER_OF_A, true),
        (CustomerUser, CUSTOMER_OF_A, ViewActivity, CUSTOMER_OF_A, true),
        (CustomerAccountOwner, CUSTOMER_OF_A, ViewActivity, PARTNER_A, false),
        (CustomerAccountOwner, CUSTOMER_OF_A, ViewActivity, CUSTOMER_OF_B, false),
        (CustomerAccountOwner, CUSTOMER_OF_A, ManageActivityRetention, CUSTOMER_OF_A, false),
        // Verifying the chain: managers and the platform, not every reader (issue 10).
        (PlatformAdmin, PLATFORM, VerifyActivity, CUSTOMER_OF_B, true),
        (PartnerManager, PARTNER_A, VerifyActivity, PARTNER_A, true),
        (PartnerManager, PARTNER_A, VerifyActivity, CUSTOMER_OF_A, true),
        (PartnerManager, PARTNER_A, VerifyActivity, CUSTOMER_OF_B, false),
        (PartnerUser, PARTNER_A, VerifyActivity, PARTNER_A, false),
        (PartnerUser, PARTNER_A, VerifyActivity, CUSTOMER_OF_A, false),
        (CustomerAccountOwner, CUSTOMER_OF_A, VerifyActivity, CUSTOMER_OF_A, true),
        (CustomerUser, CUSTOMER_OF_A, VerifyActivity, CUSTOMER_OF_A, false),
        (CustomerAccountOwner, CUSTOMER_OF_A, VerifyActivity, PARTNER_A, false),
        (PlatformAdmin, PLATFORM, CreateOrganization, CUSTOMER_OF_A, true),
        (PlatformAdmin, PLATFORM, ViewOrganization, CUSTOMER_OF_B, true),
        (PlatformAdmin, PLATFORM, ViewOrganization, PARTNER_B, true),
        // A "platform_admin" role outside the platform organisation is worth nothing.
        (PlatformAdmin, PARTNER_A, ViewOrganization, CUSTOMER_OF_B, false),
        (PlatformAdmin, PARTNER_A, CreateOrganization, PARTNER_B, false),
        (PartnerManager, PARTNER_A, CreateOrganization, CUSTOMER_OF_A, false),
        (PartnerManager, PARTNER_A, CreateOrganization, PARTNER_B, false),
        (PartnerManager, PARTNER_A, ViewOrganization, PARTNER_A, true),
        (PartnerManager, PARTNER_A, ViewOrganization, CUSTOMER_OF_A, true),
        (PartnerManager, PARTNER_A, ViewOrganization, CUSTOMER_OF_B, false),
        (PartnerManager, PARTNER_A, ViewOrganization, PARTNER_B, false),
        (PartnerManager, PARTNER_A, ViewOrganization, PLATFORM, false),
        (PartnerUser, PARTNER_A, ViewOrganization, CUSTOMER_OF_A, true),
        (PartnerUser, PARTNER_A, ViewOrganization, CUSTOMER_OF_B, false),
        (PartnerUser, PARTNER_B, ViewOrganization, CUSTOMER_OF_B, true),
        (PartnerUser, PARTNER_A, CreateOrganization, CUSTOMER_OF_A, false),
        (CustomerAccountOwner, CUSTOMER_OF_A, ViewOrganization, CUSTOMER_OF_A, true),
        (CustomerAccountOwner, CUSTOMER_OF_A, ViewOrganization, PARTNER_A, false),
        (CustomerAccountOwner, CUSTOMER_OF_A, ViewOrganization, CUSTOMER_OF_B, false),
        (CustomerAccountOwner, CUSTOMER_OF_A, CreateOrganization, CUSTOMER_OF_A, false),
        (CustomerUser, CUSTOMER_OF_B, ViewOrganization, CUSTOMER_OF_B, true),
        (CustomerUser, CUSTOMER_OF_B, ViewOrganization, CUSTOMER_OF_A, false),
        // The actions that had borrowed another's rule (issue 11).
        (PlatformAdmin, PLATFORM, ListRestoreRequests, PLATFORM, true),
        (PartnerManager, PARTNER_A, ListRestoreRequests, PARTNER_A, false),
        (PlatformAdmin, PLATFORM, RunSweep, PLATFORM, true),
        (PartnerManager, PARTNER_A, RunSweep, PARTNER_A, false),
        (PlatformAdmin, PLATFORM, ApproveUserRequest, PARTNER_A, true),
        (PlatformAdmin, PLATFORM, ApproveUserRequest, CUSTOMER_OF_A, false),
        (PartnerManager, PARTNER_A, ApproveUserRequest, PARTNER_A, false),
        (PartnerUser, PARTNER_A, ViewCatalogue, PARTNER_A, true),
        (CustomerUser, CUSTOMER_OF_A, ViewCatalogue, CUSTOMER_OF_A, true),
        (CustomerUser, CUSTOMER_OF_A, ViewCatalogue, PLATFORM, false),
    ];
    for &(role, from, action, resource, allowed) in table {
        let got = decide(&authz, &who(role, from), action, &org(resource));
        assert_eq!(got, allowed, "{role:?} of org {from} {action:?} on org {resource}");
    }
}

/// The roles a Partner Manager may ask the platform for: its own partner's.
#[test]
fn a_user_request_names_a_partner_role() {
    let authz = Authz::checked().unwrap();
    let manager = who(Role::PartnerManager, PARTNER_A);
    for (role, allowed) in [
        (Role::PartnerManager, true),
        (Role::PartnerUser, true),
        (Role::CustomerAccountOwner, false),
        (Role::CustomerUser, false),
        (Role::PlatformAdmin, false),
    ] {
        assert_eq!(
            authz.may_request_role(&manager, &org(PARTNER_A), role).unwrap(),
            allowed,
            "{role:?}"
        );
    }
    let user = who(Role::PartnerUser, PARTNER_A);
    assert!(
        !authz
            .may_request_role(&user, &org(PARTNER_A), Role::PartnerUser)
            .unwrap()
    );
}

/// The Partner Support profile and instance access (issue 14), from every
/// role of every kind of organisation: no customer role may change or
/// delete the profile (a forbid, whatever else permits); only platform
/// admins change its roles, and no one deletes it. Consent is the
/// customer's Account Owner's; asking and LogMeIn are the partner of
/// record's users'; the signing keys are the platform's.
#[test]
fn instance_access_decisions() {
    use Action::*;
    use Role::*;
    let authz = Authz::checked().unwrap();
    let everyone: &[(Role, u128)] = &[
        (PlatformAdmin, PLATFORM),
        (PartnerManager, PARTNER_A),
        (PartnerUser, PARTNER_A),
        (PartnerManager, PARTNER_B),
        (PartnerUser, PARTNER_B),
        (CustomerAccountOwner, CUSTOMER_OF_A),
        (CustomerUser, CUSTOMER_OF_A),
        (CustomerAccountOwner, CUSTOMER_OF_B),
        (CustomerUser, CUSTOMER_OF_B),
    ];
    let mut rows = Vec::new();
    for &(role, from) in everyone {
        let is = |r: Role, o: u128| role == r && from == o;
        let expected: &[(Action, bool)] = &[
            (ChangeSupportProfile, is(PlatformAdmin, PLATFORM)),
            (DeleteSupportProfile, false),
            (
                ViewInstanceAccess,
                is(PlatformAdmin, PLATFORM) || from == PARTNER_A || from == CUSTOMER_OF_A,
            ),
            (ManageInstanceAccess, is(CustomerAccountOwner, CUSTOMER_OF_A)),
            (RequestInstanceAccess, from == PARTNER_A),
            (LogInToInstance, from == PARTNER_A),
            // A partner's users see the delegations to their own partner as
            // ViewGroups on it (issue 15), not through the customer.
            (ViewPartnerAccess, is(PlatformAdmin, PLATFORM) || from == CUSTOMER_OF_A),
            (ManagePartnerAccess, is(CustomerAccountOwner, CUSTOMER_OF_A)),
            // The partner of record's managers ask a customer for roles (issue 15).
            (RequestDelegation, is(PartnerManager, PARTNER_A)),
        ];
        for &(action, allowed) in expected {
            let got = decide(&authz, &who(role, from), action, &org(CUSTOMER_OF_A));
            rows.push(format!("{role:?} of org {from} {action:?} on customer A: {got}"));
            assert_eq!(got, allowed, "{role:?} of org {from} {action:?} on customer A");
        }
    }
    assert_eq!(rows.len(), 9 * 9);
    // Signing keys: platform admins only.
    for &(role, from) in everyone {
        let got = authz
            .is_allowed(&who(role, from), ManageLoginKeys, &org(PLATFORM))
            .unwrap();
        assert_eq!(got, role == PlatformAdmin, "{role:?} ManageLoginKeys");
    }
}

/// Delegated roles (issue 15): the capability-bound actions follow the
/// capabilities held at the customer, not the partner-of-record link. With
/// none (the delegation revoked or expired), the partner of record's users
/// are refused; holding one is enough at a customer that is not theirs (an
/// authorized contact); a customer's own users need none.
#[test]
fn capability_bound_actions_follow_what_is_held() {
    use Action::*;
    use Role::*;
    let authz = Authz::checked().unwrap();
    let none = Held::new();
    let only = |c: Capability| -> Held { [c].into() };
    let rows: &[(Role, u128, Action, u128, Held, bool)] = &[
        (
            PartnerUser,
            PARTNER_A,
            LogInToInstance,
            CUSTOMER_OF_A,
            none.clone(),
            false,
        ),
        (
            PartnerUser,
            PARTNER_A,
            LogInToInstance,
            CUSTOMER_OF_A,
            only(Capability::InstanceLogin),
            true,
        ),
        (
            PartnerUser,
            PARTNER_A,
            LogInToInstance,
            CUSTOMER_OF_A,
            only(Capability::SettingsManage),
            false,
        ),
        (
            PartnerUser,
            PARTNER_A,
            LogInToInstance,
            CUSTOMER_OF_B,
            only(Capability::InstanceLogin),
            true,
        ),
        (PartnerUser, PARTNER_A, ViewActivity, CUSTOMER_OF_A, none.clone(), false),
        (
            PartnerUser,
            PARTNER_A,
            ViewActivity,
            CUSTOMER_OF_A,
            only(Capability::ActivityView),
            true,
        ),
        (
            PartnerManager,
            PARTNER_A,
            VerifyActivity,
            CUSTOMER_OF_A,
            none.clone(),
            false,
        ),
        (
            PartnerManager,
            PARTNER_A,
            VerifyActivity,
            CUSTOMER_OF_A,
            only(Capability::ActivityView),
            true,
        ),
        (PartnerUser, PARTNER_A, ViewActivity, PARTNER_A, none.clone(), true),
        (PartnerUser, PARTNER_A, ViewBilling, CUSTOMER_OF_A, none.clone(), false),
        (
            PartnerUser,
            PARTNER_A,
            ViewBilling,
            CUSTOMER_OF_A,
            only(Capability::BillingView),
            true,
        ),
        (
            PartnerManager,
            PARTNER_A,
            ManageStaff,
            CUSTOMER_OF_A,
            only(Capability::UsersManage),
            true,
        ),
        (
            PartnerUser,
            PARTNER_A,
            ManageStaff,
            CUSTOMER_OF_A,
            only(Capability::UsersManage),
            false,
        ),
        (
            PartnerManager,
            PARTNER_A,
            ManageStaff,
            CUSTOMER_OF_A,
            only(Capability::BillingView),
            false,
        ),
        (
            CustomerAccountOwner,
            CUSTOMER_OF_A,
            ViewBilling,
            CUSTOMER_OF_A,
            none.clone(),
            true,
        ),
        (
            CustomerUser,
            CUSTOMER_OF_A,
            ViewBilling,
            CUSTOMER_OF_A,
            none.clone(),
            false,
        ),
        (
            CustomerAccountOwner,
            CUSTOMER_OF_A,
            ManageStaff,
            CUSTOMER_OF_A,
            none.clone(),
            true,
        ),
        (
            CustomerAccountOwner,
            CUSTOMER_OF_A,
            ManageStaff,
            CUSTOMER_OF_B,
            none.clone(),
            false,
        ),
        // A capability claimed by a customer's user gives nothing at another customer.
        (
            CustomerAccountOwner,
            CUSTOMER_OF_A,
            ViewBilling,
            CUSTOMER_OF_B,
            only(Capability::BillingView),
            false,
        ),
        (PlatformAdmin, PLATFORM, ViewBilling, CUSTOMER_OF_B, none.clone(), true),
        (
            PlatformAdmin,
            PLATFORM,
            ManageBilling,
            CUSTOMER_OF_B,
            none.clone(),
            true,
        ),
        (
            PartnerManager,
            PARTNER_A,
            ManageBilling,
            CUSTOMER_OF_A,
            Capability::ALL.into_iter().collect(),
            false,
        ),
        (
            CustomerAccountOwner,
            CUSTOMER_OF_A,
            ManageBilling,
            CUSTOMER_OF_A,
            none.clone(),
            false,
        ),
    ];
    for (role, from, action, resource, held, allowed) in rows {
        let got = authz
            .is_allowed_holding(&who(*role, *from), *action, &org(*resource), held)
            .unwrap();
        assert_eq!(
            got, *allowed,
            "{role:?} of org {from} {action:?} on org {resource} holding {held:?}"
        );
    }
}

/// The staff list (issue 15): a System Administrator manages the customer's
/// users but no Account Owner; the Account Owner and a Partner Manager
/// holding users.manage manage all; asked with the role a change touches.
#[test]
fn staff_changes_follow_the_role_they_touch() {
    use Role::*;
    let authz = Authz::checked().unwrap();
    let customer = org(CUSTOMER_OF_A);
    let none = Held::new();
    let users_manage: Held = [Capability::UsersManage].into();
    for (who_role, from, held, touching, allowed) in [
        (CustomerAdmin, CUSTOMER_OF_A, &none, CustomerUser, true),
        (CustomerAdmin, CUSTOMER_OF_A, &none, CustomerAdmin, true),
        (CustomerAdmin, CUSTOMER_OF_A, &none, CustomerAccountOwner, false),
        (CustomerAccountOwner, CUSTOMER_OF_A, &none, CustomerAccountOwner, true),
        (CustomerUser, CUSTOMER_OF_A, &none, CustomerUser, false),
        (CustomerAdmin, CUSTOMER_OF_B, &none, CustomerUser, false),
        (PartnerManager, PARTNER_A, &users_manage, CustomerAccountOwner, true),
        (PartnerManager, PARTNER_A, &none, CustomerUser, false),
        (PartnerUser, PARTNER_A, &users_manage, CustomerUser, false),
        (PlatformAdmin, PLATFORM, &none, CustomerAccountOwner, true),
    ] {
        let got = authz
            .require_staff_change(&who(who_role, from), &customer, held, touching)
            .is_ok();
        assert_eq!(got, allowed, "{who_role:?} of {from} touching {touching:?}");
    }
}

/// The workspace (issue 17), every role × level × action and field, from
/// the policies: the platform runs every project; a participant does what
/// their level in the phase allows (nothing outside it); customers nothing;
/// a field hidden from external participants is neither read nor set by
/// them whatever their level, a read-only one read and not set.
#[test]
fn workspace_levels_and_field_rules_decision_table() {
    use portico_core::authz::{ProjectAction as A, ProjectFacts};
    use portico_core::workspace::{FieldName as F, FieldRule, Permission, WorkspaceConfig};
    use std::collections::BTreeSet;
    let authz = Authz::checked().unwrap();
    let config = WorkspaceConfig::default();
    let project = ProjectFacts {
        id: portico_core::domain::ProjectId(Uuid::from_u128(77)),
        owner: id(PLATFORM),
        customer: id(CUSTOMER_OF_A),
    };
    let roles = [
        (Role::PlatformAdmin, PLATFORM),
        (Role::PartnerManager, PARTNER_A),
        (Role::PartnerUser, PARTNER_A),
        (Role::CustomerAccountOwner, CUSTOMER_OF_A),
        (Role::CustomerAdmin, CUSTOMER_OF_A),
        (Role::CustomerUser, CUSTOMER_OF_A),
    ];
    // (action, what the level must include)
    let actions = [
        (A::ViewProject, Some(Permission::Read)),
        (A::ReadPhase, Some(Permission::Read)),
        (A::ManageTasks, Some(Permission::Tasks)),
        (A::LogTime, Some(Permission::Time)),
        (A::ManageMilestones, Some(Permission::Milestones)),
        (A::ManageRaid, Some(Permission::Raid)),
        (A::FileReports, Some(Permission::Reports)),
        (A::SetHealth, Some(Permission::Health)),
        (A::EditProject, None),
    ];
    let mut rows = 0;
    for (role, from) in roles {
        let p = who(role, from);
        for level in [None, Some("Viewer"), Some("Contributor"), Some("Delivery Lead")] {
            let may: BTreeSet<Permission> = level
                .and_then(|l| config.level(l))
                .map(|l| l.may.clone())
                .unwrap_or_default();
            for (action, needs) in actions {
                let want = match role {
                    Role::PlatformAdmin => true,
                    _ => needs.is_some_and(|n| may.contains(&n)),
                };
                let got = authz.project_allows(&p, action, &project, &may).unwrap();
                assert_eq!(got, want, "{role:?} at {level:?}: {action:?}");
                rows += 1;
            }
        }
    }
    assert_eq!(rows, 6 * 4 * 9);
    // Fields, under each rule: what each role may read and set.
    for (hidden, read_only) in [(false, false), (false, true), (true, true)] {
        let rules = WorkspaceConfig {
            field_rules: F::ALL
                .into_iter()
                .map(|f| (f, FieldRule { hidden, read_only }))
                .collect(),
            ..WorkspaceConfig::default()
        };
        for (role, from) in roles {
            let access = authz.field_access(&who(role, from), &rules).unwrap();
            for f in F::ALL {
                let (reads, sets) = match role {
                    Role::PlatformAdmin => (true, true),
                    Role::PartnerManager | Role::PartnerUser => (!hidden, !hidden && !read_only),
                    _ => (false, false),
                };
                assert_eq!(
                    (access.sees(f), access.sets(f)),
                    (reads, sets),
                    "{role:?} on {f:?} (hidden {hidden}, read-only {read_only})"
                );
            }
        }
    }
}

/// People: a profile, time and expenses are their owner's, their
/// supervisor's, their partner's managers' and the platform's to see; only
/// the owner records them; only the supervisor decides, never the owner.
#[test]
fn workspace_people_decision_table() {
    use portico_core::authz::{PersonAction as A, PersonFacts};
    let authz = Authz::checked().unwrap();
    let nico = who(Role::PartnerUser, PARTNER_A);
    let supervisor = who(Role::PlatformAdmin, PLATFORM);
    let mut other_admin = who(Role::PlatformAdmin, PLATFORM);
    other_admin.user_id = UserId(Uuid::from_u128(9999));
    let person = PersonFacts {
        user: nico.user_id,
        org: id(PARTNER_A),
        org_kind: OrgKind::Partner,
        supervisor: Some(supervisor.user_id),
    };
    let mut manager = who(Role::PartnerManager, PARTNER_A);
    manager.user_id = UserId(Uuid::from_u128(4343));
    let mut colleague = who(Role::PartnerUser, PARTNER_A);
    colleague.user_id = UserId(Uuid::from_u128(4242));
    let cases = [
        // (who, view profile, edit profile, plan, view time, record, decide)
        ("the person", &nico, [true, true, false, true, true, false]),
        ("their supervisor", &supervisor, [true, true, true, true, false, true]),
        (
            "another platform admin",
            &other_admin,
            [true, true, true, true, false, false],
        ),
        (
            "their partner's manager",
            &manager,
            [true, true, false, true, false, false],
        ),
        ("a colleague", &colleague, [false, false, false, false, false, false]),
        (
            "another partner's manager",
            &who(Role::PartnerManager, PARTNER_B),
            [false, false, false, false, false, false],
        ),
        (
            "a customer",
            &who(Role::CustomerAccountOwner, CUSTOMER_OF_A),
            [false, false, false, false, false, false],
        ),
    ];
    for (name, p, want) in cases {
        let got: Vec<bool> = A::ALL
            .iter()
            .map(|a| authz.person_allows(p, *a, &person).unwrap())
            .collect();
        assert_eq!(got, want.to_vec(), "{name}: {:?}", A::ALL);
    }
    // A supervisor who is the person does not decide their own time.
    let own = PersonFacts {
        supervisor: Some(nico.user_id),
        ..person
    };
    assert!(!authz.person_allows(&nico, A::DecideTime, &own).unwrap());
}
