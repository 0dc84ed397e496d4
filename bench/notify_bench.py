"""Drives bench/notify.sh: a webhook receiver on loopback that notes when each notification
arrives, and a client that fails a task RUNS times over SECONDS through the daemon's API.
Prints one JSON line: how many arrived, the latency from each run's end (the run object's
end_at in the notification) to its arrival, and the daemon's peak memory."""

import hashlib
import http.client
import http.server
import json
import sys
import threading
import time
from datetime import datetime

url_port, data_dir, runs, seconds, hook_port_file = sys.argv[1:6]
runs, seconds = int(runs), float(seconds)
arrivals = []
lock = threading.Lock()


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        now = time.time()
        self.send_response(200)
        self.end_headers()
        event = json.loads(body)
        end = event["run"]["end_at"]
        ended = datetime.fromisoformat(end.replace("Z", "+00:00")).timestamp()
        with lock:
            arrivals.append(now - ended)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
with open(hook_port_file, "w") as f:
    f.write(str(server.server_address[1]))
threading.Thread(target=server.serve_forever, daemon=True).start()
# The daemon reads the receiver's port from its config: wait for the go, with its pid.
while not open(hook_port_file).read().startswith("go "):
    time.sleep(0.05)
pid = open(hook_port_file).read().split()[1]


def call(method, path, body=None, token=None):
    conn = http.client.HTTPConnection("127.0.0.1", int(url_port), timeout=30)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, json.dumps(body) if body is not None else None, headers)
    answer = conn.getresponse()
    data = answer.read()
    conn.close()
    return json.loads(data) if data else None


password = open(f"{data_dir}/password").read().strip()
nonce = call("GET", "/api/auth/challenge")["nonce"]
response = hashlib.sha256(f"{password}:{nonce}".encode()).hexdigest()
token = call("POST", "/api/auth", {"nonce": nonce, "response": response})["token"]


def peak_kib():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1])
    return 0


def rss_kib():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1])
    return 0


before = rss_kib()
start = time.time()
for i in range(runs):
    target = start + i * seconds / runs
    delay = target - time.time()
    if delay > 0:
        time.sleep(delay)
    call("POST", "/api/tasks/fails/run", {}, token)
sent_for = time.time() - start
deadline = time.time() + 60
while time.time() < deadline:
    with lock:
        if len(arrivals) >= runs:
            break
    time.sleep(0.1)
with lock:
    lat = sorted(arrivals)


def pct(p):
    return lat[min(len(lat) - 1, int(len(lat) * p))] if lat else None


print(json.dumps({
    "runs": runs,
    "triggered_in_s": round(sent_for, 1),
    "arrived": len(lat),
    "p50_s": round(pct(0.50), 3) if lat else None,
    "p99_s": round(pct(0.99), 3) if lat else None,
    "max_s": round(lat[-1], 3) if lat else None,
    "rss_before_mib": round(before / 1024, 1),
    "peak_mib": round(peak_kib() / 1024, 1),
}))
