#!/usr/bin/env python3
"""Reload under load, for bench/reload.sh. Standard library only.

  reload_bench.py BIN WORK TASKS SECONDS RATE RELOADS

Writes a configuration of TASKS tasks into WORK, starts `BIN --headless` there, logs in, and
triggers the first 100 tasks (half, when there are fewer than 200) round-robin at RATE per second for SECONDS (4 connections). Meanwhile
it reloads RELOADS times, evenly spaced, alternating between the first file and one where half
the tasks changed, 50 were added and 50 removed (tasks never triggered). It times each
`POST /api/reload` (read, validate, swap), then waits for every run to end and checks in
runwisp.db that every acknowledged trigger has its row. Prints one JSON object.
"""

import hashlib
import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

bin_path, work, tasks, seconds, rate, reloads = sys.argv[1:7]
tasks, seconds, rate, reloads = int(tasks), float(seconds), int(rate), int(reloads)
HOT = min(100, tasks // 2)


def config(variant):
    """variant 0: the first file; 1: half the tasks changed, 50 added, 50 removed."""
    out = []
    removed = range(tasks - 50, tasks) if variant else range(0)
    for i in range(tasks + (50 if variant else 0)):
        if i in removed:
            continue
        run = "true" if not variant or i % 2 else "true # changed"
        out.append(f'[tasks.t{i:04}]\nrun = "{run}"\ncron = "@every 1h"\nqueue_max = 1000\n')
    return "\n".join(out)


def write(variant):
    path = os.path.join(work, "runwisp.toml")
    with open(path + ".new", "w") as f:
        f.write(config(variant))
    os.replace(path + ".new", path)


sock = socket.socket()
sock.bind(("127.0.0.1", 0))
port = sock.getsockname()[1]
sock.close()
write(0)
daemon = subprocess.Popen(
    [bin_path, "--headless", "--port", str(port)],
    cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(400):
        if os.path.exists(os.path.join(work, "data", "daemon.pid")):
            break
        time.sleep(0.05)

    def connect():
        return http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(conn, method, path, body=None, token=None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        answer = conn.getresponse()
        data = answer.read()
        return answer.status, (json.loads(data) if data else None)

    c = connect()
    password = open(os.path.join(work, "data", "password")).read().strip()
    nonce = call(c, "GET", "/api/auth/challenge")[1]["nonce"]
    response = hashlib.sha256(f"{password}:{nonce}".encode()).hexdigest()
    token = call(c, "POST", "/api/auth", {"nonce": nonce, "response": response})[1]["token"]

    lock = threading.Lock()
    answers = []  # (sent_at, latency_s, status, id)
    start = time.time() + 0.5
    total = int(rate * seconds)
    WORKERS = 4

    def load(k):
        conn = connect()
        for i in range(k, total, WORKERS):
            at = start + i / rate
            delay = at - time.time()
            if delay > 0:
                time.sleep(delay)
            sent = time.time()
            try:
                status, body = call(conn, "POST", f"/api/tasks/t{i % HOT:04}/run", {}, token)
                run = body.get("id") if isinstance(body, dict) else None
            except Exception:  # a refused or broken connection counts as refused
                conn = connect()
                status, run = 0, None
            with lock:
                answers.append((sent, time.time() - sent, status, run))

    threads = [threading.Thread(target=load, args=(k,)) for k in range(WORKERS)]
    for t in threads:
        t.start()
    swaps = []
    for n in range(reloads):
        at = start + seconds * (n + 1) / (reloads + 1)
        time.sleep(max(0.0, at - time.time()))
        write((n + 1) % 2)
        began = time.time()
        status, body = call(c, "POST", "/api/reload", None, token)
        took = time.time() - began
        swaps.append({"at": began, "ms": round(took * 1000, 1), "status": status,
                      "summary": (body or {}).get("summary", body)})
    for t in threads:
        t.join()

    acknowledged = [a for a in answers if a[2] == 201]
    refused = [a for a in answers if a[2] != 201]
    ids = {a[3] for a in acknowledged}
    db = sqlite3.connect(f"file:{os.path.join(work, 'data', 'runwisp.db')}?mode=ro", uri=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        left = db.execute("SELECT count(*) FROM runs WHERE status != 'ended'").fetchone()[0]
        if left == 0:
            break
        time.sleep(0.2)
    rows = {r[0]: r[1] for r in db.execute("SELECT id, end_reason FROM runs WHERE triggered_by = 'api'")}
    lost = [i for i in ids if i not in rows]
    failed = [i for i in ids if rows.get(i) not in ("success",)]

    def p99(values):
        values = sorted(values)
        return round(values[min(len(values) - 1, int(len(values) * 0.99))] * 1000, 1) if values else None

    near = [a[1] for a in answers if any(abs(a[0] - s["at"]) < 1.0 for s in swaps)]
    far = [a[1] for a in answers if all(abs(a[0] - s["at"]) >= 1.0 for s in swaps)]
    print(json.dumps({
        "tasks": tasks, "seconds": seconds, "rate": rate,
        "sent": len(answers), "acknowledged": len(acknowledged), "refused": len(refused),
        "refused_statuses": sorted({a[2] for a in refused}),
        "lost": len(lost), "not_success": len(failed),
        "reloads": swaps,
        "trigger_p99_ms_near_reload": p99(near), "trigger_p99_ms_elsewhere": p99(far),
    }))
finally:
    daemon.send_signal(signal.SIGTERM)
    try:
        daemon.wait(timeout=30)
    except subprocess.TimeoutExpired:
        daemon.kill()
