//! Customers and their settings (seed 000): the list of customer
//! organisations with a Settings button each; the settings page with a
//! thumb per setting that toggles in place, why a setting is read-only, an
//! Edit dialog, and what a stale version means.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::render::{Chrome, fail, page};
use super::visit::{Form, PagePath, Query, SignedIn, Visit};
use crate::app::AppState;
use crate::domain::{OrgId, OrgKind};
use crate::error::AppError;
use crate::ops::organizations::{self, ListOrganizations};
use crate::ops::settings::{self, SetSetting, SettingView};
use crate::settings::{ReadOnlyReason, SettingGroup, SettingKey};

#[derive(Template)]
#[template(path = "customers.html")]
struct CustomersPage {
    chrome: Chrome,
    /// The first-time dialog's text, until the manager dismisses it.
    welcome_html: Option<String>,
    customers: Vec<CustomerRow>,
    next: Option<String>,
    first_page: bool,
    /// Said after a form that came back here.
    done: Option<&'static str>,
}

struct CustomerRow {
    id: String,
    name: String,
    since: String,
    /// Its instances' connections (re-checked if stale when the page opens).
    connections: Vec<super::instances::ConnectionCell>,
    /// LogMeIn to each instance (partner users only).
    logins: Vec<super::logmein::LoginButton>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    cursor: Option<String>,
    done: Option<String>,
}

/// The customer organisations the caller may see (a partner's own; all for
/// the platform), 25 a page.
pub async fn list(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    Query(q): Query<PageQuery>,
) -> Response {
    let query = ListOrganizations {
        kind: Some(OrgKind::Customer),
        limit: Some(25),
        cursor: q.cursor.clone().filter(|c| !c.is_empty()),
    };
    let found = match organizations::list(&deps, &caller, query).await {
        Ok(found) => found,
        Err(crate::error::AppError::Store(crate::store::StoreError::BadCursor)) => {
            return Redirect::to("/customers").into_response();
        }
        Err(e) => return fail(&visit, &deps.settings, e),
    };
    // Seed 000: "refresh your browser to ensure the connection is active".
    // Partner users get a LogMeIn button per instance: the customers'
    // consent is read beside the connections (the same round trips).
    let partner = caller.org_kind == Some(OrgKind::Partner);
    // A manager's first-time dialog (seed 002 Step 6), until they dismiss it.
    let welcome_due = visit
        .seen
        .get()
        .is_some_and(|v| v.user.role == crate::domain::Role::PartnerManager && !v.user.welcomed);
    let (instances, consents, texts) = futures::future::join3(
        crate::ops::instances::connections_of(&deps, &caller, &found.items),
        async {
            if partner {
                crate::ops::access::consents_of(&deps, &found.items).await
            } else {
                Ok(Default::default())
            }
        },
        async {
            if welcome_due {
                crate::ops::partner_portal::texts(&deps).await.map(Some)
            } else {
                Ok(None)
            }
        },
    )
    .await;
    let (instances, consents, texts) = match (instances, consents, texts) {
        (Ok(i), Ok(c), Ok(t)) => (i, c, t),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return fail(&visit, &deps.settings, e),
    };
    let welcome_html = texts.map(|t| t.first_time.html).filter(|h| !h.is_empty());
    let now = deps.clock.now();
    page(
        StatusCode::OK,
        &CustomersPage {
            chrome: Chrome::of(&visit),
            welcome_html,
            customers: found
                .items
                .iter()
                .map(|o| {
                    let mut mine: Vec<&crate::instances::Instance> =
                        instances.iter().filter(|i| i.customer_id == o.id).collect();
                    mine.sort_by_key(|i| i.name.folded());
                    CustomerRow {
                        id: o.id.to_string(),
                        name: o.name.as_str().to_string(),
                        since: o.created_at.format("%-d %B %Y").to_string(),
                        connections: mine
                            .iter()
                            .map(|i| super::instances::ConnectionCell::of(&i.view(None), now))
                            .collect(),
                        logins: match consents.get(&o.id) {
                            Some(access) => mine
                                .iter()
                                .map(|i| {
                                    super::logmein::LoginButton::of(i, o.name.as_str(), access, caller.user_id, now)
                                })
                                .collect(),
                            None => Vec::new(),
                        },
                    }
                })
                .collect(),
            next: found.next_cursor,
            first_page: q.cursor.is_none(),
            done: match q.done.as_deref() {
                Some("access-asked") => Some(
                    "Your request for access is sent: the customer's Account Owner is emailed, and you will be emailed the answer.",
                ),
                _ => None,
            },
        },
    )
}

/// One setting's row, as the page and its fragment show it.
pub struct Row {
    pub customer_id: String,
    pub csrf: String,
    pub s: SettingView,
    /// Said in the row after a toggle that did not happen (stale, read-only).
    pub message: Option<String>,
}

impl Row {
    pub fn group_label(&self) -> &'static str {
        match self.s.group {
            SettingGroup::General => "General",
            SettingGroup::PaidAddOn => "Paid Add-On",
        }
    }
    pub fn why(&self) -> &'static str {
        match self.s.read_only_reason {
            Some(ReadOnlyReason::PaidAddOn) => "Paid add-on: sold separately, so it cannot be changed here.",
            Some(ReadOnlyReason::Restricted) => {
                "Restricted: your Partner Manager can change it, or give you permission to."
            }
            Some(ReadOnlyReason::NoAccess) => "You may see these settings but not change them.",
            None => "",
        }
    }
    pub fn changed(&self) -> String {
        match (&self.s.changed_by, self.s.changed_at) {
            (Some(who), Some(at)) => format!("Changed by {who}, {} UTC", at.format("%-d %b %Y %H:%M")),
            (None, Some(at)) => format!("Changed {} UTC", at.format("%-d %b %Y %H:%M")),
            _ => "Default value".into(),
        }
    }
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPageTpl {
    chrome: Chrome,
    customer_id: String,
    customer_name: String,
    rows: Vec<Row>,
    notice: Option<String>,
    done: Option<&'static str>,
    instances: Vec<super::instances::InstanceRow>,
    may_ask_recreate: bool,
}

#[derive(Template)]
#[template(path = "setting_row_fragment.html")]
struct RowFragment {
    row: Row,
}

fn rows(visit: &Visit, page: &settings::SettingsPage) -> Vec<Row> {
    page.settings
        .iter()
        .map(|s| Row {
            customer_id: page.customer_id.to_string(),
            csrf: visit.csrf(),
            s: s.clone(),
            message: None,
        })
        .collect()
}

/// A customer's settings page.
pub async fn settings(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath(id): PagePath<OrgId>,
    Query(q): Query<super::render::DoneQuery>,
) -> Response {
    let (found, instances) = futures::join!(
        settings::get_settings(&deps, &caller, id),
        super::instances::card(&deps, &caller, id)
    );
    match found {
        Ok(found) => page(
            StatusCode::OK,
            &SettingsPageTpl {
                chrome: Chrome::of(&visit),
                customer_id: id.to_string(),
                customer_name: found.customer_name.clone(),
                rows: rows(&visit, &found),
                notice: None,
                done: super::render::done_message(q.done.as_deref()),
                may_ask_recreate: super::instances::may_ask_recreate(visit.seen.get().map(|v| v.user.role)),
                instances,
            },
        ),
        Err(e) => fail(&visit, &deps.settings, e),
    }
}

#[derive(Deserialize)]
pub struct ToggleForm {
    enabled: String,
    version: String,
}

impl ToggleForm {
    fn parse(&self) -> Option<SetSetting> {
        Some(SetSetting {
            enabled: match self.enabled.as_str() {
                "true" => true,
                "false" => false,
                _ => return None,
            },
            version: self.version.parse().ok()?,
        })
    }
}

/// Sets a setting, then shows its row (htmx) or the page again.
async fn set(
    deps: &AppState,
    visit: &Visit,
    caller: &crate::http::principal::Caller,
    id: OrgId,
    key: SettingKey,
    f: &ToggleForm,
) -> Response {
    let Some(input) = f.parse() else {
        return super::render::plain_error(StatusCode::BAD_REQUEST, "The form could not be read.");
    };
    let back = format!("/customers/{id}");
    let message = match settings::put_setting(deps, caller, id, key.clone(), input).await {
        Ok(view) => {
            if !visit.hx {
                return Redirect::to(&back).into_response();
            }
            return page(
                StatusCode::OK,
                &RowFragment {
                    row: Row {
                        customer_id: id.to_string(),
                        csrf: visit.csrf(),
                        s: view,
                        message: None,
                    },
                },
            );
        }
        Err(AppError::StaleSetting {
            enabled, changed_by, ..
        }) => format!(
            "Not changed: {} changed this setting since the page was shown. It is now {}. Look again and toggle it if you still want to.",
            changed_by.unwrap_or_else(|| "someone else".into()),
            if enabled { "enabled" } else { "disabled" }
        ),
        Err(AppError::SettingReadOnly(why)) => format!("Not changed: {why}"),
        Err(e) => return fail(visit, &deps.settings, e),
    };
    // Show the setting as it is now, with what happened (one more read, on this path only).
    let found = match settings::get_settings(deps, caller, id).await {
        Ok(found) => found,
        Err(e) => return fail(visit, &deps.settings, e),
    };
    let mut rows = rows(visit, &found);
    if visit.hx
        && let Some(i) = rows.iter().position(|r| r.s.key == key)
    {
        let mut row = rows.swap_remove(i);
        row.message = Some(message);
        // 200: htmx swaps only successful answers; the row says what happened.
        return page(StatusCode::OK, &RowFragment { row });
    }
    for r in rows.iter_mut().filter(|r| r.s.key == key) {
        r.message = Some(message.clone());
    }
    let instances = super::instances::card(deps, caller, id).await;
    page(
        StatusCode::CONFLICT,
        &SettingsPageTpl {
            chrome: Chrome::of(visit),
            customer_id: id.to_string(),
            customer_name: found.customer_name.clone(),
            rows,
            notice: Some(message),
            done: None,
            may_ask_recreate: super::instances::may_ask_recreate(visit.seen.get().map(|v| v.user.role)),
            instances,
        },
    )
}

/// The thumb: sets the other value, with the version the page showed.
pub async fn toggle(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath((id, key)): PagePath<(OrgId, SettingKey)>,
    Form(f): Form<ToggleForm>,
) -> Response {
    set(&deps, &visit, &caller, id, key, &f).await
}

#[derive(Template)]
#[template(path = "setting_edit.html")]
struct EditPage {
    chrome: Chrome,
    row: Row,
    customer_name: String,
}

#[derive(Template)]
#[template(path = "setting_edit_fragment.html")]
struct EditFragment {
    row: Row,
    customer_name: String,
}

/// The Edit dialog (a page of its own without JavaScript).
pub async fn edit_page(
    State(deps): State<AppState>,
    SignedIn(visit, caller): SignedIn,
    PagePath((id, key)): PagePath<(OrgId, SettingKey)>,
) -> Response {
    let found = match settings::get_settings(&deps, &caller, id).await {
        Ok(found) => found,
        Err(e) => return fail(&visit, &deps.settings, e),
    };
    let Some(s) = found.settings.iter().find(|s| s.key == key).cloned() else {
        return fail(&visit, &deps.settings, AppError::NotFound);
    };
    let row = Row {
        customer_id: id.to_string(),
        csrf: visit.csrf(),
        s,
        message: None,
    };
    if visit.hx {
        return page(
            StatusCode::OK,
            &EditFragment {
                row,
                customer_name: found.customer_name,
            },
        );
    }
    page(
        StatusCode::OK,
        &EditPage {
            chrome: Chrome::of(&visit),
            row,
            customer_name: found.customer_name,
        },
    )
}

/// Saving the Edit dialog: as the thumb, then back to the page.
pub async fn edit(
    State(deps): State<AppState>,
    SignedIn(mut visit, caller): SignedIn,
    PagePath((id, key)): PagePath<(OrgId, SettingKey)>,
    Form(f): Form<ToggleForm>,
) -> Response {
    // The dialog's save reloads the whole page (the row it edited may not be the only change).
    visit.hx = false;
    set(&deps, &visit, &caller, id, key, &f).await
}
