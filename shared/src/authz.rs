//! Authorization, decided in one place: Cedar policies
//! (`policies/portico.cedar`) over a schema (`policies/portico.cedarschema`),
//! evaluated in-process. Operations ask [`Authz::require`]; nothing else
//! decides who may do what.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::str::FromStr;

use cedar_policy::{
    ActionConstraint, Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicyId,
    PolicySet, Request, RestrictedExpression, Schema,
};

use crate::domain::{EmailAddress, OrgId, OrgKind, Organization, ProjectId, Role, UserId};
use crate::error::AppError;
use crate::settings::ReadOnlyReason;
use crate::workspace::{FieldName, FieldRule, Permission};

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
    ManageWorkspace,
}

impl Action {
    /// Every action, in the order `docs/permissions.md` lists them.
    pub const ALL: [Action; 52] = [
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
        Action::ManageWorkspace,
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
            Action::ManageWorkspace => "ManageWorkspace",
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
    /// A project (what the caller's access levels let them do comes as the context).
    Project(&'a ProjectFacts),
    /// One field under the rules for external participants.
    Field {
        name: FieldName,
        rule: FieldRule,
    },
    /// A person as a resource.
    Person(&'a PersonFacts),
}

/// What authorization needs to know about a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjectFacts {
    pub id: ProjectId,
    /// The platform organisation running it.
    pub owner: OrgId,
    pub customer: OrgId,
}

/// What authorization needs to know about a person (a resource): who they
/// are, their organisation, and their supervisor (for a timesheet or an
/// expense, the one it was submitted to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonFacts {
    pub user: UserId,
    pub org: OrgId,
    pub org_kind: OrgKind,
    pub supervisor: Option<UserId>,
}

/// What may be done to a project (decided with the caller's access levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectAction {
    ViewProject,
    EditProject,
    ReadPhase,
    ManageTasks,
    ManageMilestones,
    ManageRaid,
    FileReports,
    SetHealth,
    LogTime,
}

impl ProjectAction {
    pub const ALL: [ProjectAction; 9] = [
        ProjectAction::ViewProject,
        ProjectAction::EditProject,
        ProjectAction::ReadPhase,
        ProjectAction::ManageTasks,
        ProjectAction::ManageMilestones,
        ProjectAction::ManageRaid,
        ProjectAction::FileReports,
        ProjectAction::SetHealth,
        ProjectAction::LogTime,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ProjectAction::ViewProject => "ViewProject",
            ProjectAction::EditProject => "EditProject",
            ProjectAction::ReadPhase => "ReadPhase",
            ProjectAction::ManageTasks => "ManageTasks",
            ProjectAction::ManageMilestones => "ManageMilestones",
            ProjectAction::ManageRaid => "ManageRaid",
            ProjectAction::FileReports => "FileReports",
            ProjectAction::SetHealth => "SetHealth",
            ProjectAction::LogTime => "LogTime",
        }
    }
}

/// What may be done to a person's profile, timesheets and expenses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonAction {
    ViewResource,
    EditResource,
    PlanResource,
    ViewTime,
    RecordTime,
    DecideTime,
}

impl PersonAction {
    pub const ALL: [PersonAction; 6] = [
        PersonAction::ViewResource,
        PersonAction::EditResource,
        PersonAction::PlanResource,
        PersonAction::ViewTime,
        PersonAction::RecordTime,
        PersonAction::DecideTime,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PersonAction::ViewResource => "ViewResource",
            PersonAction::EditResource => "EditResource",
            PersonAction::PlanResource => "PlanResource",
            PersonAction::ViewTime => "ViewTime",
            PersonAction::RecordTime => "RecordTime",
            PersonAction::DecideTime => "DecideTime",
        }
    }
}

/// The field decisions.
const READ_FIELD: &str = "ReadField";
const WRITE_FIELD: &str = "WriteField";

/// What the caller may not do to the guarded fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldAccess {
    pub hidden: BTreeSet<FieldName>,
    pub read_only: BTreeSet<FieldName>,
}

impl FieldAccess {
    pub fn sees(&self, f: FieldName) -> bool {
        !self.hidden.contains(&f)
    }
    pub fn sets(&self, f: FieldName) -> bool {
        !self.read_only.contains(&f) && !self.hidden.contains(&f)
    }
}

/// A decision's context.
enum Ctx<'a> {
    None,
    Str(&'a str, &'a str),
    May(&'a [Permission]),
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
    project_type: EntityTypeName,
    field_type: EntityTypeName,
    person_type: EntityTypeName,
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
            .chain([CHANGE_SETTING, READ_FIELD, WRITE_FIELD])
            .chain(ProjectAction::ALL.iter().map(|a| a.name()))
            .chain(PersonAction::ALL.iter().map(|a| a.name()))
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
            project_type: ty("Portico::Project")?,
            field_type: ty("Portico::Field")?,
            person_type: ty("Portico::Person")?,
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
        context: Ctx<'_>,
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
        // The resource's organisations first: what the principal's own
        // organisation is known as when it is also the resource (its flags,
        // its partner of record) wins over the bare facts added last.
        let mut orgs: Vec<OrgFacts> = Vec::with_capacity(2);
        let mut more: Vec<Entity> = Vec::new();
        let resource_uid = match resource {
            Resource::Org(o) => {
                orgs.push(*o);
                self.org_uid(o.id)
            }
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
                more.push(
                    Entity::new(
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
                    .map_err(|e| internal(&e))?,
                );
                orgs.push(*customer);
                uid
            }
            Resource::Project(project) => {
                let uid =
                    EntityUid::from_type_name_and_id(self.project_type.clone(), EntityId::new(project.id.to_string()));
                more.push(
                    Entity::new(
                        uid.clone(),
                        HashMap::from([
                            (
                                "owner".to_string(),
                                RestrictedExpression::new_entity_uid(self.org_uid(project.owner)),
                            ),
                            (
                                "customer".to_string(),
                                RestrictedExpression::new_entity_uid(self.org_uid(project.customer)),
                            ),
                        ]),
                        HashSet::new(),
                    )
                    .map_err(|e| internal(&e))?,
                );
                uid
            }
            Resource::Field { name, rule } => {
                let uid = EntityUid::from_type_name_and_id(self.field_type.clone(), EntityId::new(name.as_str()));
                more.push(
                    Entity::new(
                        uid.clone(),
                        HashMap::from([
                            (
                                "name".to_string(),
                                RestrictedExpression::new_string(name.as_str().to_string()),
                            ),
                            ("hidden".to_string(), RestrictedExpression::new_bool(rule.hidden)),
                            ("readOnly".to_string(), RestrictedExpression::new_bool(rule.read_only)),
                        ]),
                        HashSet::new(),
                    )
                    .map_err(|e| internal(&e))?,
                );
                uid
            }
            Resource::Person(person) => {
                let uid =
                    EntityUid::from_type_name_and_id(self.person_type.clone(), EntityId::new(person.user.to_string()));
                let user_uid =
                    |u: UserId| EntityUid::from_type_name_and_id(self.user_type.clone(), EntityId::new(u.to_string()));
                let mut attrs = HashMap::from([
                    (
                        "user".to_string(),
                        RestrictedExpression::new_entity_uid(user_uid(person.user)),
                    ),
                    (
                        "org".to_string(),
                        RestrictedExpression::new_entity_uid(self.org_uid(person.org)),
                    ),
                ]);
                if let Some(s) = person.supervisor {
                    attrs.insert(
                        "supervisor".to_string(),
                        RestrictedExpression::new_entity_uid(user_uid(s)),
                    );
                }
                more.push(Entity::new(uid.clone(), attrs, HashSet::new()).map_err(|e| internal(&e))?);
                orgs.push(OrgFacts {
                    id: person.org,
                    kind: person.org_kind,
                    partner_of_record: None,
                    allows: None,
                });
                uid
            }
        };
        orgs.push(p.own_org());
        let user = Entity::new(principal_uid.clone(), user_attrs, HashSet::new()).map_err(|e| internal(&e))?;
        let mut entities = vec![user];
        let mut seen = HashSet::new();
        for o in &orgs {
            if seen.insert(o.id) {
                entities.push(self.org_entity(o)?);
            }
        }
        entities.extend(more);
        let entities = Entities::from_entities(entities, self.schema.as_ref()).map_err(|e| internal(&e))?;
        let context = match context {
            Ctx::None => Context::empty(),
            Ctx::Str(k, v) => Context::from_pairs([(k.to_string(), RestrictedExpression::new_string(v.to_string()))])
                .map_err(|e| internal(&e))?,
            Ctx::May(may) => Context::from_pairs([(
                "may".to_string(),
                RestrictedExpression::new_set(
                    may.iter()
                        .map(|m| RestrictedExpression::new_string(m.as_str().to_string())),
                ),
            )])
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
        let response = self.evaluate(p, action.name(), Resource::Org(resource), Ctx::None, None)?;
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
        let response = self.evaluate(p, action.name(), Resource::Org(resource), Ctx::None, Some(held))?;
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
            Ctx::Str("role", role.as_str()),
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
            Ctx::Str("role", role.as_str()),
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
            Ctx::None,
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

    /// Whether `p`, whose access levels let them do `may` (in the phase
    /// concerned, or anywhere on the project), may do `action` to `project`.
    pub fn project_allows(
        &self,
        p: &Principal,
        action: ProjectAction,
        project: &ProjectFacts,
        may: &BTreeSet<Permission>,
    ) -> Result<bool, AppError> {
        let may: Vec<Permission> = may.iter().copied().collect();
        let response = self.evaluate(p, action.name(), Resource::Project(project), Ctx::May(&may), None)?;
        Ok(response.decision() == Decision::Allow)
    }

    /// [`Authz::project_allows`], or the refusal: 404 for a project the
    /// caller may not see at all (`seen`: what they may do anywhere on it),
    /// else 403 saying what their level lacks.
    pub fn require_project(
        &self,
        p: &Principal,
        action: ProjectAction,
        project: &ProjectFacts,
        may: &BTreeSet<Permission>,
        seen: &BTreeSet<Permission>,
    ) -> Result<(), AppError> {
        if self.project_allows(p, action, project, may)? {
            return Ok(());
        }
        tracing::info!(actor = %p.user_id, action = action.name(), project = %project.id, "denied");
        if action != ProjectAction::ViewProject && self.project_allows(p, ProjectAction::ViewProject, project, seen)? {
            Err(AppError::AccessRefused {
                code: "access-level",
                detail: format!(
                    "Your access level does not allow this here ({}).",
                    match action {
                        ProjectAction::ReadPhase => "you are not assigned to this phase",
                        ProjectAction::EditProject => "only the platform changes a project and its participants",
                        ProjectAction::ManageTasks => "adding and updating tasks",
                        ProjectAction::ManageMilestones => "managing milestones",
                        ProjectAction::ManageRaid => "managing the RAID log",
                        ProjectAction::FileReports => "filing status reports",
                        ProjectAction::SetHealth => "setting the project's health",
                        ProjectAction::LogTime => "logging time in this phase",
                        ProjectAction::ViewProject => "reading",
                    }
                ),
            })
        } else {
            Err(AppError::NotFound)
        }
    }

    /// The guarded fields `p` may not read or set, under `rules`.
    pub fn field_access(
        &self,
        p: &Principal,
        rules: &crate::workspace::WorkspaceConfig,
    ) -> Result<FieldAccess, AppError> {
        let mut access = FieldAccess::default();
        for name in FieldName::ALL {
            let rule = rules.rule(name);
            let decide = |action: &str| -> Result<bool, AppError> {
                let r = self.evaluate(p, action, Resource::Field { name, rule }, Ctx::None, None)?;
                Ok(r.decision() == Decision::Allow)
            };
            if !decide(READ_FIELD)? {
                access.hidden.insert(name);
            }
            if !decide(WRITE_FIELD)? {
                access.read_only.insert(name);
            }
        }
        Ok(access)
    }

    /// Whether `p` may do `action` to `person`'s profile, time or expenses.
    pub fn person_allows(&self, p: &Principal, action: PersonAction, person: &PersonFacts) -> Result<bool, AppError> {
        let response = self.evaluate(p, action.name(), Resource::Person(person), Ctx::None, None)?;
        Ok(response.decision() == Decision::Allow)
    }

    /// [`Authz::person_allows`], or the refusal (404 for someone the caller
    /// may not see, so a refusal never confirms a person exists).
    pub fn require_person(&self, p: &Principal, action: PersonAction, person: &PersonFacts) -> Result<(), AppError> {
        if self.person_allows(p, action, person)? {
            return Ok(());
        }
        tracing::info!(actor = %p.user_id, action = action.name(), person = %person.user, "denied");
        if self.person_allows(p, PersonAction::ViewResource, person)?
            || self.person_allows(p, PersonAction::ViewTime, person)?
        {
            Err(AppError::Forbidden)
        } else {
            Err(AppError::NotFound)
        }
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
