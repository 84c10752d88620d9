"""Scaling: time per passage and peak memory of the pipeline at growing input sizes.

For each size (default 1k and 10k synthetic notes; add 100000 on a machine with time), a fresh
child process runs the pipeline's plain steps (ingest -> score -> flag -> export, the work of
`alliance score` without Prefect) on a SQLite store, and reports wall time, passages, seconds
per passage and its peak resident memory. Prefect's fixed overhead (temporary server start,
flow and task bookkeeping) is measured separately: the same small input through the ``score``
flow and through the plain steps, in one process.

Synthetic notes are the fixture sessions repeated under new session and client ids (10
sessions per client), so every size has the same passage mix.

Prints JSON: per size, and the ratio of each size's seconds per passage to the smallest's
(goal: within +-15%) and its peak memory (goal: flat, < 2.5 GB).

Usage: python benchmarks/scaling.py [--sizes 1000 10000 100000] [--model DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "data" / "fixtures" / "sessions.jsonl"


def write_notes(path: Path, count: int) -> None:
    """``count`` sessions: the fixture sessions cycled under new ids, 10 per client."""
    records = [json.loads(line) for line in FIXTURES.read_text().splitlines()]
    with path.open("w") as out:
        for number in range(count):
            record = dict(records[number % len(records)])
            record["session_id"] = f"syn-{number:07d}"
            record["client_id"] = f"syn-client-{number // 10:06d}"
            out.write(json.dumps(record) + "\n")


def _rss_mb() -> float:
    """Current resident memory of this process (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


class RssTimeline:
    """Resident memory sampled every ``interval`` seconds in a background thread; ``stop``
    returns about ``points`` evenly spaced (seconds, MB) samples, to show whether memory is
    flat through the run or grows with the input."""

    def __init__(self, interval: float = 1.0, points: int = 12):
        self.samples: list[tuple[float, float]] = []
        self.points = points
        self._start = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._thread.start()

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.samples.append((round(time.perf_counter() - self._start, 1), _rss_mb()))

    def stop(self) -> list[tuple[float, float]]:
        self._stop.set()
        self._thread.join()
        step = max(1, len(self.samples) // self.points)
        return self.samples[::step]


def _config(model: str | None):
    from pipeline.config import load_config

    overrides = [f"model_dir={model}"] if model else None
    return load_config(None, overrides)


def child(input_path: Path, out_dir: Path, model: str | None) -> dict:
    """One pipeline run in this process (called in a fresh child per size)."""
    from pipeline import steps
    from pipeline.store.core import Store, default_url

    config = _config(model)
    timeline = RssTimeline()
    start = time.perf_counter()
    steps.load_model(config)
    load_s = time.perf_counter() - start
    rss_loaded = _rss_mb()
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    result = steps.run_steps([input_path], config, Store(default_url(out_dir)), out_dir)
    scored, timings = result["scored"], result["timings_s"]
    wall = time.perf_counter() - start
    return {
        "sessions": scored["sessions"],
        "passages": scored["passages"],
        "wall_s": round(wall, 2),
        "model_load_s": round(load_s, 2),
        "s_per_1k_passages": round(1000 * wall / max(scored["passages"], 1), 3),
        "stage_s": {k: round(v, 2) for k, v in timings.items()},
        "rss_after_model_load_mb": rss_loaded,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_timeline_mb": timeline.stop(),
    }


def prefect_overhead(model: str | None, sessions: int = 100) -> dict:
    """The same small input through the ``score`` flow and the plain steps (best of 2)."""
    from pipeline.flows import score_flow
    from pipeline.store.core import default_url

    config = _config(model)
    with tempfile.TemporaryDirectory() as tmp:
        notes = Path(tmp) / "notes.jsonl"
        write_notes(notes, sessions)
        direct, flow = [], []
        for attempt in range(2):
            out = Path(tmp) / f"direct-{attempt}"
            start = time.perf_counter()
            child(notes, out, model)
            direct.append(time.perf_counter() - start)
            out = Path(tmp) / f"flow-{attempt}"
            start = time.perf_counter()
            score_flow(
                inputs=[str(notes)],
                out_dir=str(out),
                config=config.model_dump(mode="json"),
                store_url=default_url(out),
            )
            flow.append(time.perf_counter() - start)
    return {
        "sessions": sessions,
        "direct_s": round(min(direct), 2),
        "flow_s": round(min(flow), 2),
        "overhead_s": round(min(flow) - min(direct), 2),
        "note": "flow_s excludes the temporary server's start-up (already running)",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--model", default=None, help="model folder (default models/default)")
    parser.add_argument("--child", nargs=2, metavar=("INPUT", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--skip-prefect", action="store_true", help="skip the overhead part")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(Path(args.child[0]), Path(args.child[1]), args.model)))
        return
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            notes = Path(tmp) / f"notes-{size}.jsonl"
            write_notes(notes, size)
            command = [sys.executable, __file__, "--child", str(notes), str(Path(tmp) / str(size))]
            if args.model:
                command += ["--model", args.model]
            finished = subprocess.run(command, capture_output=True, text=True, check=True)
            results.append({"notes": size, **json.loads(finished.stdout.strip().splitlines()[-1])})
            notes.unlink()
            print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    base = results[0]["s_per_1k_passages"]
    for row in results:
        row["time_per_passage_vs_smallest"] = round(row["s_per_1k_passages"] / base, 3)
    report = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "sizes": results,
        "time_per_passage_within_15pct": all(
            abs(r["time_per_passage_vs_smallest"] - 1) <= 0.15 for r in results
        ),
        "peak_rss_mb_max": max(r["peak_rss_mb"] for r in results),
    }
    if not args.skip_prefect:
        os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp())
        report["prefect_overhead"] = prefect_overhead(args.model)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
