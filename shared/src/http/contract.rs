//! What the OpenAPI document says beyond each route's own annotations, so
//! that it says exactly what the server does (schemathesis checks it in the
//! test command): the problems every route can answer (a malformed, too
//! large or non-JSON body; a bad parameter; no or a refused token; a
//! throttled public route), the types of ids, the ranges of `limit`, and
//! the lengths and patterns of the values the server parses.

use serde_json::{Value, json};

use super::throttle::PUBLIC_ROUTES;

/// The most rows one listing page returns, by route (the server refuses more).
const LIMITS: [(&str, u64); 6] = [
    ("/organizations", 100),
    ("/organizations/{id}/invitations", 100),
    ("/user-requests", 100),
    ("/organizations/{id}/activity", crate::ops::activity::MAX_PAGE as u64),
    (
        "/organizations/{id}/activity/export",
        crate::ops::activity::MAX_EXPORT as u64,
    ),
    ("/restore-requests", 100),
];

/// Operations that answer 429 besides the public routes, and why.
const THROTTLED: [(&str, &str, &str); 2] = [
    (
        "post",
        "/invitations/customer",
        "The partner sent as many customer invitations as it may today",
    ),
    (
        "get",
        "/organizations/{id}/activity/verify",
        "The log was verified several times in the last minute",
    ),
];

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } },
    })
}

fn add(responses: &mut serde_json::Map<String, Value>, status: u16, description: &str) {
    responses
        .entry(status.to_string())
        .or_insert_with(|| problem(description));
}

/// The finished document, as JSON (utoipa's types do not read back every
/// schema this writes).
pub fn document(doc: &utoipa::openapi::OpenApi) -> Value {
    let mut v = serde_json::to_value(doc).unwrap_or_default();
    finish(&mut v);
    v
}

fn finish(v: &mut Value) {
    if let Some(paths) = v["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            let Some(ops) = item.as_object_mut() else { continue };
            for (method, op) in ops.iter_mut() {
                operation(path, method, op);
            }
        }
    }
    let schemas = &mut v["components"]["schemas"];
    schemas["ExportFormat"] =
        json!({ "type": "string", "enum": ["csv", "ndjson"], "description": "The export's format." });
    let mut set = |name: &str, extra: Value| {
        if let (Some(s), Some(e)) = (schemas.get_mut(name).and_then(Value::as_object_mut), extra.as_object()) {
            s.extend(e.clone());
        }
    };
    set("OrgName", json!({ "minLength": 2, "maxLength": 100 }));
    set("DisplayName", json!({ "minLength": 1, "maxLength": 100 }));
    set("EmailAddress", json!({ "maxLength": 254 }));
    set(
        "SettingKey",
        json!({ "minLength": 2, "maxLength": 64, "pattern": "^[a-z][a-z0-9_.-]{1,63}$" }),
    );
    // Ranges the operations check.
    let hours =
        json!({ "minimum": crate::accounts::INVITATION_MIN_HOURS, "maximum": crate::accounts::INVITATION_MAX_HOURS });
    for (schema, property, extra) in [
        ("InvitePartner", "expiresInHours", hours.clone()),
        ("InviteCustomer", "expiresInHours", hours.clone()),
        ("Resend", "expiresInHours", hours),
        ("Retention", "days", json!({ "minimum": 1, "maximum": 36500 })),
        ("CatalogueEntry", "name", json!({ "minLength": 1, "maxLength": 100 })),
        (
            "CatalogueEntry",
            "description",
            json!({ "minLength": 1, "maxLength": 500 }),
        ),
    ] {
        if let (Some(p), Some(e)) = (
            schemas[schema]["properties"]
                .get_mut(property)
                .and_then(Value::as_object_mut),
            extra.as_object(),
        ) {
            p.extend(e.clone());
        }
    }
    // Request bodies refuse unknown fields (`deny_unknown_fields`).
    if let Some(all) = schemas.as_object_mut() {
        for name in REQUEST_BODIES {
            if let Some(s) = all.get_mut(name).and_then(Value::as_object_mut) {
                s.insert("additionalProperties".into(), json!(false));
            }
        }
    }
}

/// The request bodies' schemas (all refuse unknown fields).
const REQUEST_BODIES: [&str; 24] = [
    "AcceptCustomerInvitation",
    "AskRestore",
    "CatalogueEntry",
    "ConfirmEmail",
    "CreateOrganization",
    "Decision",
    "EnrolmentConfirm",
    "EnrolmentStart",
    "Forgot",
    "InviteCustomer",
    "InvitePartner",
    "MfaAnswer",
    "MfaPolicy",
    "NewGrant",
    "NewUser",
    "Recover",
    "Resend",
    "ResetMfa",
    "Retention",
    "RunSweep",
    "SetPassword",
    "SetSetting",
    "SignInRequest",
    "TrustedRanges",
];

fn operation(path: &str, method: &str, op: &mut Value) {
    // `format` is the export's: the listing refuses it.
    if path == "/organizations/{id}/activity"
        && let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut)
    {
        params.retain(|p| p["name"] != "format");
    }
    let has_body = op.get("requestBody").is_some();
    let secured = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    let mut has_path_param = false;
    let mut has_param = false;
    if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
        for p in params.iter_mut() {
            has_param = true;
            let name = p["name"].as_str().unwrap_or_default().to_string();
            match (p["in"].as_str().unwrap_or_default(), name.as_str()) {
                ("path", "id" | "userId" | "user") => {
                    has_path_param = true;
                    p["schema"] = json!({ "type": "string", "format": "uuid" });
                }
                ("path", "key") => {
                    has_path_param = true;
                    p["schema"] = json!({ "$ref": "#/components/schemas/SettingKey" });
                }
                ("path", _) => has_path_param = true,
                ("query", "limit") => {
                    let max = LIMITS.iter().find(|(p, _)| *p == path).map_or(100, |(_, m)| *m);
                    p["schema"] = json!({ "type": "integer", "minimum": 1, "maximum": max });
                }
                ("query", "cursor") => {
                    p["schema"] = json!({ "type": "string", "minLength": 1, "maxLength": 2048 });
                }
                _ => {}
            }
        }
    }
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    if has_body {
        add(responses, 400, "The body is not well-formed JSON, or breaks a rule");
        add(responses, 413, "The body (or the change) is too large");
        add(responses, 415, "The body is not `application/json`");
        add(responses, 422, "The body does not have the fields this route takes");
    }
    if has_param {
        add(responses, 400, "A parameter is malformed");
    }
    if has_path_param {
        add(responses, 404, "Not found, or not visible to the caller");
    }
    if secured {
        add(responses, 401, "No valid token, or its session has ended");
        // A denied read answers 404 when the caller cannot see the
        // organisation at all, 403 when it can but may not do this; every
        // route answers 403 to a suspended account, one that must enrol MFA
        // first, and a partner user who must re-confirm their email.
        add(
            responses,
            403,
            "Refused: not allowed, suspended, MFA enrolment or email confirmation first",
        );
    }
    let public = method == "post" && PUBLIC_ROUTES.contains(&path);
    if public {
        add(
            responses,
            429,
            "Too many requests from this address (or wrong passwords for this account); see Retry-After",
        );
    }
    if let Some((_, _, why)) = THROTTLED.iter().find(|(m, p, _)| *m == method && *p == path) {
        add(responses, 429, why);
    }
}
