#!/usr/bin/env python3
"""The local portal under wrk against an axum hello serving the same body.

wrk: 2 threads, 32 connections, 10 s, with latency percentiles. For each
route (GET /customers/{id}/settings as a Partner User, GET /organizations as
a platform admin) the portal's answer is saved, an axum hello serves those
bytes, and both are loaded in turn. Prints req/s, p99 and the ratio.
Usage: bench_http.py <portal url> <demo-tokens.env> <hello binary> <hello port> <scratch dir>
"""
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

base, env_file, hello, hello_port, scratch = sys.argv[1:6]
env = dict(l.strip().split("=", 1) for l in open(env_file) if "=" in l)


def get(url, token):
    req = urllib.request.Request(url, headers={"authorization": "Bearer " + token})
    with urllib.request.urlopen(req) as r:
        assert r.status == 200, r.status
        return r.read()


def wrk(url, token=None):
    cmd = ["wrk", "-t2", "-c32", "-d10s", "--latency", url]
    if token:
        cmd[1:1] = ["-H", "Authorization: Bearer " + token]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} answers were not 2xx:\n{out}")
    return rps, p99


partner_user = env["PARTNER_USER_TOKEN"]
admin = env["PLATFORM_ADMIN_TOKEN"]
customers = json.loads(get(base + "/organizations?kind=customer", partner_user))["items"]
routes = [
    ("GET /customers/{id}/settings", f"{base}/customers/{customers[0]['id']}/settings", partner_user),
    ("GET /organizations", f"{base}/organizations", admin),
]
print(f"{'route':<32}{'portal req/s':>13}{'p99 ms':>8}{'hello req/s':>12}{'p99 ms':>8}{'portal/hello':>13}")
for name, url, token in routes:
    body = get(url, token)
    path = os.path.join(scratch, "body.json")
    with open(path, "wb") as f:
        f.write(body)
    server = subprocess.Popen([hello, f"127.0.0.1:{hello_port}", path])
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{hello_port}/").read()
                break
            except OSError:
                time.sleep(0.05)
        portal = wrk(url, token)
        baseline = wrk(f"http://127.0.0.1:{hello_port}/")
    finally:
        server.kill()
        server.wait()
    print(f"{name:<32}{portal[0]:>13.0f}{portal[1]:>8.1f}{baseline[0]:>12.0f}{baseline[1]:>8.1f}"
          f"{portal[0] / baseline[0]:>13.2f}   ({len(body)} bytes)")
