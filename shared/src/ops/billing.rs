//! A customer's invoices and payments: the list (the platform, the
//! customer's Account Owner, and partner users holding `billing.view`
//! there) and the platform's record of one more line.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::Deps;
use crate::audit::{ActionType, Target};
use crate::authz::{Action, OrgFacts};
use crate::billing::{Amount, BillingEntry, Currency, EntryKind, parse_reference};
use crate::delegations::{held_from, held_keys};
use crate::domain::OrgId;
use crate::error::AppError;
use crate::http::principal::Caller;
use crate::ops::accounts::PageQuery;
use crate::ops::instances::customer_of;
use crate::ops::{Change, authenticate_and_query, authenticate_full, on_condition};
use crate::store::{Cond, Index, Query, SkCond, Write, keys};

/// A page of a customer's invoices and payments, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BillingPage {
    pub customer_id: OrgId,
    pub items: Vec<BillingEntry>,
    /// Pass as `cursor` for the next page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The list, newest first. 1 read round trip: the page's query with the
/// caller, the customer and what the caller holds there.
pub async fn list(deps: &Deps, caller: &Caller, customer: OrgId, page: PageQuery) -> Result<BillingPage, AppError> {
    let (limit, cursor) = page.parts()?;
    let q = Query::partition(Index::Primary, keys::org(customer).pk)
        .sk(SkCond::BeginsWith(keys::BILLING_PREFIX.into()))
        .backward()
        .limit(limit)
        .after(cursor);
    let [h0, h1, h2, h3] = held_keys(caller.user_id, caller.org_id, customer);
    let (a, [org, h0, h1, h2, h3], guessed) =
        authenticate_and_query(deps, caller, [keys::org(customer), h0, h1, h2, h3], Some(q.clone())).await?;
    let org = customer_of(org)?;
    let held = held_from([h0, h1, h2, h3], deps.clock.now())?;
    deps.authz
        .require_holding(&a.actor.principal, Action::ViewBilling, &OrgFacts::from(&org), &held)?;
    let found = guessed.page(deps, &q).await?;
    Ok(BillingPage {
        customer_id: org.id,
        items: found.items.iter().map(|i| i.decode()).collect::<Result<_, _>>()?,
        next_cursor: found.next.map(|c| c.as_str().to_string()),
    })
}

/// Body of `POST /customers/{id}/billing` (the platform).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordBillingEntry {
    pub kind: EntryKind,
    /// The invoice's number, or the payment's reference (1 to 40 characters).
    pub reference: String,
    /// The invoice's date, or the day the payment was received (YYYY-MM-DD).
    pub date: NaiveDate,
    /// An invoice's due date, on or after its date (none for a payment).
    #[serde(default)]
    pub due: Option<NaiveDate>,
    /// A decimal string, up to 2 places ("1250.00").
    pub amount: Amount,
    /// ISO 4217 ("EUR").
    pub currency: Currency,
}

/// The platform records an invoice or a payment: 1 read round trip, 1
/// write (the line and its "Update Organization" event in the customer's log).
pub async fn record(
    deps: &Deps,
    caller: &Caller,
    customer: OrgId,
    input: RecordBillingEntry,
) -> Result<BillingEntry, AppError> {
    let (a, [org]) = authenticate_full(deps, caller, [keys::org(customer)]).await?;
    let org = customer_of(org)?;
    deps.authz
        .require(&a.actor.principal, Action::ManageBilling, &OrgFacts::from(&org))?;
    let reference = parse_reference(&input.reference).map_err(|e| AppError::invalid(e.detail()))?;
    match (input.kind, input.due) {
        (EntryKind::Payment, Some(_)) => return Err(AppError::invalid("a payment has no due date")),
        (EntryKind::Invoice, Some(due)) if due < input.date => {
            return Err(AppError::invalid("an invoice is due on or after its date"));
        }
        _ => {}
    }
    let entry = BillingEntry {
        id: deps.ids.new_id(),
        customer_id: org.id,
        kind: input.kind,
        reference,
        date: input.date,
        due: input.due,
        amount: input.amount,
        currency: input.currency,
        recorded_at: deps.clock.now(),
    };
    let what = match entry.kind {
        EntryKind::Invoice => "invoice",
        EntryKind::Payment => "payment",
    };
    Change::new(
        deps,
        &a.actor,
        org.id,
        ActionType::UpdateOrganization,
        Target {
            kind: "billing".into(),
            id: entry.id.to_string(),
        },
        format!(
            "Recorded {what} {} of {}: {} {}",
            entry.reference,
            entry.date,
            entry.amount,
            entry.currency.as_str()
        ),
    )
    .write(Write::Put {
        item: entry.item()?,
        cond: Cond::MustNotExist,
    })
    .after(serde_json::to_value(&entry).map_err(|e| AppError::Internal(e.to_string()))?)
    .commit(deps)
    .await
    .map_err(|e| on_condition(e, |_| Some(AppError::Conflict("This line exists already.".into()))))?;
    Ok(entry)
}
