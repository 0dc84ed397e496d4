#!/usr/bin/env python3
"""The table at the top of bench/RESULTS.md: the latest figure of every measure, kept in
bench/latest.json and rendered between two marker comments. Standard library only.

  table.py render [--check]          rewrite the table and the list of history files in
                                     RESULTS.md from latest.json; --check: change nothing, exit 1
                                     when RESULTS.md is not what latest.json renders to
  table.py show                      print the table (nothing written)
  table.py set KEY FIELD=VALUE ...   update one measure of latest.json, judge it, re-render
  table.py history-file DAY          print the history file of DAY (YYYY-MM-DD), creating it
                                     with its heading when it does not exist yet
  table.py selftest                  try set, render and history-file on copies in a temp
                                     directory (nothing here is written)

A measure's fields: key, measure, figure, peer, ratio, goal, status, commit, date, script,
note, and for the goals a number can judge: op (<, <=, >, >=), limit, value. `set` with a
value judges the measure: met when `value op limit` holds and `ok` is not 0/no/false, missed
otherwise; a status given to `set` wins. Setting a new figure drops the old note unless a new
one is given. Paths can be moved with BENCH_RESULTS and BENCH_LATEST (for trying this script
on copies).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.environ.get("BENCH_RESULTS") or os.path.join(HERE, "RESULTS.md")
LATEST = os.environ.get("BENCH_LATEST") or os.path.join(HERE, "latest.json")
HISTORY = os.path.join(os.path.dirname(RESULTS), "history")

TABLE_BEGIN = "<!-- latest:begin: written by bench/table.py from bench/latest.json -->"
TABLE_END = "<!-- latest:end -->"
HISTORY_BEGIN = "<!-- history:begin: written by bench/table.py from the files in bench/history/ -->"
HISTORY_END = "<!-- history:end -->"

FIELDS = ("key", "measure", "figure", "peer", "ratio", "goal", "status", "commit", "date",
          "script", "note", "op", "limit", "value")
STATUSES = ("met", "missed", "informative", "not measured")
OPS = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
       ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def die(message):
    sys.exit(f"table.py: {message}")


def load():
    with open(LATEST, encoding="utf-8") as f:
        data = json.load(f)
    keys = [m["key"] for m in data["measures"]]
    if len(set(keys)) != len(keys):
        die(f"{LATEST}: a key is used twice")
    for m in data["measures"]:
        if m.get("status") not in STATUSES:
            die(f"{LATEST}: {m['key']}: status {m.get('status')!r} is not one of {STATUSES}")
        if m.get("op") and m["op"] not in OPS:
            die(f"{LATEST}: {m['key']}: op {m['op']!r} is not one of {tuple(OPS)}")
    return data


def save(data):
    tmp = LATEST + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=2)
        f.write("\n")
    os.replace(tmp, LATEST)


def cell(text):
    text = str(text if text not in (None, "") else "–")
    return text.replace("|", "\\|").replace("\n", " ")


def date_cell(m):
    date = m.get("date") or ""
    if not date:
        return "–"
    day = date[:10]
    short = date.replace(" UTC", "")
    if os.path.exists(os.path.join(HISTORY, f"{day}.md")):
        return f"[{short}](history/{day}.md)"
    return short


def status_cell(m):
    status = m["status"]
    return "**missed**" if status == "missed" else status


def table(data):
    out = ["| measure | latest figure | peer or floor | ratio | goal | met/missed | commit | date |",
           "|---|---|---|---|---|---|---|---|"]
    notes = []
    for m in data["measures"]:
        measured = m["status"] != "not measured"
        out.append("| " + " | ".join([
            cell(m["measure"]),
            cell(m.get("figure") if measured else "not measured"),
            cell(m.get("peer")),
            cell(m.get("ratio") if measured else ""),
            cell(m.get("goal")),
            status_cell(m),
            cell(m.get("commit") if measured else ""),
            date_cell(m) if measured else "–",
        ]) + " |")
        if m.get("note"):
            notes.append(f"- {m['measure']}: {m['note']}")
    text = "\n".join(out) + "\n"
    if notes:
        text += "\n" + "\n".join(notes) + "\n"
    return text


def history_list():
    days = sorted((f[:-3] for f in os.listdir(HISTORY)
                   if re.fullmatch(r"\d{4}-\d{2}-\d{2}\.md", f)), reverse=True) \
        if os.path.isdir(HISTORY) else []
    lines = []
    for day in days:
        with open(os.path.join(HISTORY, f"{day}.md"), encoding="utf-8") as f:
            titles = [re.sub(r" — \d{4}-\d{2}-\d{2} (\d{2}:\d{2}) UTC$", r" (\1)", line[3:].strip())
                      for line in f if line.startswith("## ")]
        lines.append(f"- [{day}](history/{day}.md): " + (", ".join(titles) or "no section yet"))
    return "\n".join(lines) + "\n" if lines else "No history yet.\n"


def replace_block(text, begin, end, body):
    start = text.find(begin)
    stop = text.find(end)
    if start < 0 or stop < 0 or stop < start:
        die(f"{RESULTS}: the markers {begin!r} and {end!r} are missing or out of order")
    return text[:start] + begin + "\n" + body + text[stop:]


def rendered(data):
    with open(RESULTS, encoding="utf-8") as f:
        old = f.read()
    new = replace_block(old, TABLE_BEGIN, TABLE_END, table(data))
    new = replace_block(new, HISTORY_BEGIN, HISTORY_END, history_list())
    return old, new


def render(check=False):
    old, new = rendered(load())
    if check:
        if old != new:
            die(f"{RESULTS} is not what {LATEST} renders to: run `python3 bench/table.py render`")
        return
    if old != new:
        tmp = RESULTS + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(new)
        os.replace(tmp, RESULTS)


def number(text):
    match = re.search(r"-?\d+(?:\.\d+)?", str(text))
    if not match:
        die(f"no number in {text!r}")
    return float(match.group())


def set_fields(key, pairs):
    data = load()
    found = [m for m in data["measures"] if m["key"] == key]
    if not found:
        die(f"no measure {key!r} in {LATEST} (known: {', '.join(m['key'] for m in data['measures'])})")
    m = found[0]
    given = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            die(f"{pair!r} is not FIELD=VALUE")
        if name not in FIELDS and name != "ok":
            die(f"unknown field {name!r} (fields: {', '.join(FIELDS)}, ok)")
        given[name] = value
    ok = given.pop("ok", "1").strip().lower() not in ("0", "no", "false", "")
    if "figure" in given and "note" not in given:
        m.pop("note", None)
    for name, value in given.items():
        if name in ("limit", "value"):
            m[name] = number(value)
        elif value == "" and name in ("note", "op", "limit", "value"):
            m.pop(name, None)
        else:
            m[name] = value
    if "status" not in given:
        if "value" in given and m.get("op") in OPS and "limit" in m:
            m["status"] = "met" if ok and OPS[m["op"]](m["value"], m["limit"]) else "missed"
        elif "figure" in given and not m.get("op"):
            m["status"] = "met" if ok else "missed"
        elif "figure" in given:
            die(f"{key}: a new figure needs value= to be judged against {m['op']} {m.get('limit')}")
    if m.get("status") not in STATUSES:
        die(f"{key}: status {m.get('status')!r} is not one of {STATUSES}")
    save(data)


def history_file(day):
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
        die(f"{day!r} is not a day (YYYY-MM-DD)")
    path = os.path.join(HISTORY, f"{day}.md")
    if not os.path.exists(path):
        os.makedirs(HISTORY, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(f"# Benchmark results — {day}\n\n"
                    "The sections the scripts in `bench/` wrote on this day (UTC), as they were added\n"
                    "to the results, with the notes written about them. The latest figure of each\n"
                    "measure is in the table at the top of [`RESULTS.md`](../RESULTS.md).\n")
    print(path)


def selftest():
    """set, render and history-file on copies; fails loudly when a step does not do its job."""
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(RESULTS, os.path.join(tmp, "RESULTS.md"))
        shutil.copy(LATEST, os.path.join(tmp, "latest.json"))
        if os.path.isdir(HISTORY):
            shutil.copytree(HISTORY, os.path.join(tmp, "history"))
        env = dict(os.environ, BENCH_RESULTS=os.path.join(tmp, "RESULTS.md"),
                   BENCH_LATEST=os.path.join(tmp, "latest.json"))

        def run(*args, ok=True):
            done = subprocess.run([sys.executable, os.path.abspath(__file__), *args], env=env,
                                  capture_output=True, text=True)
            if (done.returncode == 0) != ok:
                die(f"selftest: {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")
            return done.stdout

        def status(key):
            with open(env["BENCH_LATEST"], encoding="utf-8") as f:
                return next(m for m in json.load(f)["measures"] if m["key"] == key)["status"]

        run("render", "--check")
        day = "2099-01-01"
        path = run("history-file", day).strip()
        if not os.path.exists(path):
            die(f"selftest: history-file did not create {path}")
        judged = [m for m in load()["measures"] if m.get("op") and m.get("limit")]
        if not judged:
            die(f"selftest: no measure in {LATEST} has a goal a number can judge")
        key, op, limit = judged[0]["key"], judged[0]["op"], judged[0]["limit"]
        small, large = limit / 2, limit * 2
        good, bad = (small, large) if op in ("<", "<=") else (large, small)
        for value, ok, want in ((good, "1", "met"), (bad, "1", "missed"), (good, "0", "missed")):
            run("set", key, "figure=selftest", f"value={value}", f"ok={ok}",
                "commit=selftest", f"date={day} 00:00 UTC")
            if status(key) != want:
                die(f"selftest: {key} with value {value}, ok={ok} is {status(key)}, not {want}")
        run("set", "no-such-measure", "figure=1", ok=False)
        run("set", key, "no-such-field=1", ok=False)
        run("render", "--check")
        with open(env["BENCH_RESULTS"], encoding="utf-8") as f:
            text = f.read()
        if f"history/{day}.md" not in text or "selftest" not in text:
            die("selftest: the rendered table misses the new figure or the new history file")
    print("table.py selftest: set, render and history-file work")


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    cmd, rest = args[0], args[1:]
    if cmd == "render" and rest in ([], ["--check"]):
        render(check=rest == ["--check"])
    elif cmd == "show" and not rest:
        sys.stdout.write(table(load()))
    elif cmd == "set" and rest:
        set_fields(rest[0], rest[1:])
        render()
    elif cmd == "history-file" and len(rest) == 1:
        history_file(rest[0])
    elif cmd == "selftest" and not rest:
        selftest()
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
