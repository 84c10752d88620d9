"""The contract of a scoring run (DESIGN.md section 3), end to end under a Prefect harness."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from pipeline.flows import nightly_flow, score_flow
from pipeline.store.core import Store, default_url
from tests.helpers import FIXTURE_SESSIONS

FIXTURES = Path(__file__).resolve().parents[2] / "data" / "fixtures"
PASSAGE_KEYS = {
    "session_id",
    "passage_id",
    "index",
    "speaker",
    "section",
    "start",
    "end",
    "negated",
    "alliance",
    "strain",
    "empathy",
    "aux",
    "style",  # the tiny test model has the style head
}
SESSION_COLUMNS = [
    "session_id",
    "client_id",
    "clinician_id",
    "session_date",
    "n_passages",
    "task",
    "bond",
    "goal",
    "overall",
    "task_low",
    "task_high",
    "bond_low",
    "bond_high",
    "goal_low",
    "goal_high",
    "overall_low",
    "overall_high",
    "model_version",
    "flags",
    "structure",
    "kind",
]
CLIENT_COLUMNS = [
    "client_id",
    "clinician_id",
    "n_sessions",
    "first_date",
    "last_date",
    "overall_mean",
    "overall_trend",
    "approach_fit",
    "fit_rho",
    "fit_low",
    "fit_high",
]
VALID_BAD_SESSIONS = 3  # bad_sessions.jsonl: 3 valid sessions among 13 lines


@pytest.fixture(scope="module")
def scored_run(prefect_harness, tiny_config, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    info = score_flow(
        inputs=[str(FIXTURES / "sessions.jsonl"), str(FIXTURES / "bad_sessions.jsonl")],
        out_dir=str(out),
        config=tiny_config.model_dump(mode="json"),
        store_url=default_url(out),
    )
    return out, info


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_flows_score_writes_every_contract_file(scored_run):
    out, info = scored_run
    for name in (
        "passages.jsonl",
        "sessions.csv",
        "clients.csv",
        "report.html",
        "quarantine.jsonl",
        "run.json",
    ):
        assert (out / name).stat().st_size > 0, name
    # The tiny model may raise no flag at all; the file still holds every flag in the store.
    assert len(_jsonl(out / "flags.jsonl")) == info["counts"]["flags"]
    assert info["counts"]["sessions_scored"] == FIXTURE_SESSIONS + VALID_BAD_SESSIONS
    assert info["counts"]["quarantined"] == 10


def test_flows_passages_have_every_field_and_no_text(scored_run):
    out, _ = scored_run
    rows = _jsonl(out / "passages.jsonl")
    assert rows and all(set(row) == PASSAGE_KEYS for row in rows)
    assert {row["section"] for row in rows} >= {"data", "assessment", "plan", "transcript"}
    first = rows[0]
    assert first["passage_id"] == f"{first['session_id']}:{first['index']:04d}"
    assert set(first["aux"]) == {"mi_behaviour", "client_talk", "support_strategy"}
    assert set(first["style"]) == {"directive", "exploratory", "neither"}


def test_flows_sessions_csv_columns_and_scale(scored_run):
    out, _ = scored_run
    with (out / "sessions.csv").open() as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == SESSION_COLUMNS
        rows = list(reader)
    assert len(rows) == FIXTURE_SESSIONS + VALID_BAD_SESSIONS
    for row in rows:
        for target in ("task", "bond", "goal", "overall"):
            low, mid, high = (
                float(row[f"{target}_low"]),
                float(row[target]),
                float(row[f"{target}_high"]),
            )
            assert 1 <= low <= mid <= high <= 5


def test_flows_clients_csv_contract_columns(scored_run):
    out, _ = scored_run
    with (out / "clients.csv").open() as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames[: len(CLIENT_COLUMNS)] == CLIENT_COLUMNS  # more may follow
        rows = list(reader)
    assert len(rows) == len({row["client_id"] for row in rows}) > 0
    assert {row["approach_fit"] for row in rows} <= {"structure", "exploration", "unclear"}


def test_flows_quarantine_and_run_json(scored_run):
    out, info = scored_run
    quarantined = _jsonl(out / "quarantine.jsonl")
    assert len(quarantined) == 10
    assert all(
        set(q) == {"source", "location", "session_id", "error_code", "message"} for q in quarantined
    )
    run = json.loads((out / "run.json").read_text())
    assert run["model_version"] == "tiny-test"
    assert set(run["timings_s"]) >= {"ingest", "segment", "classify", "estimate", "flag"}
    assert run["config_hash"] == info["config_hash"]


def test_flows_flags_reference_real_passages(scored_run):
    out, _ = scored_run
    passage_ids = {row["passage_id"] for row in _jsonl(out / "passages.jsonl")}
    for flag in _jsonl(out / "flags.jsonl"):
        assert set(flag) == {
            "session_id",
            "client_id",
            "clinician_id",
            "code",
            "severity",
            "reason",
            "evidence",
        }
        assert set(flag["evidence"]) <= passage_ids


def test_flows_rerun_scores_nothing_new(scored_run, tiny_config):
    out, _ = scored_run
    info = score_flow(
        inputs=[str(FIXTURES / "sessions.jsonl")],
        out_dir=str(out),
        config=tiny_config.model_dump(mode="json"),
        store_url=default_url(out),
    )
    assert info["counts"]["sessions_scored"] == 0
    lines = (out / "sessions.csv").read_text().splitlines()
    assert len(lines) == 1 + FIXTURE_SESSIONS + VALID_BAD_SESSIONS


# -- nightly: exactly once, amendments, model versions, the run lock, kill -9 and resume ----------


def _nightly(inputs, out: Path, config, store_url: str) -> dict:
    return nightly_flow(
        inputs=[str(p) for p in inputs],
        out_dir=str(out),
        config=config.model_dump(mode="json"),
        store_url=store_url,
    )


def test_flows_nightly_rescores_an_amended_note_and_keeps_history(
    prefect_harness, tiny_config, store_url: str, tmp_path: Path
):
    first = _nightly([FIXTURES / "sessions.jsonl"], tmp_path / "out", tiny_config, store_url)
    assert first["counts"]["sessions_scored"] == FIXTURE_SESSIONS
    records = [json.loads(line) for line in (FIXTURES / "sessions.jsonl").read_text().splitlines()]
    records[0]["note"] += "\nP: Addendum: client asked to revisit the plan next week."
    amended = tmp_path / "amended.jsonl"
    amended.write_text("".join(json.dumps(r) + "\n" for r in records))
    second = _nightly([amended], tmp_path / "out", tiny_config, store_url)
    assert second["counts"]["new_or_amended"] == 1
    assert second["counts"]["sessions_scored"] == 1
    store = Store(store_url)
    session_id = records[0]["session_id"]
    (earlier,) = store.estimate_history(session_id)
    assert earlier["run_id"] == first["run_id"]
    assert len(store.session_history(session_id)) == 1
    rows = list(csv.DictReader((tmp_path / "out" / "sessions.csv").open()))
    assert len(rows) == len({r["session_id"] for r in rows}) == FIXTURE_SESSIONS
    events = store.scoring_events()
    assert len(events) == len(set(events)) == FIXTURE_SESSIONS + 1


def test_flows_nightly_new_model_version_rescores_every_session_once(
    prefect_harness, tiny_config, tiny_encoder_config, store_url: str, tmp_path: Path
):
    from tests.helpers import build_tiny_model

    _nightly([FIXTURES / "sessions.jsonl"], tmp_path / "out", tiny_config, store_url)
    newer = build_tiny_model(tmp_path / "model-2", tiny_encoder_config, version="tiny-test-2")
    config = tiny_config.model_copy(update={"model_dir": newer})
    info = _nightly([FIXTURES / "sessions.jsonl"], tmp_path / "out", config, store_url)
    assert info["counts"]["new_or_amended"] == 0
    assert info["counts"]["sessions_scored"] == FIXTURE_SESSIONS
    assert {e.model_version for e in Store(store_url).estimates()} == {"tiny-test-2"}
    again = _nightly([FIXTURES / "sessions.jsonl"], tmp_path / "out", config, store_url)
    assert again["counts"]["sessions_scored"] == 0


def test_flows_nightly_refuses_to_run_beside_another_run(
    prefect_harness, tiny_config, store_url: str, tmp_path: Path
):
    from pipeline.store.locking import RunLockedError, run_lock

    with run_lock(store_url, tmp_path / "elsewhere"), pytest.raises(RunLockedError):
        _nightly([FIXTURES / "sessions.jsonl"], tmp_path / "out", tiny_config, store_url)
    assert Store(store_url).estimates() == []


def _estimates_in(engine) -> int:
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM estimates")).scalar()
    except SQLAlchemyError:  # not created yet
        return 0


def _kill_then_resume(command, env, store_url: str, kill_at: int, deadline_s: float = 240):
    """Start a real run, SIGKILL its whole process group once ``kill_at`` sessions are
    committed (0: as soon as it starts), then run the same command again to completion."""
    # Output to a file, not a pipe: a full pipe would stall the run at an arbitrary point.
    log = Path(env["PREFECT_HOME"]).with_suffix(".log")
    with log.open("wb") as output:
        run = subprocess.Popen(
            command, env=env, start_new_session=True, stdout=output, stderr=subprocess.STDOUT
        )
    database = create_engine(store_url)
    started = time.monotonic()
    while run.poll() is None and time.monotonic() - started < deadline_s:
        if kill_at == 0 or _estimates_in(database) >= kill_at:
            break
        time.sleep(0.02)
    killed = run.poll() is None
    committed_at_kill = _estimates_in(database)
    if killed:
        os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    database.dispose()
    assert killed, f"the run ended before it could be killed: {log.read_text()[-1500:]}"
    resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=deadline_s)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    return committed_at_kill


def _check_exactly_once(store: Store, out: Path, expected: dict[str, float]) -> None:
    events = store.scoring_events()
    assert len(events) == len(set(events)), "a session was scored twice"
    assert {session_id for session_id, _, _ in events} == set(expected)
    passages = store.passages(list(expected))
    for estimate in store.estimates():
        assert estimate.n_passages == len(passages[estimate.session_id])
        assert estimate.overall == pytest.approx(expected[estimate.session_id], abs=0.02)
    rows = list(csv.DictReader((out / "sessions.csv").open()))
    assert sorted(r["session_id"] for r in rows) == sorted(expected)
    assert not [p.name for p in out.iterdir() if p.name.startswith(".") and "lock" not in p.name]
    runs = {run["info"]["status"] for run in store.runs()}
    assert "running" not in runs and "finished" in runs


@pytest.mark.parametrize(
    "kill_at",
    # Sessions committed when the run is killed: 0 = at start-up (Prefect server, model load),
    # 10_000 = after the last commit (flags, export). The default run tries mid-scoring only.
    [60] + [pytest.param(k, marks=pytest.mark.slow) for k in (0, 1, 250, 503, 10_000)],
)
def test_flows_nightly_resumes_after_kill_9_and_scores_each_session_once(
    kill_at,
    prefect_harness,
    tiny_config,
    tiny_model_dir,
    tiny_encoder_dir,
    store_url: str,
    tmp_path: Path,
):
    from tests.helpers import private_env, tiny_cli_options, write_many_sessions

    batch = tmp_path / "batch.jsonl"
    written = write_many_sessions(batch, 8)  # 528 sessions
    clean = score_flow(
        inputs=[str(batch)],
        out_dir=str(tmp_path / "clean"),
        config=tiny_config.model_dump(mode="json"),
        store_url=default_url(tmp_path / "clean"),
    )
    expected = {e.session_id: e.overall for e in Store(default_url(tmp_path / "clean")).estimates()}
    assert clean["counts"]["sessions_scored"] == len(expected) == written
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "pipeline",
        "nightly",
        "--input",
        str(batch),
        "--store",
        store_url,
        "--out",
        str(out),
        *tiny_cli_options(tiny_model_dir, tiny_encoder_dir),
        "--set",
        "run.sessions_per_batch=4",
    ]
    committed = _kill_then_resume(
        command, private_env(tmp_path / "prefect"), store_url, min(kill_at, len(expected))
    )
    if kill_at == 60:
        assert 60 <= committed < len(expected), "the kill did not land mid-scoring"
    _check_exactly_once(Store(store_url), out, expected)


def test_flows_nightly_scores_a_fhir_bundle_into_the_store(
    prefect_harness, tiny_config, store_url: str, tmp_path: Path
):
    """FHIR DocumentReferences end to end (into PostgreSQL when the server is set)."""
    out = tmp_path / "out"
    info = _nightly(
        [FIXTURES / "fhir" / "bundle.json", FIXTURES / "fhir" / "notes.ndjson"],
        out,
        tiny_config,
        store_url,
    )
    assert info["counts"]["sessions_scored"] == 9
    assert info["fhir"]["skipped"]["psychotherapy_note"] == 2
    run = json.loads((out / "run.json").read_text())
    assert run["fhir"] == info["fhir"]
    codes = sorted(q["error_code"] for q in _jsonl(out / "quarantine.jsonl"))
    assert codes == [
        "FHIR_BAD_BASE64",
        "FHIR_INVALID_JSON",
        "FHIR_NO_TEXT",
        "FHIR_TEXT_NOT_INLINE",
    ]
    clients = {row["client_id"] for row in csv.DictReader((out / "sessions.csv").open())}
    assert clients and all(client.startswith("Patient/") for client in clients)
