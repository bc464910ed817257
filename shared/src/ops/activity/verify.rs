//! Verifying an organisation's hash chain: every event's hash recomputed
//! and linked to the one before, from the head down (or from a cursor), at
//! most [`VERIFY_BUDGET`] events a request and a few requests a minute.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::Deps;
use crate::audit::{ActivityEvent, ChainHead, GENESIS};
use crate::authz::Action;
use crate::domain::OrgId;
use crate::error::AppError;
use crate::http::principal::Caller;
use crate::store::{Index, Query, SkCond, StoreError, keys};

use super::{decode, encode, guarded, sk_shape};

/// Events one verify request checks (it returns a cursor to go on).
pub const VERIFY_BUDGET: u64 = 20_000;

/// What `GET /organizations/{id}/activity/verify` found.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    /// True when every event checked is intact and linked to the one before.
    pub intact: bool,
    /// Events checked by this request.
    pub checked: u64,
    /// The first break found, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_break: Option<ChainBreak>,
    /// Events that retention removed before the oldest one kept.
    pub expired_before: Option<u64>,
    /// The chain head: the last event's place and hash (absent: no events yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_seq: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_hash: Option<String>,
    pub retention_days: Option<u32>,
    /// Present when the log is longer than one request checks: pass as `cursor` to go on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChainBreak {
    /// The place in the chain where it breaks.
    pub seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<crate::domain::EventId>,
    pub reason: String,
}

/// Fresh verifications (without a cursor) of one organisation's log that
/// its managers may start a minute, per process (a Lambda instance);
/// platform admins are not limited.
pub const VERIFY_PER_MINUTE: u32 = 6;

static VERIFY_LIMITER: std::sync::LazyLock<governor::DefaultKeyedRateLimiter<OrgId>> = std::sync::LazyLock::new(|| {
    let n = std::num::NonZeroU32::new(VERIFY_PER_MINUTE).unwrap_or(std::num::NonZeroU32::MIN);
    governor::RateLimiter::keyed(governor::Quota::per_minute(n))
});

fn verify_allowed(principal: &crate::authz::Principal, org: OrgId) -> Result<(), AppError> {
    use governor::clock::Clock;
    if principal.org_kind == crate::domain::OrgKind::Platform {
        return Ok(());
    }
    VERIFY_LIMITER
        .check_key(&org)
        .map_err(|not_until| AppError::TooManyRequests {
            retry_after: not_until
                .wait_time_from(governor::clock::DefaultClock::default().now())
                .as_secs()
                .saturating_add(1),
            what: "This organisation's log was verified several times in the last minute.",
        })
}

/// Where a verification goes on from: the last event checked. Only its
/// position is taken from the client: its sequence and hash are read again
/// from the store (and the event's own hash checked), so a made-up cursor
/// cannot claim a chain head that is not there.
#[derive(Debug, Serialize, Deserialize)]
struct VerifyFrom {
    sk: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VerifyParams {
    /// `next` from the previous answer.
    pub cursor: Option<String>,
}

/// Recomputes the chain oldest first: each event's hash over its content,
/// its link to the event before, no gaps but what retention removed, and
/// the head naming the last event. 1000 events per read round trip.
pub async fn verify(deps: &Deps, caller: &Caller, org: OrgId, params: VerifyParams) -> Result<Verification, AppError> {
    let from: Option<VerifyFrom> = match &params.cursor {
        None => None,
        Some(c) => Some(
            decode(c)
                .filter(|v: &VerifyFrom| sk_shape(&v.sk))
                .ok_or(AppError::Store(StoreError::BadCursor))?,
        ),
    };
    let chain = |after: &Option<String>| {
        let sk = match after {
            Some(s) => SkCond::Between(format!("{s}~"), "9".repeat(16)),
            None => SkCond::Between("0".into(), "9".repeat(16)),
        };
        Query::partition(Index::Primary, keys::activity_partition(org))
            .sk(sk)
            .limit(1000)
    };
    let mut last_sk = from.as_ref().map(|f| f.sk.clone());
    // The first page (and the cursor's event) come with the authorization.
    let first_query = chain(&last_sk);
    let resume_key = last_sk
        .as_ref()
        .map(|sk| crate::store::Key::new(keys::activity_partition(org), sk.clone()));
    let resume = async {
        match &resume_key {
            Some(k) => deps.table.get(k).await.map(Some),
            None => Ok(None),
        }
    };
    let (a, _, (first, resumed)) = guarded(
        deps,
        caller,
        org,
        Action::VerifyActivity,
        futures::future::join(deps.table.query(&first_query), resume),
    )
    .await?;
    if resume_key.is_none() {
        verify_allowed(&a.actor.principal, org)?;
    }
    let resumed_from = match resumed? {
        None => None,
        Some(None) => {
            return Err(AppError::invalid(
                "the cursor's event is no longer in the log: verify again from the start",
            ));
        }
        Some(Some(item)) => {
            let e: ActivityEvent = item.decode()?;
            if !e.hash_holds() || Some(&item.sk) != last_sk.as_ref() {
                return Err(AppError::invalid(
                    "the cursor's event does not match its hash: verify again from the start",
                ));
            }
            Some((e.seq, e.hash))
        }
    };
    let mut pending = Some(first);
    let head = ChainHead::decode(a.actor.prefetched_head(org).flatten().as_ref())?.map(|(h, _)| h);
    let now = deps.clock.now();
    let mut out = Verification {
        intact: true,
        checked: 0,
        first_break: None,
        expired_before: None,
        head_seq: head.as_ref().map(|h| h.seq),
        head_hash: head.as_ref().map(|h| h.hash.clone()),
        retention_days: head.as_ref().and_then(|h| h.retention_days),
        next: None,
    };
    let mut prev: Option<(u64, String)> = resumed_from;
    let fail = |out: &mut Verification, seq: u64, id, reason: String| {
        out.intact = false;
        out.first_break = Some(ChainBreak {
            seq,
            event_id: id,
            reason,
        });
    };
    // Events written after the head was read are not this check's business;
    // a page read before the head may lack the newest ones it names, so the
    // walk reads on (a few times at most) until it reaches the head.
    let head_seq = head.as_ref().map_or(0, |h| h.seq);
    let mut catch_up = 3;
    let mut beyond: Option<u64> = None;
    'walk: loop {
        let page = match pending.take() {
            Some(page) => page?,
            None => deps.table.query(&chain(&last_sk)).await?,
        };
        for item in &page.items {
            let e: ActivityEvent = match item.decode() {
                Ok(e) => e,
                Err(_) => {
                    let seq = prev.as_ref().map_or(1, |(s, _)| s + 1);
                    fail(&mut out, seq, None, format!("the item at {} is not an event", item.sk));
                    return Ok(out);
                }
            };
            if e.seq > head_seq {
                beyond = Some(e.seq);
                break 'walk;
            }
            out.checked += 1;
            if !e.hash_holds() || e.org_id != org || item.sk != keys::activity_sk(e.at.timestamp_millis(), e.seq) {
                fail(
                    &mut out,
                    e.seq,
                    Some(e.id),
                    "the event's content does not match its hash".into(),
                );
                return Ok(out);
            }
            let before = prev.as_ref().map_or(0, |(s, _)| *s);
            // Missing events before this one are an expiry only if they all
            // came after the last event kept for good and have all expired.
            let expired_gap = e.prev_kept_seq <= before && e.prev_expires_at.is_some_and(|t| t <= now);
            match &prev {
                Some((ps, ph)) if e.seq == ps + 1 && e.prev_hash != *ph => {
                    fail(
                        &mut out,
                        e.seq,
                        Some(e.id),
                        format!("the event does not follow event {ps}"),
                    );
                    return Ok(out);
                }
                Some((ps, _)) if e.seq <= *ps => {
                    fail(
                        &mut out,
                        e.seq,
                        Some(e.id),
                        format!("the event repeats or precedes event {ps}"),
                    );
                    return Ok(out);
                }
                None if e.seq == 1 && e.prev_hash != GENESIS => {
                    fail(
                        &mut out,
                        1,
                        Some(e.id),
                        "the first event does not start the chain".into(),
                    );
                    return Ok(out);
                }
                _ if e.seq == before + 1 => {}
                _ if expired_gap => {
                    if prev.is_none() {
                        out.expired_before = Some(e.seq);
                    }
                }
                _ => {
                    fail(
                        &mut out,
                        before + 1,
                        None,
                        format!("events {} to {} are missing", before + 1, e.seq - 1),
                    );
                    return Ok(out);
                }
            }
            prev = Some((e.seq, e.hash.clone()));
            last_sk = Some(item.sk.clone());
        }
        if page.next.is_none() {
            let behind = prev.as_ref().map_or(0, |(s, _)| *s) < head_seq;
            if behind && catch_up > 0 {
                catch_up -= 1;
                continue;
            }
            break;
        }
        if out.checked >= VERIFY_BUDGET {
            if let Some(sk) = last_sk {
                out.next = Some(encode(&VerifyFrom { sk }));
            }
            return Ok(out);
        }
    }
    // Events past the head must have been written since it was read: a
    // head that has not moved on (or is missing) was tampered with.
    if let Some(seq) = beyond {
        let now_head = ChainHead::decode(deps.table.get(&keys::activity_head(org)).await?.as_ref())?;
        if now_head.is_none_or(|(h, _)| h.seq < seq) {
            fail(
                &mut out,
                seq,
                None,
                format!("event {seq} is past the chain head (seq {head_seq})"),
            );
            return Ok(out);
        }
    }
    // The newest events: the head must name the last one, or the ones after
    // the last present must all have expired.
    let last = prev.as_ref().map_or(0, |(s, _)| *s);
    match (&head, &prev) {
        (None, None) => {}
        (Some(h), Some((seq, hash))) if h.seq == *seq && h.hash == *hash => {}
        (Some(h), _) if h.seq > last && h.kept_seq <= last && h.expires_at.is_some_and(|t| t <= now) => {
            if prev.is_none() {
                out.expired_before = Some(h.seq + 1);
            }
        }
        (Some(h), _) if h.seq > last => fail(
            &mut out,
            last + 1,
            None,
            format!("events {} to {} are missing", last + 1, h.seq),
        ),
        (_, Some((seq, _))) => fail(
            &mut out,
            *seq,
            None,
            "the chain head does not name the last event".into(),
        ),
        // A head names at least event 1, so the arms above cover it.
        (Some(_), None) => fail(&mut out, 1, None, "the chain head names no event".into()),
    }
    Ok(out)
}
