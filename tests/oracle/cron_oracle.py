#!/usr/bin/env python3
"""Independent cron oracles for tests/cron_differential.rs.

Reads a JSON array of cases on stdin, each {"expr": "...", "tz": "Zone/Name", "from": RFC 3339,
"n": N}, and prints one JSON object on stdout:

    {"versions": {"croniter": "...", "cronsim": "..."},
     "results": [{"croniter": [...] | {"error": "..."}, "cronsim": [...] | {"error": "..."}}, ...]}

Each list holds the next N firings strictly after "from", as RFC 3339 with the zone's offset
(2025-03-09T03:00:00-04:00), the same shape `runwisp cron --json` prints. A library's answer is
converted to an instant and back to the zone before printing, so a non-existent local time a
library may hand back is shown as the real instant it stands for.

croniter runs with implement_cron_bug=True: that is its documented switch for Vixie cron's
day-field rule (if either day field starts with `*`, both must match), which runwisp follows.
cronsim follows that rule by default.

If a module is missing this exits with status 3 and names it on stderr.
"""

import json
import sys
from datetime import datetime, timezone
from importlib import metadata
from zoneinfo import ZoneInfo

try:
    from croniter import croniter
    from cronsim import CronSim
except ImportError as missing:  # pragma: no cover - reported to the Rust test
    print(f"missing Python module: {missing.name}", file=sys.stderr)
    sys.exit(3)


def normalize(dt, tz):
    return dt.astimezone(timezone.utc).astimezone(tz).isoformat()


def run_croniter(expr, start, tz, n):
    it = croniter(expr, start, ret_type=datetime, implement_cron_bug=True)
    return [normalize(it.get_next(), tz) for _ in range(n)]


def run_cronsim(expr, start, tz, n):
    it = CronSim(expr.upper(), start)
    return [normalize(next(it), tz) for _ in range(n)]


def guarded(fn, *args):
    try:
        return fn(*args)
    except StopIteration:
        return {"error": "StopIteration: no further firing"}
    except Exception as err:  # noqa: BLE001 - every failure is data for the comparison
        return {"error": f"{type(err).__name__}: {err}"}


def main():
    cases = json.load(sys.stdin)
    results = []
    for case in cases:
        tz = ZoneInfo(case["tz"])
        start = datetime.fromisoformat(case["from"].replace("Z", "+00:00")).astimezone(tz)
        n = case["n"]
        results.append(
            {
                "croniter": guarded(run_croniter, case["expr"], start, tz, n),
                "cronsim": guarded(run_cronsim, case["expr"], start, tz, n),
            }
        )
    versions = {name: metadata.version(name) for name in ("croniter", "cronsim")}
    json.dump({"versions": versions, "results": results}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
