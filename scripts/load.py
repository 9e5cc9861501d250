#!/usr/bin/env python3
"""Open-loop load test for webhook intake: signed GitHub `pull_request` deliveries on loopback.

Deliveries are sent at a fixed rate over a fixed number of connections. Delivery i is scheduled at
start + i/rate, and its latency is measured from that scheduled time to the answer, so a server
(or a load generator) that falls behind shows up as latency instead of a lower send rate. The
latency is the time to the 202, which includes the durable enqueue. Standard library only.

    THOTH_GITHUB_WEBHOOK_SECRETS=load-secret thoth-bot serve &
    python3 scripts/load.py --rate 1000 --seconds 10 -c 32 --prs 1000
    python3 scripts/load.py --rate 1000 -n 5000 --hot-share 1.0          # one hot PR
    python3 scripts/load.py --rate 1000 --seconds 10 --kill-after 5 \\
        --server-cmd 'target/release/thoth-bot serve'                   # kill -9 mid-run

With --kill-after the script starts the server itself (--server-cmd, environment inherited),
kills it with SIGKILL after that many seconds, restarts it, re-sends every delivery that was
answered 202 before the kill (same delivery id, same body) and counts the ones the restarted server
takes as new (`thoth_webhooks_total` outcome "accepted" or "replay" from /metrics): each is a
delivery that was acknowledged but lost.
"""

import argparse
import hashlib
import hmac
import http.client
import itertools
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

FIXTURE = os.path.join(
    os.path.dirname(__file__), "..", "tests", "data", "fixtures", "github", "pull_request", "synchronize.payload.json"
)
HOT_PR = 1


def deliveries(n: int, prs: int, hot_share: float, secret: str):
    """`n` signed deliveries: (delivery id, body, headers). PR numbers spread over `prs` PRs, a
    `hot_share` of them on one hot PR; every body has its own head sha (the replay guard refuses
    a body seen before)."""
    with open(FIXTURE, "rb") as f:
        template = json.load(f)
    salt = uuid.uuid4().hex
    hot_every = round(1 / hot_share) if hot_share > 0 else 0
    out = []
    for i in range(n):
        v = template
        number = HOT_PR if hot_every and i % hot_every == 0 else 1000 + i % max(1, prs)
        v["number"] = v["pull_request"]["number"] = number
        v["pull_request"]["head"]["sha"] = hashlib.sha1(f"{salt}-{i}".encode()).hexdigest()
        body = json.dumps(v).encode()
        delivery = str(uuid.uuid4())
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
            "User-Agent": "GitHub-Hookshot/load",
        }
        out.append((delivery, body, headers))
    return out


class Run:
    """One open-loop run: connection threads take the next delivery index, wait for its slot and
    send it."""

    def __init__(self, url, items, rate, connections, stop_at=None):
        self.url = urllib.parse.urlparse(url)
        self.items = items
        self.rate = rate
        self.connections = connections
        self.stop_at = stop_at  # monotonic time after which nothing more is sent
        self.next = itertools.count()  # thread-safe under the GIL
        self.lock = threading.Lock()
        self.latencies = []
        self.acked = []  # indexes answered 202
        self.errors = []
        self.sent = 0

    def connect(self):
        return http.client.HTTPConnection(self.url.hostname, self.url.port or 80, timeout=30)

    def worker(self, start):
        conn = self.connect()
        while True:
            i = next(self.next)
            if i >= len(self.items):
                break
            scheduled = start + i / self.rate if self.rate else time.perf_counter()
            if self.stop_at is not None and scheduled >= self.stop_at:
                break
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            _, body, headers = self.items[i]
            try:
                conn.request("POST", "/webhooks/github", body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                done = time.perf_counter()
                with self.lock:
                    self.sent += 1
                    if resp.status == 202:
                        self.latencies.append(done - scheduled)
                        self.acked.append(i)
                    else:
                        self.errors.append(resp.status)
            except Exception as e:  # noqa: BLE001 - a killed server: count and reconnect
                with self.lock:
                    self.sent += 1
                    self.errors.append(type(e).__name__)
                conn.close()
                conn = self.connect()
        conn.close()

    def go(self):
        start = time.perf_counter() + 0.05
        threads = [threading.Thread(target=self.worker, args=(start,)) for _ in range(self.connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.elapsed = time.perf_counter() - start
        return self


def report(label, run, target_rate):
    lat = sorted(run.latencies)

    def pct(p):
        return lat[min(len(lat) - 1, int(len(lat) * p))] * 1000 if lat else float("nan")

    achieved = len(lat) / run.elapsed if run.elapsed > 0 else 0.0
    print(
        f"{label}: target {target_rate:g}/s, sent {run.sent}, acked {len(lat)}, errors {len(run.errors)}"
        + (f" (first: {run.errors[:3]})" if run.errors else "")
    )
    print(
        f"  latency ms from scheduled send: p50 {pct(0.50):.2f}  p90 {pct(0.90):.2f}  "
        f"p99 {pct(0.99):.2f}  max {lat[-1] * 1000 if lat else float('nan'):.2f}"
    )
    print(f"  achieved {achieved:.0f}/s over {run.elapsed:.2f} s")
    return {
        "rate": target_rate,
        "acked": len(lat),
        "errors": len(run.errors),
        "p50": pct(0.5),
        "p90": pct(0.9),
        "p99": pct(0.99),
        "max": lat[-1] * 1000 if lat else None,
        "achieved": achieved,
    }


def metric(url, outcome):
    """`thoth_webhooks_total` for GitHub `pull_request` deliveries with this outcome."""
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    total = 0.0
    for line in text.splitlines():
        if (
            line.startswith("thoth_webhooks_total{")
            and 'event="pull_request"' in line
            and f'outcome="{outcome}"' in line
        ):
            total += float(line.rsplit(" ", 1)[1])
    return total


def wait_ready(url, proc, timeout=60):
    u = urllib.parse.urlparse(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            sys.exit(f"server exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=2)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    sys.exit("server not ready in time")


def start_server(cmd):
    return subprocess.Popen(shlex.split(cmd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--secret", default="load-secret")
    ap.add_argument("--rate", type=float, default=500, help="deliveries per second (0: as fast as possible)")
    ap.add_argument("-n", "--requests", type=int, help="deliveries to send (default: rate x seconds)")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("-c", "--connections", type=int, default=32)
    ap.add_argument("--prs", type=int, default=100000, help="distinct PRs the deliveries spread over")
    ap.add_argument("--hot-share", type=float, default=0.0, help="share of deliveries for one hot PR (0..1)")
    ap.add_argument("--warmup", type=int, default=200, help="deliveries sent first and not measured")
    ap.add_argument("--server-cmd", help="command starting the server (needed for --kill-after)")
    ap.add_argument("--kill-after", type=float, help="SIGKILL the server after this many seconds, restart, re-send")
    ap.add_argument("--label", default="", help="name of the run in the output (e.g. the store)")
    ap.add_argument("--json", help="append the result as one JSON line to this file")
    args = ap.parse_args()
    if not 0 <= args.hot_share <= 1:
        sys.exit("--hot-share must be between 0 and 1")
    if args.kill_after is not None and not args.server_cmd:
        sys.exit("--kill-after needs --server-cmd")

    n = args.requests or int(args.rate * args.seconds)
    items = deliveries(n + args.warmup, args.prs, args.hot_share, args.secret)
    warm, items = items[: args.warmup], items[args.warmup :]

    proc = None
    if args.server_cmd:
        proc = start_server(args.server_cmd)
    wait_ready(args.url, proc)
    if warm:
        Run(args.url, warm, 0, min(4, args.connections)).go()

    stop_at = None
    killer = None
    if args.kill_after is not None:
        stop_at = time.perf_counter() + 0.05 + args.kill_after

        def kill():
            delay = stop_at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait()

        killer = threading.Thread(target=kill)
        killer.start()
    # Sending stops at the kill: what was answered 202 before it is what must survive.
    run = Run(args.url, items, args.rate, args.connections, stop_at=stop_at).go()
    if killer is not None:
        killer.join()
    label = f"hot share {args.hot_share:g}" if args.hot_share else f"{min(args.prs, n)} PRs"
    label = f"{args.label} {label}".strip()
    result = report(label, run, args.rate)

    if args.kill_after is not None:
        proc = start_server(args.server_cmd)
        wait_ready(args.url, proc)
        before = metric(args.url, "accepted") + metric(args.url, "replay")
        acked = [items[i] for i in run.acked]
        again = Run(args.url, acked, 0, args.connections).go()
        lost = metric(args.url, "accepted") + metric(args.url, "replay") - before
        print(
            f"  kill -9 after {args.kill_after:g} s: re-sent {len(acked)} acknowledged deliveries, "
            f"{len(again.acked)} answered 202, lost (taken as new): {lost:.0f}"
        )
        result["resent"] = len(acked)
        result["lost"] = lost
    if proc is not None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    if args.json:
        result["label"] = label
        with open(args.json, "a") as f:
            f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
