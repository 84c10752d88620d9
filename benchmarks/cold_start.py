"""Cold start of a scoring run: the warm start (side by side) against one after another.

Each trial is a fresh Python process, as every `alliance score` or `alliance nightly` is, that
imports the pipeline and then does the start-up work of a run: start Prefect's temporary
server, load and verify the shipped model, build the identifier guard and load the language
detector. ``sequential`` does them one after another (what a run did before the warm start);
``warm`` calls :func:`pipeline.cli.startup.warm_start`, which starts the server in a thread
while the model and the ingest checks load. Trials alternate so that both see the same machine
load. Imports are timed apart (both pay them alike): the modules `alliance score` imports
before it starts (``pipeline.flows``, so the guard's name lists and lingua are imported) come
first, so the start-up seconds are the work a run does after its imports. The end-to-end
command is timed in docs/models.md beside it.

Prints JSON: per mode the start-up seconds of each trial and their median, and the ratio of
the medians. Usage: python benchmarks/cold_start.py [--trials N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

TRIAL = r"""
import json, os, time
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
began = time.perf_counter()
import pipeline.flows  # what the command imports before it starts: ingest, model, store code
from prefect.server.api.server import SubprocessASGIServer
from pipeline.cli.startup import _ingest_checks, warm_start
from pipeline.config import load_config
from pipeline.steps import load_model
settings = load_config()
imported = time.perf_counter()
if MODE == "warm":
    parts = warm_start(settings)
else:
    parts = {}
    for name, work in (
        ("prefect_server", SubprocessASGIServer().start),
        ("model", lambda: load_model(settings)),
        ("ingest_checks", lambda: _ingest_checks(settings)),
    ):
        start = time.perf_counter()
        work()
        parts[name] = round(time.perf_counter() - start, 3)
done = time.perf_counter()
SubprocessASGIServer().stop()
print(json.dumps({"imports_s": round(imported - began, 3), "startup_s": round(done - imported, 3),
                  "parts": parts}))
"""


def trial(mode: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    result = subprocess.run(
        [sys.executable, "-c", f"MODE = {mode!r}\n" + TRIAL],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    runs: dict[str, list[dict]] = {"sequential": [], "warm": []}
    for _ in range(args.trials):
        for mode in runs:
            runs[mode].append(trial(mode))
    medians = {mode: statistics.median(r["startup_s"] for r in rs) for mode, rs in runs.items()}
    print(
        json.dumps(
            {
                "trials": args.trials,
                "runs": runs,
                "median_startup_s": medians,
                "median_imports_s": {
                    mode: statistics.median(r["imports_s"] for r in rs) for mode, rs in runs.items()
                },
                "speedup_sequential_over_warm": round(medians["sequential"] / medians["warm"], 2),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
