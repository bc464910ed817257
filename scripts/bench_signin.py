#!/usr/bin/env python3
"""Sign-in timing on the running portal: the median time of a wrong password for
an existing address against one for an unknown address (the review saw 250 ms
against 0.9 ms). Usage: bench_signin.py <base url> <demo-tokens.env>"""
import json, statistics, sys, time, urllib.request, urllib.error
base, env = sys.argv[1], dict(l.strip().split("=", 1) for l in open(sys.argv[2]) if "=" in l)

def post(path, body, token=None):
    req = urllib.request.Request(base + path, json.dumps(body).encode(), {"content-type": "application/json"})
    if token:
        req.add_header("authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")

email, password = "bench@northwind.example.com", "Correct horse battery staple 42!"
partner = env["PARTNER_MANAGER_TOKEN"]
org = None
with urllib.request.urlopen(urllib.request.Request(base + "/organizations?kind=partner",
                                                  headers={"authorization": "Bearer " + partner})) as r:
    org = json.loads(r.read())["items"][0]["id"]
s, _ = post(f"/organizations/{org}/users", {"email": email, "displayName": "Ben Bench", "role": "partner_user"},
            env["PLATFORM_ADMIN_TOKEN"])
assert s == 201, s
with urllib.request.urlopen(base + "/_local/outbox") as r:
    link = [m for m in json.loads(r.read()) if m["to"] == email][0]["links"][0]
s, _ = post("/password/setup", {"token": link.split("token=")[1], "password": password})
assert s == 200, s

def timed(address, pw):
    t = time.perf_counter()
    s, _ = post("/session", {"email": address, "password": pw})
    return s, (time.perf_counter() - t) * 1000

known, unknown = [], []
for round in range(6):
    # Four wrong passwords (the fifth would start the lock), then the right one.
    for _ in range(4):
        s, ms = timed(email, "not the password at all")
        assert s == 401, s
        known.append(ms)
    assert timed(email, password)[0] == 200
    for i in range(4):
        s, ms = timed(f"nobody-{round}-{i}@northwind.example.com", "not the password at all")
        assert s == 401, s
        unknown.append(ms)
print(f"sign-in, release build, {len(known)} tries each: wrong password for an existing address "
      f"median {statistics.median(known):.1f} ms; unknown address median {statistics.median(unknown):.1f} ms")
