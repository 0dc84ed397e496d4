"""End-to-end checks of runwisp's web UI in headless Chromium (Debian's `chromium`), driven by
Playwright, against a real daemon that `tests/web_ui.rs` started with the tasks of its
WEB_CONFIG. Each check prints `ok NAME` (and facts the Rust side verifies, as `fact KEY VALUE`);
the first failure prints `FAIL NAME: why`, saves screenshots of the page at 1280x800 and 390x844
in --shots, and exits 1.

Usage: e2e.py --url http://127.0.0.1:PORT --password PW --shots DIR [--only NAME,...]
Reconnection: with --pause FILE, the script prints `pause` and waits until FILE exists (the Rust
test restarts the daemon meanwhile).
"""

import argparse
import hashlib
import hmac
import json
import urllib.request
import os
import re
import sys
import tempfile
import time

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect, sync_playwright

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 20_000


class Check:
    def __init__(self, opts, page):
        self.opts = opts
        self.url = opts.url.rstrip("/")
        self.page = page
        self.console = []
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))

    def go(self, path):
        self.page.goto(self.url + path)

    def api(self, method, path, body=None):
        """Calls the API from the page, with the page's own token."""
        return self.page.evaluate(
            """async ([method, path, body]) => {
                const headers = { Authorization: `Bearer ${sessionStorage.getItem('runwisp.token')}` };
                if (body !== null) headers['Content-Type'] = 'application/json';
                const r = await fetch(path, { method, headers, body: body === null ? undefined : JSON.stringify(body) });
                return { status: r.status, body: await r.json() };
            }""",
            [method, path, body],
        )

    def wait_ended(self, run_id):
        deadline = time.time() + 30
        while time.time() < deadline:
            run = self.api("GET", f"/api/runs/{run_id}")["body"]
            if run["status"] == "ended":
                return run
            time.sleep(0.1)
        raise AssertionError(f"run {run_id} did not end")

    def login(self, password):
        self.page.fill("#password", password)
        self.page.click("button[type=submit]")

    # --- the checks -------------------------------------------------------------------------

    def login_refused_then_lands_on_the_page_asked_for(self):
        self.go("/runs?task=hello")
        expect(self.page).to_have_url(re.compile(r"/login\?next=%2Fruns%3Ftask%3Dhello$"))
        self.login("not-the-password")
        expect(self.page.locator("#login-error")).to_contain_text("Invalid password")
        expect(self.page).to_have_url(re.compile(r"/login"))
        self.login(self.opts.password)
        expect(self.page).to_have_url(self.url + "/runs?task=hello")
        expect(self.page.locator("h1")).to_have_text("Runs")
        expect(self.page.locator("#f-task")).to_have_value("hello")

    def overview_lists_the_tasks(self):
        self.go("/")
        for name in ["hello", "fails", "sleeper", "many", "noapi", "hooked", "deploy"]:
            expect(self.page.locator(f'table.tasks tr[data-task="{name}"]')).to_be_visible()
        expect(self.page.locator('tr[data-task="hello"]')).to_contain_text("says hello")
        expect(self.page.locator('tr[data-task="deploy"]')).to_contain_text("pipeline: 3 steps")
        # Tasks and pipelines have a timeline row each (services do not).
        expect(self.page.locator("#timeline .tl-row")).to_have_count(12)
        expect(self.page.locator("#conn")).to_have_text("live")

    def run_now_from_the_task_page_shows_the_log_live(self):
        self.go("/tasks/hello")
        self.page.click("#run-now")
        expect(self.page.locator("#confirm")).to_be_visible()
        self.page.click("#confirm-ok")
        expect(self.page).to_have_url(re.compile(r"/runs/[0-9A-Z]{26}$"))
        run_id = self.page.url.rsplit("/", 1)[1]
        expect(self.page.locator("#run-trigger")).to_have_text("web")
        # Lines arrive while the run is still going (it prints one every 0.3 s).
        expect(self.page.locator(".ll .lt", has_text="line 1")).to_be_visible()
        expect(self.page.locator(".badge-o").first).to_have_text("running")
        expect(self.page.locator(".ll .lt", has_text="line 5")).to_be_visible()
        expect(self.page.locator(".ll.s-stderr .lt", has_text="to stderr")).to_be_visible()
        red = self.page.locator(".ll .lt span.a-f1", has_text="in red")
        expect(red).to_be_visible()
        expect(self.page.locator(".badge-o").first).to_have_text("success")
        expect(self.page.locator('.ll[data-n="1"] .ln')).to_have_text("1")
        # Search within the log.
        self.page.keyboard.press("/")
        self.page.keyboard.type("line 3")
        expect(self.page.locator("#log-matches")).to_have_text("1 of 1")
        expect(self.page.locator(".ll.current .lt")).to_have_text("line 3")
        print(f"fact web_run {run_id}", flush=True)

    def a_deep_link_loads_directly(self):
        run_id = self.api("GET", "/api/runs?task=hello&limit=1")["body"]["runs"][0]["id"]
        # Typed into the address bar of this tab: the page loads on its own.
        self.go(f"/runs/{run_id}")
        expect(self.page.locator("#run-id")).to_have_text(run_id)
        expect(self.page.locator(".ll .lt", has_text="line 5")).to_be_visible()
        self.go("/tasks/hello")
        expect(self.page.locator("h1")).to_have_text("hello")
        expect(self.page.locator("#history tbody tr")).not_to_have_count(0)
        # Opened in a new tab (a link in a chat): the login first, then the run.
        fresh = self.page.context.new_page()
        try:
            fresh.goto(f"{self.url}/runs/{run_id}")
            fresh.fill("#password", self.opts.password)
            fresh.click("button[type=submit]")
            expect(fresh).to_have_url(f"{self.url}/runs/{run_id}")
            expect(fresh.locator("#run-id")).to_have_text(run_id)
        finally:
            fresh.close()

    def a_webhook_run_names_its_delivery(self):
        body = json.dumps({
            "ref": "refs/heads/main",
            "after": "0123456789abcdef0123456789abcdef01234567",
            "repository": {"full_name": "acme/app"},
        }).encode()
        signature = "sha256=" + hmac.new(b"a-webhook-secret-for-the-web-ui", body, hashlib.sha256).hexdigest()
        request = urllib.request.Request(
            self.url + "/hooks/hooked", data=body, method="POST",
            headers={"X-Hub-Signature-256": signature, "X-GitHub-Event": "push",
                     "X-GitHub-Delivery": "web-ui-delivery-1", "Content-Type": "application/json"})
        with urllib.request.urlopen(request) as answer:
            run_id = json.loads(answer.read())["run_id"]
        self.go(f"/runs/{run_id}")
        expect(self.page.locator("#run-trigger")).to_have_text("webhook")
        expect(self.page.locator("#run-webhook")).to_have_text("github push")
        expect(self.page.locator("dd", has_text="acme/app")).to_be_visible()
        expect(self.page.locator("dd", has_text="web-ui-delivery-1")).to_be_visible()
        # Still there once the run's end arrives through the live stream.
        self.wait_ended(run_id)
        expect(self.page.locator("#run-webhook")).to_have_text("github push")

    def a_failure_raises_the_bell_count(self):
        self.go("/")
        bell = self.page.locator("#bell")
        expect(bell).to_have_accessible_name(re.compile(r"Notifications, 0 unread"))
        run = self.api("POST", "/api/tasks/fails/run", {"triggered_by": "web"})
        assert run["status"] == 201, run
        expect(bell).to_have_accessible_name(re.compile(r"Notifications, 1 unread"))
        expect(self.page.locator("#bell-count")).to_have_text("1")
        bell.click()
        panel = self.page.locator("#bell-panel")
        expect(panel).to_be_visible()
        expect(panel.locator(".note.unread")).to_contain_text("fails")
        panel.locator("#bell-read-all").click()
        expect(bell).to_have_accessible_name(re.compile(r"Notifications, 0 unread"))
        panel.locator(".note a").first.click()
        expect(self.page).to_have_url(re.compile(r"/runs/[0-9A-Z]{26}$"))
        expect(self.page.locator(".badge-o").first).to_contain_text("failed")

    def the_runs_page_is_live_and_keyboard_usable_at_360px(self):
        self.go("/runs")
        rows = self.page.locator("#runs tbody tr")
        expect(rows).not_to_have_count(0)
        run = self.api("POST", "/api/tasks/fails/run", {"triggered_by": "web"})
        assert run["status"] == 201, run
        # A new run appears at the top without a reload.
        expect(rows.first).to_have_attribute("data-run", run["body"]["id"])
        self.page.keyboard.press("?")
        expect(self.page.locator("#help")).to_be_visible()
        self.page.keyboard.press("Escape")
        expect(self.page.locator("#help")).to_be_hidden()
        # Tab reaches the controls, each with a visible focus ring.
        self.page.locator("body").focus()
        for _ in range(3):
            self.page.keyboard.press("Tab")
            ring = self.page.evaluate(
                "() => { const s = getComputedStyle(document.activeElement); return [document.activeElement.tagName, s.outlineStyle, s.outlineWidth]; }"
            )
            assert ring[1] != "none" and ring[2] != "0px", f"no focus ring on {ring}"
        # Usable at 360 px: nothing wider than the screen but the tables' own scrollers.
        self.page.set_viewport_size({"width": 360, "height": 740})
        try:
            for path, ready in [("/", "table.tasks"), ("/runs", "#runs tbody tr"), ("/tasks/hello", "#run-now")]:
                self.go(path)
                expect(self.page.locator(ready).first).to_be_visible()
                width = self.page.evaluate("() => document.documentElement.scrollWidth")
                assert width <= 360, f"{path} is {width} px wide at 360 px"
        finally:
            self.page.set_viewport_size({"width": 1280, "height": 800})

    def filtered_runs_are_a_link(self):
        failed = self.api("GET", "/api/runs?task=fails&end_reason=failed")["body"]["runs"]
        assert failed, "no failed run of fails yet"
        self.go("/runs?task=fails&status=failed")
        rows = self.page.locator("#runs tbody tr")
        expect(rows).to_have_count(len(failed))
        for i in range(len(failed)):
            expect(rows.nth(i)).to_contain_text("fails")
            expect(rows.nth(i)).to_contain_text("failed")
        self.page.locator("body").focus()
        self.page.keyboard.press("/")
        expect(self.page.locator("#f-task")).to_be_focused()
        self.page.select_option("#f-status", "success")
        expect(self.page).to_have_url(self.url + "/runs?task=fails&status=success")
        expect(rows.first).to_contain_text("No runs match")

    def a_refusal_is_one_sentence(self):
        self.go("/tasks/noapi")
        self.page.click("#run-now")
        self.page.click("#confirm-ok")
        expect(self.page.locator("#action-error")).to_contain_text("API triggering disabled")

    def stop_a_running_run(self):
        self.go("/tasks/sleeper")
        expect(self.page.locator("#run-now")).to_be_visible()
        self.page.keyboard.press("r")
        self.page.click("#confirm-ok")
        expect(self.page).to_have_url(re.compile(r"/runs/[0-9A-Z]{26}$"))
        expect(self.page.locator(".ll .lt", has_text="sleeping")).to_be_visible()
        # `s` asks first; Escape leaves the run alone (a viewer never stops what it watches).
        self.page.locator("body").focus()
        self.page.keyboard.press("s")
        expect(self.page.locator("#confirm")).to_be_visible()
        self.page.keyboard.press("Escape")
        expect(self.page.locator("#confirm")).to_be_hidden()
        expect(self.page.locator(".badge-o").first).to_have_text("running")
        # `n` opens the bell's panel, Escape closes it; `/` on the runs page goes to the filter.
        self.page.keyboard.press("n")
        expect(self.page.locator("#bell-panel")).to_be_visible()
        self.page.keyboard.press("Escape")
        expect(self.page.locator("#bell-panel")).to_be_hidden()
        self.page.keyboard.press("s")
        self.page.click("#confirm-ok")
        expect(self.page.locator(".badge-o").first).to_have_text("stopped")
        expect(self.page.locator("#stop")).to_have_count(0)

    def a_100000_line_log_scrolls_to_the_end(self):
        run = self.api("POST", "/api/tasks/many/run", None)
        assert run["status"] == 201, run
        run_id = run["body"]["id"]
        self.wait_ended(run_id)
        self.go(f"/runs/{run_id}")
        expect(self.page.locator("#log-info")).to_have_text("100,000 lines", timeout=60_000)
        log = self.page.locator("#log")
        log.focus()
        self.page.keyboard.press("g")
        expect(self.page.locator('.ll[data-n="1"]')).to_be_visible()
        self.page.keyboard.press("G")
        expect(self.page.locator('.ll[data-n="100000"]')).to_be_visible()
        rows = self.page.locator(".ll").count()
        assert rows < 300, f"{rows} log lines in the DOM"
        # Scrolling up pauses follow mode; "Jump to end" resumes it.
        log.evaluate("el => el.scrollTop = el.scrollHeight / 2")
        expect(self.page.locator("#log-jump")).to_be_visible()
        self.page.click("#log-jump")
        expect(self.page.locator('.ll[data-n="100000"]')).to_be_visible()
        print(f"fact dom_lines {rows}", flush=True)

    def a_task_lists_its_next_firings_and_a_service_its_replicas(self):
        self.go("/tasks/hello")
        # next_run_at, then the four after it.
        expect(self.page.locator("#next-runs li")).to_have_count(4)
        self.go("/tasks/sleeper")
        expect(self.page.locator("#task-retries")).to_have_text("2 retries, 10s apart")
        expect(self.page.locator("#task-timeout")).to_have_text("2m, then stopped")
        expect(self.page.locator("#task-notify")).to_have_text("the bell")
        self.go("/tasks/keeper")
        for index in ["0", "1"]:
            row = self.page.locator(f'#replicas tr[data-replica="{index}"]')
            expect(row).to_contain_text("running")
            expect(row.locator(".replica-restarts")).to_have_text("0")
            expect(row.locator(".replica-up time")).to_be_visible()

    def a_pipeline_run_shows_its_tree_live(self):
        self.go("/tasks/deploy")
        expect(self.page.locator("#pipeline-steps > li")).to_have_count(4)
        self.page.click("#run-now")
        self.page.click("#confirm-ok")
        expect(self.page).to_have_url(re.compile(r"/runs/[0-9A-Z]{26}$"))
        run_id = self.page.url.rsplit("/", 1)[1]
        tree = self.page.locator("#pipeline")
        # Live: the parallel members are seen running side by side, then every step ends.
        expect(tree.locator('li[data-step="1.1"][data-state="running"]')).to_be_visible()
        expect(tree.locator('li[data-step="1.2"][data-state="running"]')).to_be_visible()
        expect(tree.locator('li[data-step="2"][data-state="not_started"]')).to_be_visible()
        expect(self.page.locator(".badge-o").first).to_have_text("success", timeout=30_000)
        for step in ["1.1", "1.2", "2", "3"]:
            expect(tree.locator(f'li[data-step="{step}"]').first).to_have_attribute("data-state", "success")
        # The sub-pipeline's own step, indented under it.
        expect(tree.locator('li[data-step="3"] li[data-step="1"]')).to_have_attribute("data-state", "success")
        expect(tree.locator('li[data-step="3"] li[data-step="1"]')).to_contain_text("check")
        # The Gantt chart: one bar a step that ran (two builds, migrate, verify and its check).
        expect(tree.locator("svg.gantt rect.bar")).to_have_count(5)
        # A step opens its run, which names its pipeline run.
        tree.locator('li[data-step="2"] > .step-row a').click()
        expect(self.page).to_have_url(re.compile(r"/runs/[0-9A-Z]{26}$"))
        assert self.page.url.rsplit("/", 1)[1] != run_id
        expect(self.page.locator("#run-parent")).to_contain_text(run_id[-8:])
        expect(self.page.locator("#run-parent")).to_contain_text("step 2")
        expect(self.page.locator(".ll .lt", has_text="migrating")).to_be_visible()
        self.page.locator("#run-parent a").click()
        expect(self.page.locator("#run-id")).to_have_text(run_id)
        expect(self.page.locator("#pipeline")).to_be_visible()
        print(f"fact pipeline_run {run_id}", flush=True)

    def the_fallback_sha256_agrees_with_hashlib(self):
        version = re.search(r"/ui/([0-9a-f]+)/app\.js", self.page.content()).group(1)
        samples = ["", "abc", "a" * 55, "a" * 56, "a" * 64, "pässwörd:" + "f" * 64]
        got = self.page.evaluate(
            """async ([v, samples]) => {
                const m = await import(`/ui/${v}/sha256.js`);
                return samples.map((s) => m.sha256HexFallback(s));
            }""",
            [version, samples],
        )
        want = [hashlib.sha256(s.encode()).hexdigest() for s in samples]
        assert got == want, f"{got} != {want}"

    def eight_tabs_stay_live(self):
        # A browser opens at most six connections to one host. Every tab follows the runs and
        # the notifications: the tabs share those two streams, so an eighth tab still loads
        # its page and its bell still rises with a failure. One tab is of a browser without
        # shared workers: it follows the streams itself.
        token = self.page.evaluate("sessionStorage.getItem('runwisp.token')")
        self.go("/runs")
        tabs = [self.page]
        try:
            for i in range(7):
                tab = self.page.context.new_page()
                tab.add_init_script(f"sessionStorage.setItem('runwisp.token', {json.dumps(token)})")
                if i == 0:
                    tab.add_init_script("delete window.SharedWorker")
                tab.goto(self.url + "/runs")
                tabs.append(tab)
            assert tabs[1].evaluate("typeof SharedWorker") == "undefined"
            for tab in tabs:
                expect(tab.locator("#runs tbody tr")).not_to_have_count(0)
                expect(tab.locator("#conn")).to_have_text("live")
            # Read, every tab's bell goes to 0; a new failure raises it to 1 in every tab (an
            # unread notice of the same failure would only count another occurrence).
            assert self.api("POST", "/api/notifications/read")["status"] == 200
            for tab in tabs:
                expect(tab.locator("#bell")).to_have_accessible_name("Notifications, 0 unread")
            run = self.api("POST", "/api/tasks/fails/run", {"triggered_by": "web"})
            assert run["status"] == 201, run
            for tab in tabs:
                expect(tab.locator("#bell")).to_have_accessible_name("Notifications, 1 unread")
        finally:
            for tab in tabs[1:]:
                tab.close()

    def the_daemon_restarts_and_the_page_recovers(self):
        self.go("/tasks/hello")
        expect(self.page.locator("#conn")).to_have_text("live")
        rows = self.page.locator("#history tbody tr")
        expect(rows).not_to_have_count(0)
        before = rows.count()
        self.page.evaluate("window.runwispNotReloaded = true")
        print("pause", flush=True)
        expect(self.page.locator("#down")).to_be_visible(timeout=30_000)
        print("down", flush=True)
        deadline = time.time() + 60
        while not os.path.exists(self.opts.pause) and time.time() < deadline:
            time.sleep(0.1)
        expect(self.page.locator("#down")).to_be_hidden(timeout=30_000)
        expect(self.page.locator("#conn")).to_have_text("live")
        # Caught up without a reload: a run started while the page was away shows.
        expect(self.page.locator("#history tbody tr")).to_have_count(before + 1)
        assert self.page.evaluate("window.runwispNotReloaded") is True, "the page was reloaded"


CHECKS = [
    "login_refused_then_lands_on_the_page_asked_for",
    "overview_lists_the_tasks",
    "run_now_from_the_task_page_shows_the_log_live",
    "a_deep_link_loads_directly",
    "a_webhook_run_names_its_delivery",
    "a_failure_raises_the_bell_count",
    "the_runs_page_is_live_and_keyboard_usable_at_360px",
    "filtered_runs_are_a_link",
    "a_refusal_is_one_sentence",
    "stop_a_running_run",
    "a_100000_line_log_scrolls_to_the_end",
    "a_task_lists_its_next_firings_and_a_service_its_replicas",
    "a_pipeline_run_shows_its_tree_live",
    "the_fallback_sha256_agrees_with_hashlib",
    "eight_tabs_stay_live",
    "the_daemon_restarts_and_the_page_recovers",
]


def screenshots(page, shots, name):
    os.makedirs(shots, exist_ok=True)
    for width, height in [(1280, 800), (390, 844)]:
        try:
            page.set_viewport_size({"width": width, "height": height})
            path = os.path.join(shots, f"{name}-{width}x{height}.png")
            page.screenshot(path=path, full_page=True)
            print(f"screenshot {path}", flush=True)
        except PlaywrightError as e:
            print(f"no screenshot: {e}", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--shots", required=True)
    parser.add_argument("--only", default="")
    parser.add_argument("--pause", default="")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    opts = parser.parse_args()
    wanted = [c for c in opts.only.split(",") if c] or [c for c in CHECKS if c != "the_daemon_restarts_and_the_page_recovers" or opts.pause]
    with tempfile.TemporaryDirectory(prefix="runwisp-chromium-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=opts.chromium,
            args=ARGS,
            headless=True,
            viewport={"width": 1280, "height": 800},
        )
        context.set_default_timeout(TIMEOUT_MS)
        expect.set_options(timeout=TIMEOUT_MS)
        page = context.new_page()
        check = Check(opts, page)
        try:
            name = "login"
            if wanted[0] != CHECKS[0]:
                check.go("/login")
                check.login(opts.password)
                expect(page).to_have_url(check.url + "/")
            for name in wanted:
                getattr(check, name)()
                print(f"ok {name}", flush=True)
        except (AssertionError, PlaywrightError) as e:
            print(f"FAIL {name}: {e}", flush=True)
            for line in check.console[-20:]:
                print(f"console {line}", flush=True)
            screenshots(page, opts.shots, name)
            context.close()
            sys.exit(1)
        context.close()


if __name__ == "__main__":
    main()
