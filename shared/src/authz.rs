//! Authorization, decided in one place: Cedar policies
//! (`policies/portico.cedar`) over a schema (`policies/portico.cedarschema`),
//! evaluated in-process. Operations ask [`Authz::require`]; nothing else
//! decides who may do what.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use cedar_policy::{
    ActionConstraint, Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicyId,
    PolicySet, Request, RestrictedExpression, Schema,
};

use crate::domain::{EmailAddress, OrgId, OrgKind, Organization, Role, UserId};
use crate::error::AppError;
use crate::settings::ReadOnlyReason;

pub const POLICIES: &str = include_str!("../policies/portico.cedar");
pub const SCHEMA: &str = include_str!("../policies/portico.cedarschema");

/// The action decided per setting (not an [`Action`]: it names a setting, not an organisation).
const CHANGE_SETTING: &str = "ChangeSetting";

/// Who is making a request: established by `http::principal` from the API
/// Gateway JWT authorizer's claims or from a local token, then the user item.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub user_id: UserId,
    pub email: EmailAddress,
    pub org_id: OrgId,
    pub org_kind: OrgKind,
    pub role: Role,
    /// The user's Hide Organization Settings restriction (seed 002 Step 7):
    /// their organisation's settings pages and routes are closed to them.
    pub settings_hidden: bool,
}

impl Principal {
    /// What authorization knows of the principal's own organisation
    /// (a partner or the platform has no partner of record; a customer's
    /// does not matter when it acts on itself).
    pub fn own_org(&self) -> OrgFacts {
        OrgFacts {
            id: self.org_id,
            kind: self.org_kind,
            partner_of_record: None,
            allows: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    CreateOrganization,
    ViewOrganization,
    InvitePartner,
    InviteCustomer,
    ManageInvitations,
    RequestUser,
    ViewUserRequests,
    ApproveUserRequest,
    AddUser,
    ViewUsers,
    ManageTrustedRanges,
    ManageMfaPolicy,
    ViewSettings,
    ManageSettingGrants,
    ViewCatalogue,
    ManageCatalogue,
    ViewActivity,
    VerifyActivity,
    ManageActivityRetention,
    RequestRestore,
    ListRestoreRequests,
    ReinstateUser,
    RunSweep,
    RegisterInstance,
    ViewInstances,
    VerifyInstance,
    RequestRecreate,
    ListRecreateRequests,
    RecreateConnection,
    ChangeSupportProfile,
    DeleteSupportProfile,
    ViewInstanceAccess,
    ManageInstanceAccess,
    RequestInstanceAccess,
    LogInToInstance,
    ManageLoginKeys,
    ViewPartnerAccess,
    ManagePartnerAccess,
    ViewGroups,
    ManageGroups,
    ViewBilling,
    ManageBilling,
    ManageStaff,
    RequestDelegation,
    ViewRelationships,
    ManageOrganization,
    DeleteOrganization,
    ManagePartnerPortal,
    RemoveUser,
    ManageSeats,
    RequestSeats,
}

impl Action {
    /// Every action, in the order `docs/permissions.md` lists them.
    pub const ALL: [Action; 51] = [
        Action::CreateOrganization,
        Action::ViewOrganization,
        Action::InvitePartner,
        Action::InviteCustomer,
        Action::ManageInvitations,
        Action::RequestUser,
        Action::ViewUserRequests,
        Action::ApproveUserRequest,
        Action::AddUser,
        Action::ViewUsers,
        Action::ManageTrustedRanges,
        Action::ManageMfaPolicy,
        Action::ViewSettings,
        Action::ManageSettingGrants,
        Action::ViewCatalogue,
        Action::ManageCatalogue,
        Action::ViewActivity,
        Action::VerifyActivity,
        Action::ManageActivityRetention,
        Action::RequestRestore,
        Action::ListRestoreRequests,
        Action::ReinstateUser,
        Action::RunSweep,
        Action::RegisterInstance,
        Action::ViewInstances,
        Action::VerifyInstance,
        Action::RequestRecreate,
        Action::ListRecreateRequests,
        Action::RecreateConnection,
        Action::ChangeSupportProfile,
        Action::DeleteSupportProfile,
        Action::ViewInstanceAccess,
        Action::ManageInstanceAccess,
        Action::RequestInstanceAccess,
        Action::LogInToInstance,
        Action::ManageLoginKeys,
        Action::ViewPartnerAccess,
        Action::ManagePartnerAccess,
        Action::ViewGroups,
        Action::ManageGroups,
        Action::ViewBilling,
        Action::ManageBilling,
        Action::ManageStaff,
        Action::RequestDelegation,
        Action::ViewRelationships,
        Action::ManageOrganization,
        Action::DeleteOrganization,
        Action::ManagePartnerPortal,
        Action::RemoveUser,
        Action::ManageSeats,
        Action::RequestSeats,
    ];

    /// The action's name in the policies.
    pub fn name(self) -> &'static str {
        match self {
            Action::CreateOrganization => "CreateOrganization",
            Action::ViewOrganization => "ViewOrganization",
            Action::InvitePartner => "InvitePartner",
            Action::InviteCustomer => "InviteCustomer",
            Action::ManageInvitations => "ManageInvitations",
            Action::RequestUser => "RequestUser",
            Action::ViewUserRequests => "ViewUserRequests",
            Action::AddUser => "AddUser",
            Action::ViewUsers => "ViewUsers",
            Action::ManageTrustedRanges => "ManageTrustedRanges",
            Action::ManageMfaPolicy => "ManageMfaPolicy",
            Action::ViewSettings => "ViewSettings",
            Action::ManageSettingGrants => "ManageSettingGrants",
            Action::ManageCatalogue => "ManageCatalogue",
            Action::ViewActivity => "ViewActivity",
            Action::VerifyActivity => "VerifyActivity",
            Action::ManageActivityRetention => "ManageActivityRetention",
            Action::RequestRestore => "RequestRestore",
            Action::ReinstateUser => "ReinstateUser",
            Action::ListRestoreRequests => "ListRestoreRequests",
            Action::RunSweep => "RunSweep",
            Action::ViewCatalogue => "ViewCatalogue",
            Action::ApproveUserRequest => "ApproveUserRequest",
            Action::RegisterInstance => "RegisterInstance",
            Action::ViewInstances => "ViewInstances",
            Action::VerifyInstance => "VerifyInstance",
            Action::RequestRecreate => "RequestRecreate",
            Action::ListRecreateRequests => "ListRecreateRequests",
            Action::RecreateConnection => "RecreateConnection",
            Action::ChangeSupportProfile => "ChangeSupportProfile",
            Action::DeleteSupportProfile => "DeleteSupportProfile",
            Action::ViewInstanceAccess => "ViewInstanceAccess",
            Action::ManageInstanceAccess => "ManageInstanceAccess",
            Action::RequestInstanceAccess => "RequestInstanceAccess",
            Action::LogInToInstance => "LogInToInstance",
            Action::ManageLoginKeys => "ManageLoginKeys",
            Action::ViewPartnerAccess => "ViewPartnerAccess",
            Action::ManagePartnerAccess => "ManagePartnerAccess",
            Action::ViewGroups => "ViewGroups",
            Action::ManageGroups => "ManageGroups",
            Action::ViewBilling => "ViewBilling",
            Action::ManageBilling => "ManageBilling",
            Action::ManageStaff => "ManageStaff",
            Action::RequestDelegation => "RequestDelegation",
            Action::ViewRelationships => "ViewRelationships",
            Action::ManageOrganization => "ManageOrganization",
            Action::DeleteOrganization => "DeleteOrganization",
            Action::ManagePartnerPortal => "ManagePartnerPortal",
            Action::RemoveUser => "RemoveUser",
            Action::ManageSeats => "ManageSeats",
            Action::RequestSeats => "RequestSeats",
        }
    }
}

/// What authorization needs to know about an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrgFacts {
    pub id: OrgId,
    pub kind: OrgKind,
    pub partner_of_record: Option<OrgId>,
    /// A partner's capability flags (what it may manage itself); none for
    /// the platform and customers, or where they do not matter.
    pub allows: Option<crate::partner_portal::Capabilities>,
}

impl From<&Organization> for OrgFacts {
    fn from(o: &Organization) -> Self {
        Self {
            id: o.id,
            kind: o.kind,
            partner_of_record: o.partner_of_record,
            allows: (o.kind == OrgKind::Partner).then_some(o.capabilities),
        }
    }
}

/// The capabilities a principal holds at the resource through delegated
/// roles (`crate::delegations`): Cedar decides the capability-bound actions
/// from these, so the role catalogue grows without code changes.
pub type Held = std::collections::BTreeSet<crate::delegations::Capability>;

/// What a decision is about.
enum Resource<'a> {
    Org(&'a OrgFacts),
    /// One setting of a customer, for a principal holding `grants`.
    Setting {
        customer: &'a OrgFacts,
        def: &'a crate::settings::SettingDefinition,
        grants: &'a [crate::settings::SettingKey],
    },
}

fn internal(e: &dyn std::fmt::Display) -> AppError {
    AppError::Internal(format!("authorization: {e}"))
}

pub struct Authz {
    policies: PolicySet,
    /// The policies that can apply to each action (by its name), so a
    /// decision evaluates those 1–3 rather than every policy: Cedar checks
    /// each policy's scope by evaluating it. Same decisions, since a policy
    /// whose action scope does not match never applies; [`Authz::checked`]
    /// decides with the whole set as well and an unequal answer is an error.
    by_action: HashMap<String, PolicySet>,
    /// Set in tests ([`Authz::checked`]): every decision's entities and
    /// request are then validated against the schema. In production the
    /// schema is not parsed at all (it cost 2.3 ms of every cold start and a
    /// validation per decision); the test that validates the policies
    /// strictly, and the tests running every decision checked, stand for it.
    schema: Option<Schema>,
    authorizer: Authorizer,
    org_type: EntityTypeName,
    user_type: EntityTypeName,
    action_type: EntityTypeName,
    setting_type: EntityTypeName,
}

#[derive(Debug, thiserror::Error)]
#[error("authorization policies do not load: {0}")]
pub struct PolicyLoadError(String);

impl Authz {
    /// Parses the bundled policies (once per cold start).
    pub fn new() -> Result<Self, PolicyLoadError> {
        Self::load(None)
    }

    /// Parses the policies and the schema, and validates every decision's
    /// entities and request against the schema (tests).
    pub fn checked() -> Result<Self, PolicyLoadError> {
        let (schema, _warnings) = Schema::from_cedarschema_str(SCHEMA).map_err(|e| PolicyLoadError(e.to_string()))?;
        Self::load(Some(schema))
    }

    /// Whether decisions are validated against the schema (tests).
    pub fn is_checked(&self) -> bool {
        self.schema.is_some()
    }

    fn load(schema: Option<Schema>) -> Result<Self, PolicyLoadError> {
        let err = |e: &dyn std::fmt::Display| PolicyLoadError(e.to_string());
        // Each policy goes by its `@id`, so decisions name it (diagnostics, logs).
        let mut policies = PolicySet::new();
        for p in PolicySet::from_str(POLICIES).map_err(|e| err(&e))?.policies() {
            // `annotations()`, not `annotation("id")`: that parses its key with
            // a parser of its own, whose lexer build was 4% of a cold start.
            let id = p
                .annotations()
                .find_map(|(k, v)| (k == "id").then_some(v))
                .ok_or_else(|| PolicyLoadError(format!("a policy has no @id: {p}")))?;
            policies.add(p.new_id(PolicyId::new(id))).map_err(|e| err(&e))?;
        }
        // Every action has its set, empty for one no policy permits (default deny).
        let mut by_action: HashMap<String, PolicySet> = Action::ALL
            .iter()
            .map(|a| a.name())
            .chain([CHANGE_SETTING])
            .map(|name| (name.to_string(), PolicySet::new()))
            .collect();
        for p in policies.policies() {
            let names: Vec<String> = match p.action_constraint() {
                ActionConstraint::Eq(uid) => vec![uid.id().unescaped().to_string()],
                ActionConstraint::In(uids) => uids.iter().map(|u| u.id().unescaped().to_string()).collect(),
                // Not written in Portico's policies (each names its action); kept whole for safety.
                ActionConstraint::Any => by_action.keys().cloned().collect(),
            };
            for name in names {
                by_action.entry(name).or_default().add(p.clone()).map_err(|e| err(&e))?;
            }
        }
        let ty = |n: &str| EntityTypeName::from_str(n).map_err(|e| err(&e));
        Ok(Self {
            policies,
            by_action,
            schema,
            authorizer: Authorizer::new(),
            org_type: ty("Portico::Organization")?,
            user_type: ty("Portico::User")?,
            action_type: ty("Portico::Action")?,
            setting_type: ty("Portico::Setting")?,
        })
    }

    fn org_uid(&self, id: OrgId) -> EntityUid {
        EntityUid::from_type_name_and_id(self.org_type.clone(), EntityId::new(id.to_string()))
    }

    fn org_entity(&self, o: &OrgFacts) -> Result<Entity, AppError> {
        let allows = o
            .allows
            .map(|c| c.names())
            .unwrap_or_default()
            .into_iter()
            .map(|n| RestrictedExpression::new_string(n.to_string()));
        let mut attrs = HashMap::from([
            (
                "kind".to_string(),
                RestrictedExpression::new_string(o.kind.as_str().into()),
            ),
            ("allows".to_string(), RestrictedExpression::new_set(allows)),
        ]);
        if let Some(p) = o.partner_of_record {
            attrs.insert(
                "partnerOfRecord".into(),
                RestrictedExpression::new_entity_uid(self.org_uid(p)),
            );
        }
        Entity::new(self.org_uid(o.id), attrs, HashSet::new()).map_err(|e| internal(&e))
    }

    /// The one place entities and requests are built: the principal (with
    /// its organisation), the resource (with the organisations it names),
    /// and the context; then Cedar decides.
    fn evaluate(
        &self,
        p: &Principal,
        action: &str,
        resource: Resource<'_>,
        context: Option<(&str, &str)>,
        held: Option<&Held>,
    ) -> Result<cedar_policy::Response, AppError> {
        let principal_uid =
            EntityUid::from_type_name_and_id(self.user_type.clone(), EntityId::new(p.user_id.to_string()));
        let mut user_attrs = HashMap::from([
            (
                "role".to_string(),
                RestrictedExpression::new_string(p.role.as_str().into()),
            ),
            (
                "org".to_string(),
                RestrictedExpression::new_entity_uid(self.org_uid(p.org_id)),
            ),
            (
                "hidesOrgSettings".to_string(),
                RestrictedExpression::new_bool(p.settings_hidden),
            ),
        ]);
        if let Some(held) = held {
            let caps = held
                .iter()
                .map(|c| RestrictedExpression::new_string(c.as_str().to_string()));
            user_attrs.insert("capabilities".to_string(), RestrictedExpression::new_set(caps));
        }
        let (resource_uid, resource_org, setting) = match resource {
            Resource::Org(o) => (self.org_uid(o.id), o, None),
            Resource::Setting { customer, def, grants } => {
                let grants = grants
                    .iter()
                    .map(|g| RestrictedExpression::new_string(g.as_str().to_string()));
                user_attrs.insert("grants".to_string(), RestrictedExpression::new_set(grants));
                let uid = EntityUid::from_type_name_and_id(
                    self.setting_type.clone(),
                    EntityId::new(format!("{}/{}", customer.id, def.key)),
                );
                let group = match def.group {
                    crate::settings::SettingGroup::General => "general",
                    crate::settings::SettingGroup::PaidAddOn => "paid_add_on",
                };
                let setting = Entity::new(
                    uid.clone(),
                    HashMap::from([
                        (
                            "key".to_string(),
                            RestrictedExpression::new_string(def.key.as_str().to_string()),
                        ),
                        ("group".to_string(), RestrictedExpression::new_string(group.into())),
                        ("restricted".to_string(), RestrictedExpression::new_bool(def.restricted)),
                        (
                            "customer".to_string(),
                            RestrictedExpression::new_entity_uid(self.org_uid(customer.id)),
                        ),
                    ]),
                    HashSet::new(),
                )
                .map_err(|e| internal(&e))?;
                (uid, customer, Some(setting))
            }
        };
        let user = Entity::new(principal_uid.clone(), user_attrs, HashSet::new()).map_err(|e| internal(&e))?;
        let mut entities = vec![user, self.org_entity(resource_org)?];
        entities.extend(setting);
        if resource_org.id != p.org_id {
            entities.push(self.org_entity(&p.own_org())?);
        }
        let entities = Entities::from_entities(entities, self.schema.as_ref()).map_err(|e| internal(&e))?;
        let context = match context {
            None => Context::empty(),
            Some((k, v)) => Context::from_pairs([(k.to_string(), RestrictedExpression::new_string(v.to_string()))])
                .map_err(|e| internal(&e))?,
        };
        let action_uid = EntityUid::from_type_name_and_id(self.action_type.clone(), EntityId::new(action));
        let request = Request::new(principal_uid, action_uid, resource_uid, context, self.schema.as_ref())
            .map_err(|e| internal(&e))?;
        let policies = self
            .by_action
            .get(action)
            .ok_or_else(|| AppError::Internal(format!("authorization: no action {action}")))?;
        let response = self.authorizer.is_authorized(&request, policies, &entities);
        if self.schema.is_some() {
            let whole = self.authorizer.is_authorized(&request, &self.policies, &entities);
            let fired = |r: &cedar_policy::Response| {
                let mut ids: Vec<String> = r.diagnostics().reason().map(|id| id.to_string()).collect();
                ids.sort();
                ids
            };
            if whole.decision() != response.decision() || fired(&whole) != fired(&response) {
                return Err(AppError::Internal(format!(
                    "{action}: the policies by action decide otherwise"
                )));
            }
        }
        let errors: Vec<String> = response.diagnostics().errors().map(|e| e.to_string()).collect();
        if !errors.is_empty() {
            tracing::warn!(?errors, "policy evaluation errors (treated as deny)");
        }
        Ok(response)
    }

    /// The decision, with no side effects.
    pub fn is_allowed(&self, p: &Principal, action: Action, resource: &OrgFacts) -> Result<bool, AppError> {
        let response = self.evaluate(p, action.name(), Resource::Org(resource), None, None)?;
        Ok(response.decision() == Decision::Allow)
    }

    /// The decision for a principal holding `held` at `resource` (the
    /// capabilities their delegated roles give there).
    pub fn is_allowed_holding(
        &self,
        p: &Principal,
        action: Action,
        resource: &OrgFacts,
        held: &Held,
    ) -> Result<bool, AppError> {
        let response = self.evaluate(p, action.name(), Resource::Org(resource), None, Some(held))?;
        Ok(response.decision() == Decision::Allow)
    }

    /// [`Authz::require`] for a principal holding `held` at `resource`.
    pub fn require_holding(
        &self,
        p: &Principal,
        action: Action,
        resource: &OrgFacts,
        held: &Held,
    ) -> Result<(), AppError> {
        if self.is_allowed_holding(p, action, resource, held)? {
            return Ok(());
        }
        self.refuse(p, action, resource)
    }

    /// Whether `p` may ask the platform for a user of `partner` with `role`
    /// (after [`Authz::require`] of [`Action::RequestUser`]: a refusal here
    /// is about the role).
    pub fn may_request_role(&self, p: &Principal, partner: &OrgFacts, role: Role) -> Result<bool, AppError> {
        let response = self.evaluate(
            p,
            Action::RequestUser.name(),
            Resource::Org(partner),
            Some(("role", role.as_str())),
            None,
        )?;
        Ok(response.decision() == Decision::Allow)
    }

    /// [`Authz::require_holding`] of [`Action::ManageStaff`] for a change
    /// that touches `role` (the role given, or the one the user holds): a
    /// System Administrator manages users but not Account Owners.
    pub fn require_staff_change(
        &self,
        p: &Principal,
        customer: &OrgFacts,
        held: &Held,
        role: Role,
    ) -> Result<(), AppError> {
        let response = self.evaluate(
            p,
            Action::ManageStaff.name(),
            Resource::Org(customer),
            Some(("role", role.as_str())),
            Some(held),
        )?;
        if response.decision() == Decision::Allow {
            return Ok(());
        }
        self.refuse(p, Action::ManageStaff, customer)
    }

    /// Whether `p` (holding `grants`) may change setting `def` of
    /// `customer`: `None` if so, else why not, read off the forbid policy
    /// that decided (no policy at all: no access).
    pub fn setting_access(
        &self,
        p: &Principal,
        grants: &[crate::settings::SettingKey],
        held: &Held,
        customer: &OrgFacts,
        def: &crate::settings::SettingDefinition,
    ) -> Result<Option<ReadOnlyReason>, AppError> {
        let response = self.evaluate(
            p,
            CHANGE_SETTING,
            Resource::Setting { customer, def, grants },
            None,
            Some(held),
        )?;
        if response.decision() == Decision::Allow {
            return Ok(None);
        }
        let fired: Vec<String> = response.diagnostics().reason().map(|id| id.to_string()).collect();
        Ok(Some(if fired.iter().any(|id| id == "paid-add-ons-read-only") {
            ReadOnlyReason::PaidAddOn
        } else if fired.iter().any(|id| id == "restricted-settings-need-manager-or-grant") {
            ReadOnlyReason::Restricted
        } else {
            ReadOnlyReason::NoAccess
        }))
    }

    /// Allow, or the refusal the caller should see. Hidden resources answer
    /// `NotFound`, so a refusal never confirms that something exists.
    pub fn require(&self, p: &Principal, action: Action, resource: &OrgFacts) -> Result<(), AppError> {
        if self.is_allowed(p, action, resource)? {
            return Ok(());
        }
        self.refuse(p, action, resource)
    }

    fn refuse(&self, p: &Principal, action: Action, resource: &OrgFacts) -> Result<(), AppError> {
        tracing::info!(actor = %p.user_id, action = action.name(), resource = %resource.id, "denied");
        Err(match action {
            Action::ViewOrganization => AppError::NotFound,
            // The resource does not exist yet: nothing to hide.
            Action::CreateOrganization | Action::InvitePartner => AppError::Forbidden,
            // Refuse, but never confirm that an organisation the caller cannot see exists.
            _ if self.is_allowed(p, Action::ViewOrganization, resource)? => AppError::Forbidden,
            _ => AppError::NotFound,
        })
    }

    /// Strict validation of the policies against the schema (used by tests and at start-up checks).
    pub fn validate(&self) -> Result<(), String> {
        let schema = match &self.schema {
            Some(s) => s.clone(),
            None => Self::checked().map_err(|e| e.to_string())?.schema.ok_or("no schema")?,
        };
        let v = cedar_policy::Validator::new(schema);
        let result = v.validate(&self.policies, cedar_policy::ValidationMode::Strict);
        if result.validation_passed() {
            Ok(())
        } else {
            Err(result
                .validation_errors()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; "))
        }
    }
}
