"""The overhead a pipeline adds per step: one pipeline of STEPS steps of `true` against STEPS
queued runs of the same task (its queue hands each run the slot the previous one freed), from
the first row's creation to the last row's end, as the history records them. Prints JSON."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rwbench import Daemon  # noqa: E402

bin_path, work, steps, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
listed = ", ".join(['"t"'] * steps)
config = f"""
[tasks.t]
run = "true"
queue_max = 10000

[pipelines.p]
steps = [{listed}]
"""
d = Daemon(bin_path, work, config)
try:
    db = d.db()

    def wait_settled():
        while db.execute("SELECT count(*) FROM runs WHERE status != 'ended'").fetchone()[0]:
            time.sleep(0.02)

    def span(where, args):
        first, last = db.execute(
            f"SELECT min(created_at), max(end_at) FROM runs WHERE {where}", args).fetchone()
        return (last - first) / 1000.0

    pipeline, queued = [], []
    for _ in range(rounds):
        status, run = d.call("POST", "/api/tasks/p/run", {})
        assert status == 201, run
        wait_settled()
        ended = db.execute("SELECT end_reason FROM runs WHERE id = ?", (run["id"],)).fetchone()[0]
        assert ended == "success", ended
        pipeline.append(span("id = ?", (run["id"],)))

        mark = db.execute("SELECT coalesce(max(id), '') FROM runs").fetchone()[0]
        ids, lock = [], threading.Lock()

        def fire(n):
            conn = d.connect()
            for _ in range(n):
                status, body = d.call("POST", "/api/tasks/t/run", {}, conn)
                assert status == 201, body
                with lock:
                    ids.append(body["id"])

        threads = [threading.Thread(target=fire, args=(steps // 4,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wait_settled()
        queued.append(span("task_name = 't' AND parent_run_id IS NULL AND id > ?", (mark,)))
        bad = db.execute(
            "SELECT count(*) FROM runs WHERE id > ? AND parent_run_id IS NULL AND end_reason != 'success'",
            (mark,)).fetchone()[0]
        assert bad == 0, bad

    def median(values):
        values = sorted(values)
        return values[len(values) // 2]

    print({
        "steps": steps,
        "rounds": rounds,
        "pipeline_s": [round(v, 3) for v in pipeline],
        "queued_s": [round(v, 3) for v in queued],
        "pipeline_median_s": round(median(pipeline), 3),
        "queued_median_s": round(median(queued), 3),
        "ratio": round(median(pipeline) / median(queued), 2),
    }.__repr__().replace("'", '"'))
finally:
    d.stop()
