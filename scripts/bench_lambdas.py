#!/usr/bin/env python3
"""Cold start, calls, memory and size of each Lambda, against two baselines.

Serves the Lambda Runtime API on loopback and, for each binary in turn (11
rounds, binaries alternating), measures:
  init   spawn -> the runtime's first GET /invocation/next
  first  the first event handed over -> its response posted back
  warm   the median of 10 further calls
  RSS    peak resident memory (VmHWM) after the calls
  zip    the binary zipped as `bootstrap` (deflate), as it is deployed
and prints medians, with cold start (init + first) and zip as ratios to the
SDK baseline. Each call's answer is checked against the status its event's
file name expects, so a broken function cannot look fast.

Usage: bench_lambdas.py <release dir> <events dir>   (environment: the
Lambdas' settings, as scripts/bench sets them)
"""
import http.server
import io
import json
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
import zipfile

RUNS = 11
WARM = 10

release, events = sys.argv[1], sys.argv[2]

# (binary, event file, expected status or None for a scheduled job's report)
CASES = [
    ("baseline-hello-lambda", "organizations/list-as-platform-admin.200.json", 200),
    ("baseline-sdk-lambda", "organizations/list-as-platform-admin.200.json", 200),
    ("organizations", "organizations/list-as-platform-admin.200.json", 200),
    ("invite", "invite/list-invitations.200.json", 200),
    ("session", "session/sign-in-wrong-password.401.json", 401),
    ("toggle-setting", "toggle-setting/get-settings-as-partner-user.200.json", 200),
    ("self-register", "organizations/list-as-platform-admin.200.json", 404),
    ("grant-partner-role", "organizations/list-as-platform-admin.200.json", 404),
    ("suspend-inactive", "suspend-inactive/scheduled.200.json", None),
    ("verify-connection", "verify-connection/scheduled.200.json", None),
]

# PORTICO_BENCH_ONLY=a,b: just those binaries (iterating on one function).
if os.environ.get("PORTICO_BENCH_ONLY"):
    only = set(os.environ["PORTICO_BENCH_ONLY"].split(","))
    CASES = [c for c in CASES if c[0] in only]


class Runtime(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a killed function's poll, cut short

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.polls = queue.Queue()      # time of each GET /next
        self.events = queue.Queue()     # (request id, body) to hand out
        self.answers = queue.Queue()    # (time, request id, body or error)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else each answer waits out a delayed ACK (40 ms)

    def log_message(self, *args):
        pass

    def do_GET(self):
        if not self.path.endswith("/runtime/invocation/next"):
            self.send_error(404)
            return
        self.server.polls.put(time.perf_counter())
        rid, body = self.server.events.get()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Lambda-Runtime-Aws-Request-Id", rid)
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench")
        self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        now = time.perf_counter()
        parts = self.path.split("/")
        ok = self.path.endswith("/response")
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        rid = parts[4] if len(parts) > 4 else "init"
        self.server.answers.put((now, rid, body if ok else b"ERROR " + body))


def status_of(body, expected):
    if body.startswith(b"ERROR"):
        return body.decode(errors="replace")[:300]
    doc = json.loads(body)
    if expected is None:
        return None if "examined" in doc else f"not a job report: {body[:200]!r}"
    got = doc.get("statusCode")
    return None if got == expected else f"status {got}, expected {expected}: {doc.get('body', '')[:300]}"


def per_call(event, i):
    """Sign-in calls name a new unknown address each time (five wrong
    passwords for one address would lock it); other events are sent as they are."""
    doc = json.loads(event)
    body = doc.get("body")
    if not (isinstance(body, str) and '"password"' in body):
        return event
    inner = json.loads(body)
    inner["email"] = f"nobody-{i}-{time.monotonic_ns()}@northwind.example.com"
    doc["body"] = json.dumps(inner)
    return json.dumps(doc).encode()


def cpu_ms(pid):
    """CPU time the process has used so far (all its threads), from the
    scheduler's nanosecond counters: what the function itself spent, apart
    from waiting on DynamoDB Local or the Runtime API stub."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except FileNotFoundError:
            pass
    return total / 1e6


def measure(binary, event, expected):
    rt = Runtime()
    threading.Thread(target=rt.serve_forever, daemon=True).start()
    env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{rt.server_address[1]}",
               AWS_LAMBDA_FUNCTION_NAME=binary)
    t0 = time.perf_counter()
    proc = subprocess.Popen([os.path.join(release, binary)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        try:
            polled = rt.polls.get(timeout=30)
        except queue.Empty:
            raise SystemExit(f"{binary} never polled: {proc.stderr.read(2000) if proc.poll() is not None else ''}")
        init = polled - t0
        cpu = [cpu_ms(proc.pid)]
        calls = []
        for i in range(1 + WARM):
            if i:
                rt.polls.get(timeout=30)
                if i == 1:
                    cpu.append(cpu_ms(proc.pid))
            start = time.perf_counter()
            rt.events.put((f"req-{i}", per_call(event, i)))
            done, _, body = rt.answers.get(timeout=30)
            problem = status_of(body, expected)
            if problem:
                raise SystemExit(f"{binary}: call {i}: {problem}")
            calls.append(done - start)
        rt.polls.get(timeout=30)
        cpu.append(cpu_ms(proc.pid))
        with open(f"/proc/{proc.pid}/status") as f:
            hwm = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
        return (init * 1000, calls[0] * 1000, statistics.median(calls[1:]) * 1000, hwm / 1024,
                cpu[0], cpu[1] - cpu[0], (cpu[2] - cpu[1]) / WARM)
    finally:
        proc.kill()
        proc.wait()
        rt.shutdown()


def zipped(binary):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(os.path.join(release, binary), "bootstrap")
    return len(buf.getvalue()) / 1e6


def main():
    results = {b: [] for b, _, _ in CASES}
    for _ in range(RUNS):
        for binary, ev, expected in CASES:
            with open(os.path.join(events, ev), "rb") as f:
                results[binary].append(measure(binary, f.read(), expected))
    med = {b: [statistics.median(r[i] for r in rs) for i in range(7)] for b, rs in results.items()}
    zips = {b: zipped(b) for b in results}
    sdk_cold = med["baseline-sdk-lambda"][0] + med["baseline-sdk-lambda"][1]
    sdk_zip = zips["baseline-sdk-lambda"]
    print(f"\nLambdas: medians of {RUNS} runs each (binaries alternating), {WARM} warm calls a run; "
          f"cold = init + first call; ratios to baseline-sdk-lambda")
    sdk_cpu = med["baseline-sdk-lambda"][4] + med["baseline-sdk-lambda"][5]
    print(f"{'function':<22}{'init ms':>9}{'first ms':>10}{'cold ms':>9}{'warm ms':>9}{'RSS MB':>8}"
          f"{'zip MB':>8}{'cold ×':>8}{'zip ×':>7}   {'CPU ms: init':>12}{'first':>7}{'warm':>7}{'cold ×':>8}")
    for b, (init, first, warm, rss, cpu_init, cpu_first, cpu_warm) in med.items():
        cold = init + first
        print(f"{b:<22}{init:>9.2f}{first:>10.2f}{cold:>9.2f}{warm:>9.2f}{rss:>8.1f}"
              f"{zips[b]:>8.2f}{cold / sdk_cold:>8.2f}{zips[b] / sdk_zip:>7.2f}   "
              f"{cpu_init:>12.2f}{cpu_first:>7.2f}{cpu_warm:>7.2f}{(cpu_init + cpu_first) / sdk_cpu:>8.2f}")
    print("CPU ms: the function's own CPU time (all threads; /proc schedstat) in init, the first call and a warm call.")


main()
