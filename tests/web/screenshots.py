"""Screenshots of each page of runwisp's web UI (desktop 1280x800 and phone 390x844, light and
dark) in headless Chromium, against a running daemon with at least one run.

Usage: screenshots.py --url http://127.0.0.1:PORT --password PW --out docs/screenshots
(`scripts/screenshots.sh` starts a demo daemon and calls this.)
"""

import argparse
import os
import tempfile

from playwright.sync_api import expect, sync_playwright

from e2e import ARGS

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    opts = parser.parse_args()
    url = opts.url.rstrip("/")
    os.makedirs(opts.out, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="runwisp-chromium-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=opts.chromium, args=ARGS, headless=True
        )
        page = context.new_page()
        page.goto(url + "/login")
        page.fill("#password", opts.password)
        page.click("button[type=submit]")
        expect(page.locator("table.tasks").first).to_be_visible()
        runs = page.evaluate(
            """async () => {
                const r = await fetch('/api/runs?limit=50', { headers: { Authorization: `Bearer ${sessionStorage.getItem('runwisp.token')}` } });
                return (await r.json()).runs;
            }"""
        )
        task = runs[0]["task_name"] if runs else ""
        pages = {"overview": "/", "runs": "/runs"}
        if runs:
            pages["task"] = f"/tasks/{task}"
            pages["run"] = f"/runs/{runs[0]['id']}"
        pipeline = next((r for r in runs if r["kind"] == "pipeline" and not r.get("parent_run_id")), None)
        if pipeline:
            pages["pipeline"] = f"/runs/{pipeline['id']}"
        for scheme in ["light", "dark"]:
            page.emulate_media(color_scheme=scheme)
            for size, (width, height) in SIZES.items():
                page.set_viewport_size({"width": width, "height": height})
                for name, path in pages.items():
                    page.goto(url + path)
                    # Not `networkidle`: the streams the tabs share live in a shared worker,
                    # whose open connections keep Chromium from ever calling the page idle.
                    page.wait_for_timeout(1500)
                    page.wait_for_timeout(300)
                    out = os.path.join(opts.out, f"{name}-{size}-{scheme}.png")
                    page.screenshot(path=out)
                    print(out, flush=True)
        context.close()


if __name__ == "__main__":
    main()
