#!/usr/bin/env python3
"""Measurements for bench/daemon.sh that are awkward in shell: percentiles from runwisp.db,
start-up time to data/daemon.pid, and a process's idle footprint from /proc.

Each command prints `key=value` lines. Standard library only.

  skew DB                             start_at - scheduled_for of cron runs (ms)
  startup OUT BIN CONFIG DATA N MODE  spawn the daemon N times, time until DATA/daemon.pid
                                      appears, SIGTERM it; MODE fresh (empty data directory each
                                      time) or warm (the same one, after one unmeasured boot)
  downtime OUT BIN CONFIG TEMPLATE DATA N EXPECTED
                                      N boots on a copy of TEMPLATE (a data directory whose
                                      tasks were last seen a year ago): time until
                                      DATA/daemon.pid appears, until EXPECTED catch-up runs
                                      are recorded, and until they have all ended; SIGTERM
  children PID                        how many live descendants PID has
  idle PID SECONDS                    RSS, CPU and wake-ups of PID and of its descendants over
                                      SECONDS
  percentiles JSON                    p50/p99/max (ms) of a hyperfine --export-json file
"""

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def quantile(values, q):
    """Nearest rank, as the Rust helper does."""
    values = sorted(values)
    rank = min(max(int(-(-q * len(values) // 1)), 1), len(values))
    return values[rank - 1]


def summary(prefix, values):
    print(f"{prefix}count={len(values)}")
    if not values:
        return
    print(f"{prefix}min_ms={min(values):.2f}")
    print(f"{prefix}p50_ms={quantile(values, 0.50):.2f}")
    print(f"{prefix}p99_ms={quantile(values, 0.99):.2f}")
    print(f"{prefix}max_ms={max(values):.2f}")


def skew(db):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = conn.execute(
        "SELECT scheduled_for, start_at - scheduled_for FROM runs "
        "WHERE triggered_by = 'cron' AND start_at IS NOT NULL"
    ).fetchall()
    summary("", [float(r[1]) for r in rows])
    instants = {}
    for at, lag in rows:
        instants.setdefault(at, []).append(lag)
    print(f"instants={len(instants)}")
    print("per_instant=" + ", ".join(
        f"{len(v)} runs max {max(v)} ms" for _, v in sorted(instants.items())))
    pending = conn.execute(
        "SELECT count(*) FROM runs WHERE triggered_by = 'cron' AND start_at IS NULL"
    ).fetchone()[0]
    print(f"not_started={pending}")


def boot(cmd, log, out, pid_file):
    """Spawns the daemon and waits until pid_file appears; returns it and when it was spawned."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=log, stderr=log)
    while not os.path.exists(pid_file):
        if proc.poll() is not None:
            sys.exit(f"the daemon exited with {proc.returncode} before booting; see {out}")
        if time.perf_counter() - start > 30:
            proc.kill()
            sys.exit("the daemon did not boot within 30 s")
        time.sleep(0.0002)
    return proc, start


def startup(out, binary, config, data, n, mode):
    pid_file = os.path.join(data, "daemon.pid")
    times, stale = [], []
    cmd = [binary, "--config", config, "--data", data, "--headless", "--port", "0"]
    rounds = n if mode == "fresh" else n + 1
    for i in range(rounds):
        if mode == "fresh" or i == 0:
            shutil.rmtree(data, ignore_errors=True)
            os.mkdir(data, 0o700)
        if os.path.exists(pid_file):
            # Left by a daemon killed before it could remove it (see the report).
            os.remove(pid_file)
            stale.append(i)
        with open(out, "ab") as log:
            proc, start = boot(cmd, log, out, pid_file)
            elapsed = (time.perf_counter() - start) * 1000
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        if mode == "fresh" or i > 0:
            times.append(elapsed)
    summary("", times)
    print(f"stale_pid_files={len(stale)}")


def downtime(out, binary, config, template, data, n, expected):
    pid_file = os.path.join(data, "daemon.pid")
    db = os.path.join(data, "runwisp.db")
    cmd = [binary, "--config", config, "--data", data, "--headless", "--port", "0"]
    boots, recorded, ended, counts = [], [], [], []

    def catch_up(conn, what):
        return conn.execute(
            f"SELECT count(*) FROM runs WHERE triggered_by = 'catch_up' {what}"
        ).fetchone()[0]

    for _ in range(n):
        shutil.rmtree(data, ignore_errors=True)
        shutil.copytree(template, data)
        with open(out, "ab") as log:
            proc, start = boot(cmd, log, out, pid_file)
            boots.append((time.perf_counter() - start) * 1000)
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
            seen_recorded = None
            while True:
                now = time.perf_counter()
                made = catch_up(conn, "")
                if seen_recorded is None and made >= expected:
                    seen_recorded = (now - start) * 1000
                if made >= expected and catch_up(conn, "AND end_at IS NULL") == 0:
                    ended.append((now - start) * 1000)
                    break
                if now - start > 120:
                    proc.kill()
                    sys.exit(f"only {made} of {expected} catch-up runs after 120 s")
                time.sleep(0.005)
            recorded.append(seen_recorded)
            counts.append(catch_up(conn, ""))
            conn.close()
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    summary("boot_", boots)
    summary("recorded_", recorded)
    summary("ended_", ended)
    print(f"catch_up_runs={min(counts)}..{max(counts)}")


def stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    # The command name may hold spaces; the fields after it are fixed.
    return text[text.rindex(")") + 2:].split()


def descendants(pid):
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            parents[int(entry)] = int(stat_fields(entry)[1])
        except (OSError, ValueError):
            continue
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier and p not in found}
        found |= frontier
    return sorted(found)


def status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            out[key] = value.split()[0] if value.split() else ""
    return out


def sample(pid):
    """CPU ticks, CPU ns (schedstat, all threads), context switches (all threads)."""
    fields = stat_fields(pid)
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    ns, switches = 0, 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                ns += int(f.read().split()[0])
            st = status(f"{pid}/task/{tid}")
            switches += int(st["voluntary_ctxt_switches"]) + int(st["nonvoluntary_ctxt_switches"])
        except (OSError, KeyError):
            continue
    return ticks, ns, switches


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def idle(pid, seconds):
    pid = int(pid)
    kids = descendants(pid)
    before = sample(pid)
    kids_before = {k: sample(k) for k in kids}
    start = time.monotonic()
    peak = 0
    while time.monotonic() - start < seconds:
        time.sleep(min(5, max(0, seconds - (time.monotonic() - start))))
        peak = max(peak, int(status(pid)["VmRSS"]))
    wall = time.monotonic() - start
    after = sample(pid)
    st = status(pid)
    ticks, ns, switches = (a - b for a, b in zip(after, before))
    print(f"seconds={wall:.1f}")
    print(f"rss_kb={st['VmRSS']}")
    print(f"rss_peak_kb={peak}")
    print(f"hwm_kb={st['VmHWM']}")
    print(f"rss_anon_kb={st['RssAnon']}")
    print(f"rss_file_kb={st['RssFile']}")
    print(f"pss_kb={pss_kb(pid)}")
    print(f"threads={st['Threads']}")
    print(f"cpu_ticks={ticks}")
    print(f"cpu_ms={ns / 1e6:.1f}")
    print(f"cpu_pct={ns / 1e9 / wall * 100:.4f}")
    print(f"cpu_pct_ticks={ticks / CLK_TCK / wall * 100:.4f}")
    print(f"wakeups={switches}")
    print(f"wakeups_per_s={switches / wall:.2f}")
    alive = [k for k in kids if os.path.exists(f"/proc/{k}")]
    kid_rss = sum(int(status(k)["VmRSS"] or 0) for k in alive)
    kid_ns = sum(sample(k)[1] - kids_before[k][1] for k in alive)
    names = sorted({open(f"/proc/{k}/comm").read().strip() for k in alive})
    print(f"children={len(alive)}")
    print(f"children_names={','.join(names)}")
    print(f"children_rss_kb={kid_rss}")
    print(f"children_pss_kb={sum(pss_kb(k) for k in alive)}")
    print(f"children_cpu_ms={kid_ns / 1e6:.1f}")


def percentiles(path):
    with open(path) as f:
        result = json.load(f)["results"][0]
    summary("", [t * 1000 for t in result["times"]])


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "skew":
        skew(*args)
    elif cmd == "startup":
        out, binary, config, data, n, mode = args
        startup(out, binary, config, data, int(n), mode)
    elif cmd == "downtime":
        out, binary, config, template, data, n, expected = args
        downtime(out, binary, config, template, data, int(n), int(expected))
    elif cmd == "children":
        print(len(descendants(int(args[0]))))
    elif cmd == "idle":
        idle(args[0], float(args[1]))
    elif cmd == "percentiles":
        percentiles(args[0])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
