"""A run printing RATE lines a second for SECONDS seconds, followed live by READERS clients of
`GET /api/runs/ID/log/stream` (bench/live_log.sh): the `line` events each reader got (every line
numbered, none missing or repeated) and the daemon's CPU time over the run.

Usage: live_log_bench.py RUNWISP_BIN WORKDIR RATE SECONDS READERS
Prints one JSON object."""

import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rwbench import Daemon  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def reader(daemon, run_id, out):
    """Follows the stream to its `done`, checking the numbering as it goes."""
    conn = daemon.connect()
    conn.timeout = 120
    conn.request("GET", f"/api/runs/{run_id}/log/stream?from=1",
                 headers={"Authorization": f"Bearer {daemon.token}", "Accept": "text/event-stream"})
    answer = conn.getresponse()
    expected, got, gaps, event = 1, 0, 0, None
    for raw in answer:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == "line":
            n = json.loads(line[6:])["n"]
            if n != expected:
                gaps += 1
            expected = n + 1
            got += 1
        elif line.startswith("data: ") and event == "done":
            break
        elif line == "":
            event = None
    out.append({"lines": got, "gaps": gaps})
    conn.close()


def main():
    bin_path, work, rate, seconds, readers = sys.argv[1:6]
    rate, seconds, readers = int(rate), int(seconds), int(readers)
    batch = max(rate // 100, 1)
    with open(os.path.join(work, "flood.py"), "w") as f:
        f.write(
            "import sys,time\n"
            f"n=0\nstart=time.time()\nend=start+{seconds}\n"
            "while time.time()<end:\n"
            f"    sys.stdout.write(''.join('line %d of the flood\\n' % (n+i) for i in range({batch})))\n"
            f"    sys.stdout.flush(); n+={batch}\n"
            f"    time.sleep(max(0, start + n / {rate} - time.time()))\n"
        )
    daemon = Daemon(bin_path, work, '[tasks.flood]\nrun = "python3 flood.py"\nlog_max_size = "1GB"\n')
    try:
        time.sleep(1)
        idle0 = cpu_seconds(daemon.process.pid)
        time.sleep(5)
        idle = cpu_seconds(daemon.process.pid) - idle0
        cpu0 = cpu_seconds(daemon.process.pid)
        started = time.time()
        status, run = daemon.call("POST", "/api/tasks/flood/run")
        assert status == 201, status
        results = []
        threads = [threading.Thread(target=reader, args=(daemon, run["id"], results)) for _ in range(readers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=seconds + 180)
        wall = time.time() - started
        cpu = cpu_seconds(daemon.process.pid) - cpu0
        status, window = daemon.call("GET", f"/api/runs/{run['id']}/log?from=-1", conn=daemon.connect())
        written = window["total_lines"]
    finally:
        daemon.stop()
    print(json.dumps({
        "rate": rate, "seconds": seconds, "readers": readers, "written": written,
        "per_reader": results, "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 2), "cpu_pct_of_one_core": round(100 * cpu / wall, 1),
        "idle_cpu_pct": round(100 * idle / 5, 2),
    }))


if __name__ == "__main__":
    main()
