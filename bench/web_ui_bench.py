"""The web UI in headless Chromium (Debian's `chromium`, driven by Playwright) against a real
runwisp daemon (bench/web_ui.sh): the overview with TASKS tasks, from navigation to every row on
the page and the page answering a key, and the run page following a run that prints RATE lines a
second for SECONDS seconds, the page's JS heap and DOM size sampled as it goes.

Usage: web_ui_bench.py RUNWISP_BIN WORKDIR TASKS ROUNDS RATE SECONDS
Prints one JSON object."""

import json
import os
import statistics
import sys
import tempfile
import time

from playwright.sync_api import sync_playwright

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rwbench import Daemon  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--enable-precise-memory-info"]


def config(tasks, rate, seconds):
    lines = []
    for i in range(tasks):
        # Every other task on a schedule, so the page has next firings to draw.
        lines.append(f'[tasks.t{i:04d}]\nrun = "true"\ngroup = "g{i % 20:02d}"\n')
        if i % 2 == 0:
            lines.append(f'cron = "{i % 60} {i % 24} * * *"\n')
    # RATE lines a second in batches of RATE/100 every 10 ms, for SECONDS seconds.
    batch = max(rate // 100, 1)
    script = (
        "import sys,time\n"
        f"n=0\nend=time.time()+{seconds}\n"
        "while time.time()<end:\n"
        f"    sys.stdout.write(''.join('line %d of the flood\\n' % (n+i) for i in range({batch})))\n"
        f"    sys.stdout.flush(); n+={batch}; time.sleep(0.01)\n"
    )
    with open("flood.py", "w") as f:
        f.write(script)
    lines.append('[tasks.flood]\nrun = "python3 flood.py"\n')
    return "".join(lines)


def login(page, url, password):
    page.goto(url + "/login")
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")


# Measured inside the page, so the driver's own round trips do not count: when the first task's
# row and the last timeline row are in the page (the animation frame after they were added, that
# is the paint that shows them), and how long a key took from its arrival to the frame showing
# its answer (`?` opens the key list), pressed as soon as the first row shows, while the rest of
# the rows are still being drawn.
PROBE = """
(() => {
  const rw = (window.__rw = {});
  const seen = () => {
    if (!rw.first && document.querySelector('table.tasks tr[data-task="t0000"]')) {
      rw.firstAdded = performance.now();
      requestAnimationFrame(() => { rw.first = performance.now(); });
    }
    if (!rw.all && document.querySelector('#timeline .tl-row:nth-child(%d)')) {
      requestAnimationFrame(() => { rw.all = performance.now(); });
      rw.all = -1;
    }
    const help = document.getElementById('help');
    if (rw.keyAt && !rw.answered && help && help.open) {
      requestAnimationFrame(() => { rw.answered = performance.now(); });
      rw.answered = -1;
    }
  };
  new MutationObserver(seen).observe(document, { subtree: true, childList: true, attributes: true });
  document.addEventListener('keydown', (e) => { if (e.key === '?' && !rw.keyAt) rw.keyAt = e.timeStamp; }, true);
})();
"""


def overview(page, url, tasks):
    """Milliseconds from navigation start to the first task's row painted, a key's latency
    while the rest is drawn, and the last timeline row painted (see PROBE)."""
    page.goto(url + "/runs")
    # Settled once its rows (or "No runs match.") are drawn: the streams the tabs share live
    # in a shared worker, whose open connections keep Chromium from ever calling the page's
    # network idle.
    page.locator("#runs tbody tr").first.wait_for()
    page.goto(url + "/", wait_until="commit")
    page.wait_for_function("() => window.__rw && window.__rw.first > 0", timeout=60_000, polling=5)
    page.keyboard.press("?")
    page.wait_for_function("() => window.__rw.answered > 0 && window.__rw.all > 0", timeout=60_000)
    rw = page.evaluate("() => window.__rw")
    page.keyboard.press("Escape")
    rows = page.locator("table.tasks tbody tr").count()
    key = rw["answered"] - rw["keyAt"]
    return {"first_ms": rw["first"], "key_ms": key, "interactive_ms": rw["first"] + key,
            "all_rows_ms": rw["all"], "rows": rows}


def tail(page, daemon, url, seconds):
    status, run = daemon.call("POST", "/api/tasks/flood/run", {"triggered_by": "web"}, conn=daemon.connect())
    assert status == 201, (status, run)
    page.goto(f"{url}/runs/{run['id']}")
    page.wait_for_selector(".ll", timeout=60_000)
    samples = []
    started = time.time()
    while time.time() - started < seconds:
        time.sleep(5)
        m = page.evaluate(
            """() => ({heap: performance.memory.usedJSHeapSize,
                       nodes: document.getElementsByTagName('*').length,
                       lines: document.querySelectorAll('.ll').length,
                       last: Math.max(0, ...[...document.querySelectorAll('.ll')].map((e) => +e.dataset.n))})"""
        )
        m["t"] = round(time.time() - started, 1)
        samples.append(m)
    # The run's own count of lines, once it ended.
    deadline = time.time() + 120
    while time.time() < deadline:
        # A fresh connection: the daemon closes one left idle through the tail.
        status, r = daemon.call("GET", f"/api/runs/{run['id']}", conn=daemon.connect())
        if r["status"] == "ended":
            break
        time.sleep(0.5)
    status, window = daemon.call("GET", f"/api/runs/{run['id']}/log?from=-1", conn=daemon.connect())
    written = window["total_lines"] if window else 0
    return {"samples": samples, "lines_written": written}


def main():
    bin_path, work, tasks, rounds, rate, seconds = sys.argv[1:7]
    tasks, rounds, rate, seconds = int(tasks), int(rounds), int(rate), int(seconds)
    os.chdir(work)
    daemon = Daemon(bin_path, work, config(tasks, rate, seconds))
    url = f"http://127.0.0.1:{daemon.port}"
    password = open(os.path.join(work, "data", "password")).read().strip()
    out = {"tasks": tasks, "rounds": rounds, "rate": rate, "seconds": seconds}
    try:
        with tempfile.TemporaryDirectory(prefix="runwisp-bench-chromium-") as profile, sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, args=ARGS, headless=True,
                viewport={"width": 1280, "height": 800})
            page = context.new_page()
            # The timeline has a row for every task, `flood` included.
            page.add_init_script(PROBE % (tasks + 1,))
            login(page, url, password)
            runs = [overview(page, url, tasks) for _ in range(rounds)]
            out["overview"] = runs
            out["first_median_ms"] = round(statistics.median(r["first_ms"] for r in runs), 1)
            out["all_rows_median_ms"] = round(statistics.median(r["all_rows_ms"] for r in runs), 1)
            out["interactive_median_ms"] = round(statistics.median(r["interactive_ms"] for r in runs), 1)
            out["tail"] = tail(page, daemon, url, seconds)
            context.close()
    finally:
        daemon.stop()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
