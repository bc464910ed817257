#!/usr/bin/env python3
"""Writes the sample API Gateway (HTTP API v2) events in events/<function>/.

Each file is named <what>.<expected status>.json; tests/tests/all/events.rs
feeds every one through its function's router and checks the status. The
claims name the demo users as seeded with sequential ids of prefix 0:
orgs ...01 (platform) ...02 (Northwind, partner) ...03/...04 (its customers),
users ...05 admin, ...06 partner manager, ...07 partner user, ...08 customer owner.
Each claim set names a session (`origin_jti`): sample-session-<user id>, which
the test opens for each demo user (and sample-signout-<user id>, which the
sign-out sample ends).
Run it again after changing routes: python3 scripts/make-events.py
"""
import base64
import hashlib
import json
import os
import urllib.parse
import uuid

ROOT = os.path.join(os.path.dirname(__file__), "..", "events")


def u(n):
    return f"00000000-0000-0000-0000-{n:012x}"


ORG_OF = {u(5): u(1), u(6): u(2), u(7): u(2), u(8): u(3)}
KIND_OF = {u(5): "platform", u(6): "partner", u(7): "partner", u(8): "customer"}
ADMIN, MANAGER, PUSER, OWNER = u(5), u(6), u(7), u(8)
UNKNOWN = "0190a000-0000-7000-8000-000000000000"


def ev(method, path, user=None, body=None, query=None, route=None, params=None, session="sample-session",
       token_use="id"):
    route_key = f"{method} {route or path}"
    e = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query or "",
        "headers": {"accept": "application/json", "content-type": "application/json",
                    "host": "api.portico.example.com", "user-agent": "curl/8.5.0"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123", "domainName": "api.portico.example.com",
            "domainPrefix": "api",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "198.51.100.7",
                     "userAgent": "curl/8.5.0"},
            "requestId": "req-1", "routeKey": route_key, "stage": "$default",
            "time": "23/Nov/2026:10:00:00 +0000", "timeEpoch": 1795428000000,
        },
        "isBase64Encoded": False,
    }
    if user:
        e["requestContext"]["authorizer"] = {"jwt": {"claims": {
            "sub": "a1b2c3d4-0000-4000-8000-cognito-sub", "cognito:username": user, "custom:org": ORG_OF[user], "custom:org_kind": KIND_OF[user],
            "email": "someone@example.com", "token_use": token_use, "auth_time": "1795427000",
            "origin_jti": f"{session}-{user}",
            "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_example"}, "scopes": None}}
    if query:
        e["queryStringParameters"] = dict(kv.split("=") for kv in query.split("&"))
    if body is not None:
        e["body"] = body if isinstance(body, str) else json.dumps(body)
    if params:
        e["pathParameters"] = params
    return e


def org_route(method, sub, org, user, body=None):
    return ev(method, f"/organizations/{org}{sub}", user, body, route="/organizations/{id}" + sub, params={"id": org})


def id_route(method, prefix, sub, ident, user, body=None):
    return ev(method, f"{prefix}/{ident}{sub}", user, body, route=prefix + "/{id}" + sub, params={"id": ident})


def inst_route(method, sub, user, instance=None, body=None):
    """A route of one customer's (Contoso's) instances; `sub` names `{instance}` if it has one."""
    params = {"id": u(3)}
    path = f"/customers/{u(3)}/instances" + sub
    if instance:
        params["instance"] = instance
        path = path.replace("{instance}", instance)
    return ev(method, path, user, body, route="/customers/{id}/instances" + sub, params=params)


def group_route(method, sub, user, member=None, role="phone-manager"):
    """A route of Northwind's group for Contoso's `role`; `sub` is "" or "/members/<user>"."""
    params = {"id": u(2), "customer": u(3), "role": role}
    route = "/organizations/{id}/groups/{customer}/{role}"
    if member:
        params["user"] = member
        route += "/members/{user}"
    return ev(method, f"/organizations/{u(2)}/groups/{u(3)}/{role}" + sub, user, route=route, params=params)


def delegation(method, user, roles=None, notify=None, customer=u(3), partner=u(2)):
    """A request to the roles a customer delegates to a partner (seed 004's dialog)."""
    body = None if roles is None else {"roles": roles, "notify": notify}
    return ev(method, f"/customers/{customer}/delegations/{partner}", user, body,
              route="/customers/{id}/delegations/{partner}", params={"id": customer, "partner": partner})


def holders(user, everyone, customer=u(3)):
    """Northwind's managers choose who of theirs holds a customer's delegated roles."""
    return ev("PUT", f"/organizations/{u(2)}/delegations/{customer}/holders", user, {"everyone": everyone},
              route="/organizations/{id}/delegations/{customer}/holders", params={"id": u(2), "customer": customer})


def pull(instance, signature=None):
    """The pull path as an instance calls it: no bearer token, its id and (perhaps) a signature."""
    e = ev("GET", "/instance-api/settings")
    e["headers"]["portico-instance"] = instance
    if signature:
        e["headers"]["portico-signature"] = signature
    return e


def b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def browser_id(user, kind="sample-browser"):
    """The random part of the sample browser session tests/src/lib.rs opens for `user`."""
    return b64(hashlib.sha256(f"{kind}-{user}".encode()).digest())


def web_ev(method, path, user=None, form=None, query=None, site="same-origin", csrf=True, kind="sample-browser"):
    """A request to the web pages (the HTTP API's default route): a browser's
    cookie (a demo user's sample session, or an anonymous one), its CSRF
    token in forms, and its fetch metadata."""
    e = ev(method, path, query=query)
    e["routeKey"] = "$default"
    e["requestContext"]["routeKey"] = "$default"
    e["headers"] = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8", "host": "portal.example.com",
                    "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0"}
    if user:
        rid = browser_id(user, kind)
        kind = {"platform": 0, "partner": 1, "customer": 2}[KIND_OF[user]]
        value = "s." + b64(uuid.UUID(user).bytes + uuid.UUID(ORG_OF[user]).bytes + bytes([kind])) + "." + rid
    else:
        rid = b64(hashlib.sha256(b"sample-anonymous").digest())
        value = "a." + rid
    e["cookies"] = [f"__Host-portico={value}"]
    if method != "GET":
        e["headers"]["sec-fetch-site"] = site
        e["headers"]["origin"] = "https://portal.example.com" if site == "same-origin" else "https://elsewhere.example"
        e["headers"]["content-type"] = "application/x-www-form-urlencoded"
        fields = dict(form or {})
        if csrf:
            fields = {"_csrf": hashlib.sha256(b"portico-csrf\0" + rid.encode()).hexdigest(), **fields}
        e["body"] = urllib.parse.urlencode(fields)
    return e


SAMPLES = {
    "organizations": {
        "create-partner.201": ev("POST", "/organizations", ADMIN, {"name": "Globex Resellers", "kind": "partner"}),
        "create-customer-linked-to-partner.201": ev("POST", "/organizations", ADMIN,
                                                    {"name": "Initech", "kind": "customer", "partnerOfRecord": u(2)}),
        "create-as-partner-user.403": ev("POST", "/organizations", PUSER, {"name": "Sneaky", "kind": "partner"}),
        "create-with-unknown-field.422": ev("POST", "/organizations", ADMIN,
                                            {"name": "Acme", "kind": "partner", "orgId": u(1)}),
        "create-malformed-json.400": ev("POST", "/organizations", ADMIN, "{\"name\":"),
        "list-as-platform-admin.200": ev("GET", "/organizations", ADMIN),
        "list-customers-as-partner-user.200": ev("GET", "/organizations", PUSER, query="kind=customer&limit=10"),
        "list-without-authorizer-claims.401": ev("GET", "/organizations"),
        "list-with-an-access-token.401": ev("GET", "/organizations", ADMIN, token_use="access"),
        "list-with-a-session-portico-never-opened.401": ev("GET", "/organizations", ADMIN, session="direct-sign-in"),
        "get-linked-customer-as-partner-manager.200": org_route("GET", "", u(3), MANAGER),
        "get-platform-as-customer-owner.404": org_route("GET", "", u(1), OWNER),
        "delete-a-customer-with-users.409": org_route("DELETE", "", u(3), ADMIN),
        "delete-as-partner-manager.403": org_route("DELETE", "", u(3), MANAGER),
        "rename-a-partner-as-its-user.403": org_route("PUT", "/name", u(2), PUSER, {"name": "Southwind", "version": 1}),
        "rename-to-a-taken-name.409": org_route("PUT", "/name", u(3), OWNER, {"name": "Fabrikam Inc", "version": 1}),
        "trusted-ranges-as-partner-manager.200": org_route("GET", "/trusted-ranges", u(2), MANAGER),
        "set-trusted-ranges-as-partner-user.403": org_route("PUT", "/trusted-ranges", u(2), PUSER,
                                                            {"ranges": ["203.0.113.0/24"], "version": 1}),
        "mfa-policy-as-account-owner.200": org_route("PUT", "/mfa-policy", u(3), OWNER, {"required": False, "version": 1}),
        "mfa-policy-of-a-partner.400": org_route("PUT", "/mfa-policy", u(2), ADMIN, {"required": False, "version": 1}),
        "set-trusted-ranges-bad-cidr.400": org_route("PUT", "/trusted-ranges", u(2), MANAGER,
                                                     {"ranges": ["203.0.113.0/33"], "version": 1}),
        "activity-of-linked-customer-as-partner-user.200": ev(
            "GET", f"/organizations/{u(3)}/activity", PUSER, query="action=Update%20Configuration&limit=20",
            route="/organizations/{id}/activity", params={"id": u(3)}),
        "activity-of-its-partner-as-customer-owner.404": org_route("GET", "/activity", u(2), OWNER),
        "billing-as-partner-user.200": ev("GET", f"/customers/{u(3)}/billing", PUSER,
                                          route="/customers/{id}/billing", params={"id": u(3)}),
        "billing-of-a-partner.404": ev("GET", f"/customers/{u(2)}/billing", ADMIN,
                                       route="/customers/{id}/billing", params={"id": u(2)}),
        "record-invoice.201": ev("POST", f"/customers/{u(3)}/billing", ADMIN,
                                 {"kind": "invoice", "reference": "INV-2026-0042", "date": "2026-12-01",
                                  "due": "2026-12-31", "amount": "1250.00", "currency": "EUR"},
                                 route="/customers/{id}/billing", params={"id": u(3)}),
        "record-invoice-as-account-owner.403": ev("POST", f"/customers/{u(3)}/billing", OWNER,
                                                  {"kind": "payment", "reference": "PAY-1", "date": "2026-12-02",
                                                   "amount": "10", "currency": "EUR"},
                                                  route="/customers/{id}/billing", params={"id": u(3)}),
        "capabilities-as-partner-manager.403": org_route("PUT", "/capabilities", u(2), MANAGER,
                                                         {"capabilities": {"selfManagement": True, "userManagement": True,
                                                                           "roles": True, "drivers": False,
                                                                           "classifiers": False}, "version": 1}),
        "capabilities-of-a-customer.400": org_route("PUT", "/capabilities", u(3), ADMIN,
                                                    {"capabilities": {"selfManagement": True, "userManagement": True,
                                                                      "roles": True, "drivers": False,
                                                                      "classifiers": False}, "version": 1}),
        "seats-1-set-purchasable.200": org_route("PUT", "/seats", u(2), ADMIN,
                                                 {"allocation": {"kind": "purchasable", "seats": 5}}),
        "seats-2-ask-for-more.201": org_route("POST", "/seats/requests", u(2), MANAGER, {"seats": 3}),
        "seats-3-as-partner-manager.200": org_route("GET", "/seats", u(2), MANAGER),
        "seats-4-requests-waiting.200": ev("GET", "/seat-requests", ADMIN),
        "seats-5-decide-unknown-request.404": ev("POST", f"/seat-requests/{UNKNOWN}/decision", ADMIN,
                                                 {"approve": True}, route="/seat-requests/{id}/decision",
                                                 params={"id": UNKNOWN}),
        "seats-set-as-partner-manager.403": org_route("PUT", "/seats", u(2), MANAGER,
                                                      {"allocation": {"kind": "unlimited"}}),
        "record-a-float-amount.422": ev("POST", f"/customers/{u(3)}/billing", ADMIN,
                                        {"kind": "payment", "reference": "PAY-2", "date": "2026-12-02",
                                         "amount": 12.5, "currency": "EUR"},
                                        route="/customers/{id}/billing", params={"id": u(3)}),
        "activity-with-unknown-action-type.400": ev(
            "GET", f"/organizations/{u(2)}/activity", MANAGER, query="action=Reboot",
            route="/organizations/{id}/activity", params={"id": u(2)}),
        "activity-export-ndjson-as-platform-admin.200": ev(
            "GET", f"/organizations/{u(3)}/activity/export", ADMIN, query="format=ndjson",
            route="/organizations/{id}/activity/export", params={"id": u(3)}),
        "activity-verify-as-account-owner.200": org_route("GET", "/activity/verify", u(3), OWNER),
        "activity-retention-as-partner-manager.200": org_route("GET", "/activity/retention", u(2), MANAGER),
        "set-activity-retention-as-platform-admin.200": org_route("PUT", "/activity/retention", u(3), ADMIN,
                                                                 {"days": 365}),
        "set-activity-retention-as-partner-manager.403": org_route("PUT", "/activity/retention", u(2), MANAGER,
                                                                  {"days": 30}),
    },
    "instances": {
        "register-as-admin.201": inst_route("POST", "", ADMIN, None,
                                            {"name": "Production", "url": "https://contoso.example.com"}),
        "register-as-partner-manager.403": inst_route("POST", "", MANAGER, None,
                                                      {"name": "Production", "url": "https://contoso.example.com"}),
        "register-plain-http.400": inst_route("POST", "", ADMIN, None,
                                              {"name": "Production", "url": "http://contoso.example.com"}),
        "register-metadata-address.400": inst_route("POST", "", ADMIN, None,
                                                    {"name": "Production", "url": "https://169.254.169.254"}),
        "list-as-partner-user.200": inst_route("GET", "", PUSER),
        "list-of-another-customer.404": ev("GET", f"/customers/{u(4)}/instances", OWNER,
                                           route="/customers/{id}/instances", params={"id": u(4)}),
        "get-unknown-instance.404": inst_route("GET", "/{instance}", OWNER, UNKNOWN),
        "verify-unknown-instance.404": inst_route("POST", "/{instance}/verify", PUSER, UNKNOWN, {}),
        "ask-recreate-unknown-instance.404": inst_route("POST", "/{instance}/recreate-requests", MANAGER, UNKNOWN,
                                                        {"newUrl": "https://new.contoso.example.com"}),
        "recreate-unknown-instance.404": inst_route("POST", "/{instance}/recreate", ADMIN, UNKNOWN, {}),
        "list-recreate-requests.200": ev("GET", "/recreate-requests", ADMIN),
        "list-recreate-requests-as-partner-manager.403": ev("GET", "/recreate-requests", MANAGER),
        "pull-unsigned.401": pull(UNKNOWN),
        "pull-of-an-unknown-instance.401": pull(UNKNOWN, "t=1795428000,n=sample-nonce,v1=" + "ab" * 32),
        "pull-with-a-malformed-signature.401": pull(UNKNOWN, "sha256=abc"),
        "change-support-profile-as-account-owner.403": inst_route("PUT", "/{instance}/support-profile", OWNER, UNKNOWN,
                                                                  {"roles": ["Viewer"]}),
        "change-support-profile-of-unknown-instance.404": inst_route("PUT", "/{instance}/support-profile", ADMIN,
                                                                     UNKNOWN, {"roles": ["Admin"]}),
    },
    "instance-access": {
        "jwks.200": ev("GET", "/.well-known/jwks.json"),
        "login-keys-as-admin.200": ev("GET", "/login-keys", ADMIN),
        "login-keys-as-partner-manager.403": ev("GET", "/login-keys", MANAGER),
        "stage-login-key-as-partner-user.403": ev("POST", "/login-keys", PUSER, {}),
        "activate-unknown-login-key.404": ev("POST", "/login-keys/no-such-kid/activate", ADMIN,
                                             route="/login-keys/{kid}/activate", params={"kid": "no-such-kid"}),
        "unpublish-unknown-login-key.404": ev("DELETE", "/login-keys/no-such-kid", ADMIN,
                                              route="/login-keys/{kid}", params={"kid": "no-such-kid"}),
        "access-as-partner-user.200": ev("GET", f"/customers/{u(3)}/access", PUSER,
                                         route="/customers/{id}/access", params={"id": u(3)}),
        "access-of-another-customer.404": ev("GET", f"/customers/{u(4)}/access", OWNER,
                                             route="/customers/{id}/access", params={"id": u(4)}),
        "set-consent-of-unknown-instance.404": inst_route("PUT", "/{instance}/access", OWNER, UNKNOWN,
                                                          {"mode": "standing"}),
        "set-consent-as-partner-manager.403": inst_route("PUT", "/{instance}/access", MANAGER, UNKNOWN,
                                                         {"mode": "standing"}),
        "set-consent-bad-mode.400": inst_route("PUT", "/{instance}/access", OWNER, UNKNOWN, {"mode": "always"}),
        "set-notices-daily.200": ev("PUT", f"/customers/{u(3)}/access-notices", OWNER, {"mode": "daily_digest"},
                                    route="/customers/{id}/access-notices", params={"id": u(3)}),
        "ask-access-to-unknown-instance.404": inst_route("POST", "/{instance}/access-requests", PUSER, UNKNOWN,
                                                         {"reason": "Ticket 4411: SSO broken", "durationMinutes": 60}),
        "ask-access-too-long.400": inst_route("POST", "/{instance}/access-requests", PUSER, UNKNOWN,
                                              {"reason": "Ticket 4411: SSO broken", "durationMinutes": 99999}),
        "decide-unknown-request.404": ev("POST", f"/customers/{u(3)}/access-requests/{UNKNOWN}/decision", OWNER,
                                         {"approve": True}, route="/customers/{id}/access-requests/{request}/decision",
                                         params={"id": u(3), "request": UNKNOWN}),
        "my-access-requests.200": ev("GET", "/access-requests", PUSER),
        "log-in-to-unknown-instance.404": inst_route("POST", "/{instance}/login", PUSER, UNKNOWN),
        "log-in-as-account-owner.403": inst_route("POST", "/{instance}/login", OWNER, UNKNOWN),
    },
    "grant-partner-role": {
        "delegation-as-partner-user.200": delegation("GET", PUSER),
        "delegation-of-another-customer.404": delegation("GET", OWNER, customer=u(4)),
        "delegation-to-a-customer.404": delegation("GET", OWNER, partner=u(4)),
        "contact-in-person-unknown-user.404": ev(
            "GET", f"/customers/{u(3)}/delegations/{u(2)}/users/{UNKNOWN}", OWNER,
            route="/customers/{id}/delegations/{partner}/users/{user}",
            params={"id": u(3), "partner": u(2), "user": UNKNOWN}),
        "contact-in-person-not-of-the-partner.404": ev(
            "PUT", f"/customers/{u(3)}/delegations/{u(2)}/users/{OWNER}", OWNER,
            {"roles": ["phone-manager"], "notify": ["it@northwind.example.com"]},
            route="/customers/{id}/delegations/{partner}/users/{user}",
            params={"id": u(3), "partner": u(2), "user": OWNER}),
        "set-roles-phone-manager.200": delegation("PUT", OWNER, ["phone-manager"], ["it@northwind.example.com"]),
        "set-roles-as-partner-manager.403": delegation("PUT", MANAGER, ["phone-manager"],
                                                       ["it@northwind.example.com"]),
        "set-roles-telling-nobody.400": delegation("PUT", OWNER, ["phone-manager"], []),
        "group-not-granted.404": group_route("GET", "", MANAGER, role="phone-manager"),
        "group-of-another-partner.404": group_route("GET", "", OWNER),
        "add-member-to-a-group-not-granted.404": group_route("PUT", f"/members/{PUSER}", MANAGER, PUSER,
                                                             role="phone-manager"),
        "propose-in-bulk.200": ev("POST", f"/organizations/{u(2)}/delegations/bulk", MANAGER,
                               {"idempotencyKey": "sample-bulk-0001", "action": "request", "customers": [u(3), u(4)],
                                "roles": ["phone-manager"], "termDays": 90, "notify": ["it@northwind.example.com"]},
                               route="/organizations/{id}/delegations/bulk", params={"id": u(2)}),
        "propose-in-bulk-short-key.400": ev("POST", f"/organizations/{u(2)}/delegations/bulk", MANAGER,
                                 {"idempotencyKey": "x", "action": "revoke", "customers": [u(3)],
                                  "notify": ["it@northwind.example.com"]},
                                 route="/organizations/{id}/delegations/bulk", params={"id": u(2)}),
        "holders-groups-only.200": holders(MANAGER, False),
        "relationships-of-a-partner.200": ev("GET", f"/organizations/{u(2)}/relationships", PUSER,
                                             route="/organizations/{id}/relationships", params={"id": u(2)}),
        "relationships-of-its-partner-as-customer.404": ev("GET", f"/organizations/{u(2)}/relationships", OWNER,
                                                           route="/organizations/{id}/relationships",
                                                           params={"id": u(2)}),
        "request-phone-manager.200": ev("POST", f"/customers/{u(4)}/delegations/{u(2)}/request", MANAGER,
                                        {"roles": ["phone-manager"], "notify": ["it@fabrikam.example.com"],
                                         "termDays": 90},
                                        route="/customers/{id}/delegations/{partner}/request",
                                        params={"id": u(4), "partner": u(2)}),
        "request-as-partner-user.403": ev("POST", f"/customers/{u(3)}/delegations/{u(2)}/request", PUSER,
                                          {"roles": ["phone-manager"], "notify": ["it@contoso.example.com"]},
                                          route="/customers/{id}/delegations/{partner}/request",
                                          params={"id": u(3), "partner": u(2)}),
        "decide-with-nothing-waiting.409": ev("POST", f"/customers/{u(3)}/delegations/{u(2)}/decision", OWNER,
                                              {"approve": True, "notify": ["it@northwind.example.com"]},
                                              route="/customers/{id}/delegations/{partner}/decision",
                                              params={"id": u(3), "partner": u(2)}),
        "holders-as-partner-user.403": holders(PUSER, True),
        "holders-of-an-unknown-customer.404": holders(MANAGER, True, customer=UNKNOWN),
        "add-member-as-partner-user.403": group_route("PUT", f"/members/{PUSER}", PUSER, PUSER),
        "remove-member-bad-role.400": ev("DELETE", f"/organizations/{u(2)}/groups/{u(3)}/Not_A_Role/members/{PUSER}",
                                         MANAGER, route="/organizations/{id}/groups/{customer}/{role}/members/{user}",
                                         params={"id": u(2), "customer": u(3), "role": "Not_A_Role",
                                                 "user": PUSER}),
    },
    "toggle-setting": {
        "get-settings-as-partner-user.200": ev("GET", f"/customers/{u(3)}/settings", PUSER,
                                               route="/customers/{id}/settings", params={"id": u(3)}),
        "get-settings-of-another-customer.404": ev("GET", f"/customers/{u(4)}/settings", OWNER,
                                                   route="/customers/{id}/settings", params={"id": u(4)}),
        "toggle-general-setting.200": ev("PUT", f"/customers/{u(3)}/settings/feed.comments", PUSER,
                                         {"enabled": False, "version": 0}, route="/customers/{id}/settings/{key}",
                                         params={"id": u(3), "key": "feed.comments"}),
        "toggle-restricted-as-partner-user.403": ev("PUT", f"/customers/{u(3)}/settings/sso.enforce", PUSER,
                                                    {"enabled": True, "version": 0},
                                                    route="/customers/{id}/settings/{key}",
                                                    params={"id": u(3), "key": "sso.enforce"}),
        "toggle-paid-add-on-as-admin.403": ev("PUT", f"/customers/{u(3)}/settings/livestream", ADMIN,
                                              {"enabled": True, "version": 0}, route="/customers/{id}/settings/{key}",
                                              params={"id": u(3), "key": "livestream"}),
        "grant-restricted-setting.201": ev("POST", f"/partners/{u(2)}/setting-grants", MANAGER,
                                           {"userId": PUSER, "key": "data.export"}, route="/partners/{id}/setting-grants",
                                           params={"id": u(2)}),
        "grant-paid-add-on.400": ev("POST", f"/partners/{u(2)}/setting-grants", MANAGER,
                                    {"userId": PUSER, "key": "livestream"}, route="/partners/{id}/setting-grants",
                                    params={"id": u(2)}),
        "list-grants-by-setting.200": ev("GET", f"/partners/{u(2)}/setting-grants", MANAGER, query="key=sso.enforce",
                                         route="/partners/{id}/setting-grants", params={"id": u(2)}),
        "revoke-missing-grant.404": ev("DELETE", f"/partners/{u(2)}/setting-grants/{PUSER}/guest.access", MANAGER,
                                       route="/partners/{id}/setting-grants/{user}/{key}",
                                       params={"id": u(2), "user": PUSER, "key": "guest.access"}),
        "get-catalogue.200": ev("GET", "/settings-catalogue", PUSER),
        "add-catalogue-entry.200": ev("PUT", "/settings-catalogue/chat.enabled", ADMIN,
                                      {"name": "Chat", "description": "Direct messages between people.",
                                       "group": "general", "restricted": False, "defaultEnabled": True, "version": 1},
                                      route="/settings-catalogue/{key}", params={"key": "chat.enabled"}),
        "add-catalogue-entry-as-partner-manager.403": ev("PUT", "/settings-catalogue/chat.enabled", MANAGER,
                                                         {"name": "Chat", "description": "x", "group": "general",
                                                          "restricted": False, "defaultEnabled": True, "version": 1},
                                                         route="/settings-catalogue/{key}",
                                                         params={"key": "chat.enabled"}),
        "toggle-stale-version.409": ev("PUT", f"/customers/{u(3)}/settings/feed.reactions", MANAGER,
                                       {"enabled": False, "version": 5}, route="/customers/{id}/settings/{key}",
                                       params={"id": u(3), "key": "feed.reactions"}),
    },
    "invite": {
        "list-users-as-partner-manager.200": org_route("GET", "/users", u(2), MANAGER),
        "restrict-unknown-user.404": ev("PUT", f"/organizations/{u(2)}/users/{UNKNOWN}/restrictions", ADMIN,
                                        {"hideOrganizationSettings": True},
                                        route="/organizations/{id}/users/{userId}/restrictions",
                                        params={"id": u(2), "userId": UNKNOWN}),
        "restrict-as-partner-manager.403": ev("PUT", f"/organizations/{u(2)}/users/{PUSER}/restrictions", MANAGER,
                                              {"hideOrganizationSettings": True},
                                              route="/organizations/{id}/users/{userId}/restrictions",
                                              params={"id": u(2), "userId": PUSER}),
        "remove-user-unknown.404": ev("DELETE", f"/organizations/{u(2)}/users/{UNKNOWN}", ADMIN,
                                      route="/organizations/{id}/users/{userId}",
                                      params={"id": u(2), "userId": UNKNOWN}),
        "remove-user-without-user-management.403": ev("DELETE", f"/organizations/{u(2)}/users/{PUSER}", MANAGER,
                                                      route="/organizations/{id}/users/{userId}",
                                                      params={"id": u(2), "userId": PUSER}),
        "staff-as-partner-manager.200": ev("GET", f"/customers/{u(3)}/staff", MANAGER,
                                           route="/customers/{id}/staff", params={"id": u(3)}),
        "staff-as-partner-user.403": ev("GET", f"/customers/{u(3)}/staff", PUSER,
                                        route="/customers/{id}/staff", params={"id": u(3)}),
        "staff-invite-system-administrator.201": ev("POST", f"/customers/{u(3)}/staff", OWNER,
                                                    {"email": "sam@contoso.example.com", "displayName": "Sam Admin",
                                                     "role": "customer_admin"},
                                                    route="/customers/{id}/staff", params={"id": u(3)}),
        "staff-invite-a-partner-role.400": ev("POST", f"/customers/{u(3)}/staff", OWNER,
                                              {"email": "pat@contoso.example.com", "displayName": "Pat",
                                               "role": "partner_user"},
                                              route="/customers/{id}/staff", params={"id": u(3)}),
        "staff-demote-the-only-owner.409": ev("PUT", f"/customers/{u(3)}/staff/{u(8)}", OWNER,
                                              {"role": "customer_user"}, route="/customers/{id}/staff/{user}",
                                              params={"id": u(3), "user": u(8)}),
        "staff-remove-unknown-user.404": ev("DELETE", f"/customers/{u(3)}/staff/{UNKNOWN}", OWNER,
                                            route="/customers/{id}/staff/{user}",
                                            params={"id": u(3), "user": UNKNOWN}),
        "list-users-of-a-customer-as-partner-user.403": org_route("GET", "/users", u(3), PUSER),
        "invite-partner-manager.201": ev("POST", "/invitations/partner", ADMIN,
                                         {"organizationName": "Umbrella Partners", "email": "pm@umbrella.example.com",
                                          "displayName": "Uma Manager"}),
        "invite-partner-as-partner-manager.403": ev("POST", "/invitations/partner", MANAGER,
                                                    {"organizationName": "Sneaky", "email": "x@sneaky.example.com",
                                                     "displayName": "X"}),
        "invite-customer.201": ev("POST", "/invitations/customer", MANAGER, {"email": "owner@initech.example.com"}),
        "invite-customer-bad-email.422": ev("POST", "/invitations/customer", MANAGER,
                                            {"email": "owner@initech.example.com\r\nBcc: x@evil.example.com"}),
        "list-invitations.200": org_route("GET", "/invitations", u(2), MANAGER),
        "list-invitations-of-another-org.404": org_route("GET", "/invitations", u(2), OWNER),
        "revoke-unknown-invitation.404": id_route("POST", "/invitations", "/revoke", UNKNOWN, MANAGER),
        "resend-unknown-invitation.404": id_route("POST", "/invitations", "/resend", UNKNOWN, MANAGER, {}),
        "accept-with-unknown-token.404": ev("POST", "/invitations/accept", None,
                                            {"token": "A" * 43, "organizationName": "Initech",
                                             "displayName": "Ian", "password": "Correct horse battery staple 42!"}),
        "request-user.201": ev("POST", "/user-requests", MANAGER,
                               {"email": "new@northwind.example.com", "displayName": "Ned New", "role": "partner_user"}),
        "list-user-requests.200": ev("GET", "/user-requests", ADMIN),
        "decide-unknown-request.404": id_route("POST", "/user-requests", "/decision", UNKNOWN, ADMIN, {"approve": True}),
        "add-user.201": org_route("POST", "/users", u(2), ADMIN,
                                  {"email": "added@northwind.example.com", "displayName": "Ada Added",
                                   "role": "partner_user"}),
        "add-user-as-partner-manager.403": org_route("POST", "/users", u(2), MANAGER,
                                                     {"email": "x@northwind.example.com", "displayName": "X",
                                                      "role": "partner_user"}),
        "ask-restore-for-an-active-user.409": ev(
            "POST", f"/organizations/{u(2)}/users/{PUSER}/restore-request", MANAGER,
            route="/organizations/{id}/users/{userId}/restore-request", params={"id": u(2), "userId": PUSER}),
        "reinstate-an-active-user.409": ev(
            "POST", f"/organizations/{u(2)}/users/{PUSER}/reinstate", ADMIN,
            route="/organizations/{id}/users/{userId}/reinstate", params={"id": u(2), "userId": PUSER}),
        "reinstate-as-partner-manager.403": ev(
            "POST", f"/organizations/{u(2)}/users/{PUSER}/reinstate", MANAGER,
            route="/organizations/{id}/users/{userId}/reinstate", params={"id": u(2), "userId": PUSER}),
        "list-restore-requests.200": ev("GET", "/restore-requests", ADMIN),
        "run-inactivity-sweep.200": ev("POST", "/inactivity/sweep", ADMIN, {}),
        "run-inactivity-sweep-as-partner-manager.403": ev("POST", "/inactivity/sweep", MANAGER, {}),
    },
    "workspace": {
        "workspace-as-admin.200": ev("GET", "/workspace", ADMIN),
        "workspace-as-partner-manager.403": ev("GET", "/workspace", MANAGER),
        "projects-as-admin.200": ev("GET", "/projects", ADMIN),
        "my-projects-as-partner-user.200": ev("GET", "/projects", PUSER),
        "project-for-a-partner.400": ev("POST", "/projects", ADMIN,
                                        {"customer": u(2), "name": "Rollout", "phases": ["Discovery"],
                                         "start": "2026-11-02"}),
        "unknown-project.404": ev("GET", f"/projects/{UNKNOWN}", ADMIN,
                                  route="/projects/{id}", params={"id": UNKNOWN}),
        "tasks-of-unknown-project-as-partner-user.404": ev(
            "GET", f"/projects/{UNKNOWN}/phases/1/tasks", PUSER,
            route="/projects/{id}/phases/{phase}/tasks", params={"id": UNKNOWN, "phase": "1"}),
        "resource-profile-of-self.200": ev("GET", f"/organizations/{u(2)}/users/{PUSER}/resource", PUSER,
                                           route="/organizations/{orgId}/users/{userId}/resource",
                                           params={"orgId": u(2), "userId": PUSER}),
        "week-not-a-monday.400": ev("GET", f"/organizations/{u(2)}/users/{PUSER}/timesheets/2026-12-01", PUSER,
                                    route="/organizations/{orgId}/users/{userId}/timesheets/{week}",
                                    params={"orgId": u(2), "userId": PUSER, "week": "2026-12-01"}),
        "someone-elses-week-as-customer.404": ev("GET", f"/organizations/{u(2)}/users/{PUSER}/timesheets/2026-11-30",
                                                 OWNER,
                                                 route="/organizations/{orgId}/users/{userId}/timesheets/{week}",
                                                 params={"orgId": u(2), "userId": PUSER, "week": "2026-11-30"}),
        "approvals-as-admin.200": ev("GET", "/approvals", ADMIN),
        "save-workspace-stale.409": ev("PUT", "/workspace", ADMIN, {
            "levels": [{"name": "Viewer", "may": ["read"]}], "defaultExternalLevel": "Viewer", "version": 5}),
        "edit-unknown-project.404": ev("PUT", f"/projects/{UNKNOWN}", ADMIN,
                                       {"version": 1, "name": "Rollout", "phases": ["Discovery"], "start": "2026-11-02"},
                                       route="/projects/{id}", params={"id": UNKNOWN}),
        "health-of-unknown-project.404": ev("PUT", f"/projects/{UNKNOWN}/health", ADMIN,
                                            {"version": 1, "health": "amber", "reason": "Late data"},
                                            route="/projects/{id}/health", params={"id": UNKNOWN}),
        "members-of-unknown-project.404": ev("GET", f"/projects/{UNKNOWN}/members", ADMIN,
                                             route="/projects/{id}/members", params={"id": UNKNOWN}),
        "assign-to-unknown-project.404": ev("PUT", f"/projects/{UNKNOWN}/members/{PUSER}", ADMIN,
                                            {"phases": [{"phase": 1, "role": "Consultant"}]},
                                            route="/projects/{id}/members/{userId}",
                                            params={"id": UNKNOWN, "userId": PUSER}),
        "remove-from-unknown-project.404": ev("DELETE", f"/projects/{UNKNOWN}/members/{PUSER}", ADMIN,
                                              route="/projects/{id}/members/{userId}",
                                              params={"id": UNKNOWN, "userId": PUSER}),
        "reports-of-unknown-project.404": ev("GET", f"/projects/{UNKNOWN}/reports", ADMIN,
                                             route="/projects/{id}/reports", params={"id": UNKNOWN}),
        "report-on-unknown-project.404": ev("POST", f"/projects/{UNKNOWN}/reports", ADMIN,
                                            {"periodStart": "2026-11-02", "periodEnd": "2026-11-13",
                                             "summary": "Kick-off done.", "health": "green"},
                                            route="/projects/{id}/reports", params={"id": UNKNOWN}),
        "activity-of-unknown-project.404": ev("GET", f"/projects/{UNKNOWN}/activity", ADMIN,
                                              route="/projects/{id}/activity", params={"id": UNKNOWN}),
        "own-supervisor-as-partner-user.403": ev(
            "PUT", f"/organizations/{u(2)}/users/{PUSER}/resource", PUSER,
            {"version": 0, "skills": ["Rust"], "hoursPerWeek": 32, "supervisor": ADMIN},
            route="/organizations/{orgId}/users/{userId}/resource", params={"orgId": u(2), "userId": PUSER}),
        "own-timesheets.200": ev("GET", f"/organizations/{u(2)}/users/{PUSER}/timesheets", PUSER,
                                 route="/organizations/{orgId}/users/{userId}/timesheets",
                                 params={"orgId": u(2), "userId": PUSER}),
        "log-time-on-unknown-project.400": ev(
            "POST", f"/organizations/{u(2)}/users/{PUSER}/timesheets/2026-11-30/entries", PUSER,
            {"day": "2026-12-01", "projectId": UNKNOWN, "phase": 1, "taskId": UNKNOWN, "hours": "7.5"},
            route="/organizations/{orgId}/users/{userId}/timesheets/{week}/entries",
            params={"orgId": u(2), "userId": PUSER, "week": "2026-11-30"}),
        "delete-unknown-entry.404": ev(
            "DELETE", f"/organizations/{u(2)}/users/{PUSER}/timesheets/2026-11-30/entries/{UNKNOWN}", PUSER,
            route="/organizations/{orgId}/users/{userId}/timesheets/{week}/entries/{entryId}",
            params={"orgId": u(2), "userId": PUSER, "week": "2026-11-30", "entryId": UNKNOWN}),
        "submit-an-empty-week.409": ev(
            "POST", f"/organizations/{u(2)}/users/{PUSER}/timesheets/2026-11-30/submit", PUSER, {"version": 0},
            route="/organizations/{orgId}/users/{userId}/timesheets/{week}/submit",
            params={"orgId": u(2), "userId": PUSER, "week": "2026-11-30"}),
        "decide-a-week-not-submitted-to-you.403": ev(
            "POST", f"/organizations/{u(2)}/users/{PUSER}/timesheets/2026-11-30/decision", ADMIN,
            {"version": 0, "approve": True},
            route="/organizations/{orgId}/users/{userId}/timesheets/{week}/decision",
            params={"orgId": u(2), "userId": PUSER, "week": "2026-11-30"}),
        "own-expenses.200": ev("GET", f"/organizations/{u(2)}/users/{PUSER}/expenses", PUSER,
                               route="/organizations/{orgId}/users/{userId}/expenses",
                               params={"orgId": u(2), "userId": PUSER}),
        "claim-without-a-supervisor.409": ev(
            "POST", f"/organizations/{u(2)}/users/{PUSER}/expenses", PUSER,
            {"spentOn": "2026-12-01", "amount": {"amount": "42.10", "currency": "EUR"}, "category": "travel",
             "description": "Train to Contoso"},
            route="/organizations/{orgId}/users/{userId}/expenses", params={"orgId": u(2), "userId": PUSER}),
        "change-unknown-expense.404": ev(
            "PUT", f"/organizations/{u(2)}/users/{PUSER}/expenses/{UNKNOWN}", PUSER,
            {"version": 1, "spentOn": "2026-12-01", "amount": {"amount": "42.10", "currency": "EUR"},
             "category": "travel", "description": "Train to Contoso"},
            route="/organizations/{orgId}/users/{userId}/expenses/{expenseId}",
            params={"orgId": u(2), "userId": PUSER, "expenseId": UNKNOWN}),
        "milestones-of-unknown-project.404": ev("GET", f"/projects/{UNKNOWN}/phases/1/milestones", ADMIN,
                                              route="/projects/{id}/phases/{phase}/milestones",
                                              params={"id": UNKNOWN, "phase": "1"}),
        "add-milestones-to-unknown-project.404": ev("POST", f"/projects/{UNKNOWN}/phases/1/milestones", ADMIN, {"name": "Go-live", "planned": "2026-12-18"},
                                               route="/projects/{id}/phases/{phase}/milestones",
                                               params={"id": UNKNOWN, "phase": "1"}),
        "change-milestones-of-unknown-project.404": ev("PUT", f"/projects/{UNKNOWN}/phases/1/milestones/{UNKNOWN}", ADMIN,
                                                  dict({"name": "Go-live", "planned": "2026-12-18"}, version=1),
                                                  route="/projects/{id}/phases/{phase}/milestones/{itemId}",
                                                  params={"id": UNKNOWN, "phase": "1", "itemId": UNKNOWN}),
        "tasks-of-unknown-project.404": ev("GET", f"/projects/{UNKNOWN}/phases/1/tasks", ADMIN,
                                              route="/projects/{id}/phases/{phase}/tasks",
                                              params={"id": UNKNOWN, "phase": "1"}),
        "add-tasks-to-unknown-project.404": ev("POST", f"/projects/{UNKNOWN}/phases/1/tasks", ADMIN, {"title": "Map the data", "status": "todo"},
                                               route="/projects/{id}/phases/{phase}/tasks",
                                               params={"id": UNKNOWN, "phase": "1"}),
        "change-tasks-of-unknown-project.404": ev("PUT", f"/projects/{UNKNOWN}/phases/1/tasks/{UNKNOWN}", ADMIN,
                                                  dict({"title": "Map the data", "status": "todo"}, version=1),
                                                  route="/projects/{id}/phases/{phase}/tasks/{itemId}",
                                                  params={"id": UNKNOWN, "phase": "1", "itemId": UNKNOWN}),
        "raid-of-unknown-project.404": ev("GET", f"/projects/{UNKNOWN}/phases/1/raid", ADMIN,
                                              route="/projects/{id}/phases/{phase}/raid",
                                              params={"id": UNKNOWN, "phase": "1"}),
        "add-raid-to-unknown-project.404": ev("POST", f"/projects/{UNKNOWN}/phases/1/raid", ADMIN, {"kind": "risk", "title": "Data quality", "severity": "high", "status": "open"},
                                               route="/projects/{id}/phases/{phase}/raid",
                                               params={"id": UNKNOWN, "phase": "1"}),
        "change-raid-of-unknown-project.404": ev("PUT", f"/projects/{UNKNOWN}/phases/1/raid/{UNKNOWN}", ADMIN,
                                                  dict({"kind": "risk", "title": "Data quality", "severity": "high", "status": "open"}, version=1),
                                                  route="/projects/{id}/phases/{phase}/raid/{itemId}",
                                                  params={"id": UNKNOWN, "phase": "1", "itemId": UNKNOWN}),
        "decide-unknown-expense.404": ev(
            "POST", f"/organizations/{u(2)}/users/{PUSER}/expenses/{UNKNOWN}/decision", ADMIN,
            {"version": 1, "approve": True},
            route="/organizations/{orgId}/users/{userId}/expenses/{expenseId}/decision",
            params={"orgId": u(2), "userId": PUSER, "expenseId": UNKNOWN}),
    },
    "self-register": {
        "partner-portal-as-admin.200": ev("GET", "/partner-portal", ADMIN),
        "partner-portal-as-partner-manager.403": ev("GET", "/partner-portal", MANAGER),
        "save-partner-portal-stale.409": ev("PUT", "/partner-portal", ADMIN,
                                            {"organizations": True, "partnerPortal": True,
                                             "allowExternalCreation": False, "version": 5}),
        "save-self-registration-without-model-user.400": ev("PUT", "/partner-portal", ADMIN,
                                                            {"organizations": True, "partnerPortal": True,
                                                             "allowExternalCreation": True, "version": 0}),
        "portal-texts-without-sign-in.200": ev("GET", "/portal-texts"),
        "save-portal-text-stale.409": ev("PUT", "/portal-texts/initiation", ADMIN,
                                         {"html": "<p>Welcome</p>", "version": 3},
                                         route="/portal-texts/{name}", params={"name": "initiation"}),
        "save-portal-text-unknown.400": ev("PUT", "/portal-texts/footer", ADMIN,
                                           {"html": "<p>Welcome</p>", "version": 0},
                                           route="/portal-texts/{name}", params={"name": "footer"}),
        "signup-link-while-self-registration-off.409": ev("POST", "/partner-portal/signup-link", ADMIN, {}),
        "signup-key-for-a-customer.400": ev("POST", f"/organizations/{u(3)}/signup-key", ADMIN, {},
                                            route="/organizations/{id}/signup-key", params={"id": u(3)}),
        "signup-page-of-an-unknown-link.404": ev("GET", "/signup-links/not-a-link",
                                                 route="/signup-links/{link}", params={"link": "not-a-link"}),
        "sign-up-through-an-unknown-link.404": ev("POST", "/signup-links/not-a-link/signups", None,
                                                  {"email": "sigrid@globex.example.com",
                                                   "organizationName": "Globex", "displayName": "Sigrid"},
                                                  route="/signup-links/{link}/signups", params={"link": "not-a-link"}),
        "complete-signup-with-unknown-token.404": ev("POST", "/signup/complete", None,
                                                     {"token": "A" * 43, "password": "Correct horse battery staple 42!"}),
        "signups-waiting.200": ev("GET", "/signups", ADMIN),
        "decide-unknown-signup.404": ev("POST", f"/signups/{UNKNOWN}/decision", ADMIN, {"approve": True},
                                        route="/signups/{id}/decision", params={"id": UNKNOWN}),
    },
    "session": {
        "sign-in-wrong-password.401": ev("POST", "/session", None,
                                         {"email": "user@northwind.example.com", "password": "not the password"}),
        "sign-in-unknown-field.422": ev("POST", "/session", None,
                                        {"email": "user@northwind.example.com", "password": "x", "role": "admin"}),
        "mfa-with-stale-session.401": ev("POST", "/session/mfa", None, {"session": "stale", "code": "123456"}),
        "mfa-setup-with-stale-session.401": ev("POST", "/session/mfa-setup", None, {"session": "stale"}),
        "mfa-setup-confirm-with-stale-session.401": ev("POST", "/session/mfa-setup/confirm", None,
                                                       {"session": "stale", "code": "123456"}),
        "recover-without-codes.401": ev("POST", "/session/recover", None,
                                        {"email": "user@northwind.example.com", "password": "x",
                                         "recoveryCode": "ABCD-EFGH-JKLM-NPQR"}),
        "set-password-with-unknown-token.404": ev("POST", "/password/setup", None,
                                                  {"token": "A" * 43, "password": "Correct horse battery staple 42!"}),
        "forgot-password.202": ev("POST", "/password/forgot", None, {"email": "user@northwind.example.com"}),
        "forgot-password-unknown-address.202": ev("POST", "/password/forgot", None, {"email": "nobody@example.com"}),
        "restore-request.202": ev("POST", "/session/restore-request", None, {"email": "user@northwind.example.com"}),
        "restore-request-not-an-email.422": ev("POST", "/session/restore-request", None, {"email": "not-an-email"}),
        "confirm-email-with-unknown-token.404": ev("POST", "/email/confirm", None, {"token": "A" * 43}),
        "reset-mfa-signed-in-long-ago.401": ev("POST", "/me/mfa/reset", PUSER, {"password": "whatever it is"}),
        "sign-out.204": ev("DELETE", "/session", OWNER, session="sample-signout"),
        "sign-out-unknown-parameter.400": ev("DELETE", "/session", OWNER, query="everywhere=maybe",
                                             session="sample-signout"),
    },
}

PW = "Correct horse battery staple 42!"
SAMPLES["web"] = {
    "start-page.200": web_ev("GET", "/"),
    "sign-in-page.200": web_ev("GET", "/sign-in"),
    "sign-in-wrong-password.401": web_ev("POST", "/sign-in", form={"email": "user@northwind.example.com",
                                                                   "password": "not the password"}),
    "sign-in-without-csrf-token.403": web_ev("POST", "/sign-in", csrf=False,
                                             form={"email": "user@northwind.example.com", "password": "x"}),
    "sign-in-from-another-site.403": web_ev("POST", "/sign-in", site="cross-site",
                                            form={"email": "user@northwind.example.com", "password": "x"}),
    "setup-password-page-of-an-unknown-link.404": web_ev("GET", "/setup-password", query="token=" + "A" * 43),
    "set-password-with-unknown-link.404": web_ev("POST", "/setup-password",
                                                 form={"token": "A" * 43, "password": PW, "password-again": PW}),
    "customers-signed-out.303": web_ev("GET", "/customers"),
    "customers-as-partner-user.200": web_ev("GET", "/customers", PUSER),
    "settings-as-partner-user.200": web_ev("GET", f"/customers/{u(3)}", PUSER),
    "settings-of-another-customer-as-owner.404": web_ev("GET", f"/customers/{u(4)}", OWNER),
    "toggle-as-partner-user.303": web_ev("POST", f"/customers/{u(3)}/toggle/feed.comments", PUSER,
                                         form={"enabled": "false", "version": "0"}),
    "toggle-from-another-site.403": web_ev("POST", f"/customers/{u(3)}/toggle/feed.comments", PUSER,
                                           site="cross-site", form={"enabled": "false", "version": "0"}),
    "sign-out.303": web_ev("POST", "/sign-out", OWNER, kind="sample-browser-signout"),
    "unknown-page.404": web_ev("GET", "/no-such-page"),
    "signup-page-of-an-unknown-link.404": web_ev("GET", "/signup", query="link=not-a-link"),
    "stylesheet.200": web_ev("GET", "/assets/portico.css"),
}

for function, samples in SAMPLES.items():
    folder = os.path.join(ROOT, function)
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.endswith(".json") and name[:-5] not in samples:
            os.remove(os.path.join(folder, name))
    for name, event in samples.items():
        with open(os.path.join(folder, name + ".json"), "w") as f:
            json.dump(event, f, indent=2)
            f.write("\n")
