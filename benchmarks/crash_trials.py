"""Crash trials at scale: `alliance nightly` killed with SIGKILL at a random moment, then rerun.

Each trial starts a fresh store and output folder, runs `alliance nightly` on the same batch as
a subprocess, kills it with SIGKILL on its own pid (not its process group, as a scheduler or an
operator does) at a moment drawn uniformly over the length of an uninterrupted run, and runs
the same command again. A run that finishes before its kill (timings vary on a busy machine)
is started again on a fresh store with a moment drawn within the length it took, so every
trial is a kill. The trial passes when:

- every session was scored exactly once (no repeated scoring event, none missing),
- every estimate equals the uninterrupted run's (within ``--tolerance``),
- ``sessions.csv`` lists every session once,
- no temporary file is left in the output folder (the run lock aside), and
- no process of the killed run outlives it (Prefect's temporary server, workers).

The baseline is the same command run once without a kill (its estimates are the reference;
its wall time is the denominator of each recovery ratio). The recovery time is the wall time
of the second run.

Prints JSON: per backend, trials passed, every failure with its reasons, the kill moments,
and the slowest and median recovery (seconds, and as a multiple of the uninterrupted run).

Usage:
    python benchmarks/crash_trials.py --trials 20 --sessions 1000 \\
        --backends sqlite postgres --postgres-url postgresql+psycopg://alliance@127.0.0.1:55432/postgres

PostgreSQL: each trial creates and drops its own database on the server of ``--postgres-url``
(default ``$ALLIANCE_TEST_POSTGRES_URL``; ``scripts/postgres_test_server.sh start`` gives one).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError

from pipeline.store.core import Store

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "data" / "fixtures" / "sessions.jsonl"


def write_batch(path: Path, sessions: int, source: Path = FIXTURES) -> int:
    """The ``source`` sessions (default: the fixtures) repeated under new session and client
    ids until ``sessions``."""
    lines = [line for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    with path.open("w") as out:
        for index in range(sessions):
            record = json.loads(lines[index % len(lines)])
            copy = index // len(lines)
            record["session_id"] = f"{record['session_id']}-{copy:03d}"
            record["client_id"] = f"{record['client_id']}-{copy:03d}"
            out.write(json.dumps(record) + "\n")
    return sessions


def _env(prefect_home: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    }
    env.pop("PREFECT_API_URL", None)
    return env


def _command(batch: Path, store_url: str, out: Path, extra: list[str]) -> list[str]:
    nightly = [sys.executable, "-m", "pipeline", "nightly", "--input", str(batch)]
    return [*nightly, "--store", store_url, "--out", str(out), *extra]


class Backend:
    """Where a trial's store lives: a fresh SQLite file or a fresh PostgreSQL database."""

    def __init__(self, name: str, work: Path, postgres_url: str | None):
        self.name = name
        self.work = work
        self.postgres_url = postgres_url
        if name == "postgres" and not postgres_url:
            raise SystemExit("postgres needs --postgres-url or $ALLIANCE_TEST_POSTGRES_URL")

    def fresh(self, label: str) -> str:
        if self.name == "sqlite":
            folder = self.work / f"store-{label}"
            folder.mkdir(parents=True)
            return f"sqlite:///{folder / 'alliance.db'}"
        database = f"crash_{label}".replace("-", "_")
        self._admin(
            f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)', f'CREATE DATABASE "{database}"'
        )
        return make_url(self.postgres_url).set(database=database).render_as_string(False)

    def drop(self, url: str) -> None:
        if self.name == "postgres":
            self._admin(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')

    def _admin(self, *statements: str) -> None:
        engine = create_engine(self.postgres_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
        engine.dispose()


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _survivors(processes: list[psutil.Process], within_s: float) -> list[str]:
    deadline = time.monotonic() + within_s
    alive = processes
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        time.sleep(0.2)
    names = []
    for process in alive:
        try:
            names.append(" ".join(process.cmdline())[:80])
            process.kill()  # leave the machine clean for the next trial
        except psutil.NoSuchProcess:
            continue
    return names


def _run(command: list[str], env: dict, log: Path, timeout_s: float) -> tuple[int, float]:
    start = time.perf_counter()
    with log.open("ab") as output:
        done = subprocess.run(
            command,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=timeout_s,
            check=False,
        )
    return done.returncode, time.perf_counter() - start


def _estimates(store_url: str) -> dict[str, float]:
    store = Store(store_url)
    estimates = {e.session_id: e.overall for e in store.estimates()}
    store.engine.dispose()
    return estimates


def _committed(store_url: str) -> int:
    """Estimates committed so far, read without creating the schema (the rerun must)."""
    engine = create_engine(store_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM estimates")).scalar()
    except SQLAlchemyError:  # not created yet: killed during start-up
        return 0
    finally:
        engine.dispose()


def _temp_files(out: Path) -> list[str]:
    left = []
    for path in out.rglob("*"):
        name = path.name
        if "lock" in name:
            continue
        if name.startswith(".") or name.endswith((".tmp", ".part")) or "tmp" in name.split("."):
            left.append(str(path.relative_to(out)))
    return left


def check(
    store_url: str, out: Path, expected: dict[str, float], tolerance: float
) -> tuple[list[str], float]:
    """Reasons the trial failed (empty when it passed), and the largest estimate difference."""
    import csv

    problems = []
    store = Store(store_url)
    events = [session_id for session_id, _, _ in store.scoring_events()]
    repeated = len(events) - len(set(events))
    if repeated:
        problems.append(f"{repeated} sessions scored more than once")
    missing = set(expected) - set(events)
    if missing:
        problems.append(f"{len(missing)} sessions never scored")
    got = _estimates(store_url)
    differences = [abs(got[s] - expected[s]) for s in expected if s in got]
    off = [d for d in differences if d > tolerance]
    if off:
        problems.append(f"{len(off)} estimates differ from the uninterrupted run")
    if set(got) != set(expected):
        problems.append(f"{len(set(expected) ^ set(got))} sessions with a wrong estimate set")
    csv_path = out / "sessions.csv"
    rows = [r["session_id"] for r in csv.DictReader(csv_path.open())] if csv_path.exists() else []
    if sorted(rows) != sorted(expected):
        problems.append("sessions.csv does not list every session once")
    left = _temp_files(out)
    if left:
        problems.append(f"temporary files left: {left[:5]}")
    if any(run["info"]["status"] == "running" for run in store.runs()):
        problems.append("a run is still marked running")
    store.engine.dispose()
    return problems, max(differences, default=0.0)


def trial(
    backend: Backend,
    index: int,
    batch: Path,
    expected: dict[str, float],
    clean_s: float,
    rng: random.Random,
    args: argparse.Namespace,
) -> dict:
    window, attempts = clean_s, 0
    while True:  # a run that ends before its kill is no trial: draw again, within its length
        attempts += 1
        label = f"{backend.name}-{index:02d}-{attempts}"
        store_url = backend.fresh(label)
        out = backend.work / f"out-{label}"
        env = _env(backend.work / f"prefect-{label}")
        log = backend.work / f"{label}.log"
        command = _command(batch, store_url, out, args.extra)
        kill_after = rng.uniform(0.0, window)
        with log.open("wb") as output:
            run = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        started = time.perf_counter()
        family: dict[int, psutil.Process] = {}
        while run.poll() is None and time.perf_counter() - started < kill_after:
            family.update({p.pid: p for p in _descendants(run.pid)})
            time.sleep(0.1)
        killed = run.poll() is None
        if killed:
            family.update({p.pid: p for p in _descendants(run.pid)})
            os.kill(run.pid, signal.SIGKILL)  # its pid alone: the watchdog must end the rest
        run.wait()
        if killed or attempts == 3:
            break
        window = 0.95 * (time.perf_counter() - started)  # this machine is faster just now
        backend.drop(store_url)
    committed = _committed(store_url)
    survivors = _survivors(list(family.values()), within_s=15.0)
    code, recovery_s = _run(command, env, log, args.timeout)
    problems = [] if code == 0 else [f"the rerun exited {code} (see {log})"]
    if not killed:
        problems.append("the first run ended before the kill")
    if survivors:
        problems.append(f"processes outlived the kill: {survivors}")
    largest_difference = None
    if code == 0:
        found, largest_difference = check(store_url, out, expected, args.tolerance)
        problems += found
    backend.drop(store_url)
    return {
        "trial": index,
        "attempts": attempts,
        "kill_after_s": round(kill_after, 2),
        "committed_at_kill": committed,
        "recovery_s": round(recovery_s, 1),
        "largest_estimate_difference": largest_difference,
        "passed": not problems,
        "problems": problems,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument(
        "--backends", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"]
    )
    parser.add_argument("--postgres-url", default=os.environ.get("ALLIANCE_TEST_POSTGRES_URL"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--tolerance",
        type=float,
        default=1e-6,
        help="largest difference from the uninterrupted run's overall estimate",
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds one run may take")
    parser.add_argument("--work", type=Path, default=None, help="work folder (default: a temp)")
    parser.add_argument("extra", nargs="*", help="after --: more nightly options, e.g. --model")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = args.work or Path(tempfile.mkdtemp(prefix="alliance-crash-"))
    work.mkdir(parents=True, exist_ok=True)
    batch = work / "batch.jsonl"
    write_batch(batch, args.sessions)

    result = {"sessions": args.sessions, "trials": args.trials, "seed": args.seed, "backends": {}}
    for name in args.backends:
        backend = Backend(name, work / name, args.postgres_url)
        backend.work.mkdir(parents=True, exist_ok=True)
        store_url = backend.fresh("clean")
        out = backend.work / "out-clean"
        code, clean_s = _run(
            _command(batch, store_url, out, args.extra),
            _env(backend.work / "prefect-clean"),
            backend.work / "clean.log",
            args.timeout,
        )
        if code != 0:
            raise SystemExit(f"the uninterrupted run failed ({code}): {backend.work}/clean.log")
        expected = _estimates(store_url)
        backend.drop(store_url)
        trials = []
        for index in range(args.trials):
            outcome = trial(backend, index, batch, expected, clean_s, rng, args)
            trials.append(outcome)
            print(json.dumps({"backend": name, **outcome}), file=sys.stderr, flush=True)
        recoveries = [t["recovery_s"] for t in trials]
        result["backends"][name] = {
            "uninterrupted_s": round(clean_s, 1),
            "sessions_scored": len(expected),
            "passed": sum(t["passed"] for t in trials),
            "trials": len(trials),
            "slowest_recovery_s": max(recoveries),
            "median_recovery_s": round(statistics.median(recoveries), 1),
            "slowest_recovery_ratio": round(max(recoveries) / clean_s, 2),
            "failures": [t for t in trials if not t["passed"]],
            "kills": [(t["kill_after_s"], t["committed_at_kill"]) for t in trials],
        }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
