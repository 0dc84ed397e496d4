"""`GET /api/tasks` of a daemon with TASKS tasks (bench/api_tasks.sh): REQUESTS requests one
after another on one keep-alive connection after WARMUP, as a page or a script polling the
list would make them, timed from the request's first byte out to the answer's last byte in
(the JSON is not decoded inside the timing).

Usage: api_tasks_bench.py RUNWISP_BIN WORKDIR TASKS REQUESTS WARMUP
Prints one JSON object."""

import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rwbench import Daemon  # noqa: E402


def config(tasks):
    out = []
    for i in range(tasks):
        # Half on a schedule (their next firing is computed per answer), in 20 groups.
        out.append(f'[tasks.t{i:04d}]\nrun = "true"\ngroup = "g{i % 20:02d}"\ndescription = "task {i}"\n')
        if i % 2 == 0:
            out.append(f'cron = "{i % 60} {i % 24} * * *"\n')
    return "".join(out)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    bin_path, work, tasks, requests, warmup = sys.argv[1:6]
    tasks, requests, warmup = int(tasks), int(requests), int(warmup)
    daemon = Daemon(bin_path, work, config(tasks))
    try:
        # Some history: every tenth task has a last run to find, the others are looked up too.
        conn = daemon.connect()
        for i in range(0, tasks, 10):
            status, _ = daemon.call("POST", f"/api/tasks/t{i:04d}/run", conn=conn)
            assert status == 201, status
        time.sleep(1)
        conn = daemon.connect()
        headers = {"Authorization": f"Bearer {daemon.token}", "Accept": "application/json"}
        body = b""
        times = []
        for n in range(warmup + requests):
            # The answer's bytes only: decoding 500 KB of JSON in Python would double what is
            # measured; the last answer is decoded and checked below.
            started = time.perf_counter()
            conn.request("GET", "/api/tasks", headers=headers)
            answer = conn.getresponse()
            body = answer.read()
            elapsed = (time.perf_counter() - started) * 1000
            assert answer.status == 200, answer.status
            if n >= warmup:
                times.append(elapsed)
        assert len(json.loads(body)["tasks"]) == tasks
        size = len(body)
    finally:
        daemon.stop()
    print(json.dumps({
        "tasks": tasks, "requests": requests, "bytes": size,
        "p50_ms": round(statistics.median(times), 2),
        "p99_ms": round(percentile(times, 99), 2),
        "max_ms": round(max(times), 2),
    }))


if __name__ == "__main__":
    main()
