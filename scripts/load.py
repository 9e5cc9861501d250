#!/usr/bin/env python3
"""Load test for webhook intake: signed `pull_request` deliveries on loopback.

Reports the ack latency (time to the 202, which includes the durable enqueue) as p50/p90/p99 and
the request rate. Standard library only.

    thoth-bot serve with THOTH_GITHUB_WEBHOOK_SECRETS=load-secret, then:
    python3 scripts/load.py --url http://127.0.0.1:8080 --secret load-secret -n 5000 -c 16
"""

import argparse
import hashlib
import hmac
import http.client
import json
import os
import statistics
import threading
import time
import urllib.parse
import uuid

FIXTURE = os.path.join(
    os.path.dirname(__file__), "..", "tests", "data", "fixtures", "github", "pull_request", "opened.payload.json"
)


def payload(i: int) -> bytes:
    with open(FIXTURE, "rb") as f:
        v = json.load(f)
    # Distinct PRs so coalescing does not fold the jobs together; a plausible 40-hex head.
    v["number"] = v["pull_request"]["number"] = 100000 + i
    v["pull_request"]["head"]["sha"] = hashlib.sha1(str(i).encode()).hexdigest()
    return json.dumps(v).encode()


def worker(url, secret, bodies, results, errors, lock):
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=30)
    for body in bodies:
        sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": sig,
            "User-Agent": "GitHub-Hookshot/load",
        }
        t = time.perf_counter()
        try:
            conn.request("POST", "/webhooks/github", body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            dt = time.perf_counter() - t
            with lock:
                if resp.status == 202:
                    results.append(dt)
                else:
                    errors.append(resp.status)
        except Exception as e:  # noqa: BLE001 - count and go on
            with lock:
                errors.append(repr(e))
            conn.close()
            conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--secret", default="load-secret")
    ap.add_argument("-n", "--requests", type=int, default=2000)
    ap.add_argument("-c", "--concurrency", type=int, default=16)
    args = ap.parse_args()

    bodies = [payload(i) for i in range(args.requests)]
    chunks = [bodies[i :: args.concurrency] for i in range(args.concurrency)]
    results, errors, lock = [], [], threading.Lock()
    threads = [
        threading.Thread(target=worker, args=(args.url, args.secret, c, results, errors, lock)) for c in chunks
    ]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start

    results.sort()
    def pct(p):
        return results[min(len(results) - 1, int(len(results) * p))] * 1000 if results else float("nan")
    print(f"requests: {args.requests}, concurrency: {args.concurrency}, accepted: {len(results)}, errors: {len(errors)}")
    if errors:
        print(f"first errors: {errors[:5]}")
    print(f"ack latency ms: p50 {pct(0.50):.2f}  p90 {pct(0.90):.2f}  p99 {pct(0.99):.2f}  max {results[-1]*1000 if results else float('nan'):.2f}"
          f"  mean {statistics.mean(results)*1000 if results else float('nan'):.2f}")
    print(f"throughput: {len(results) / elapsed:.0f} req/s over {elapsed:.2f}s")


if __name__ == "__main__":
    main()
