"""The contract of a scoring run (DESIGN.md section 3), end to end under a Prefect harness."""

import csv
import json
from pathlib import Path

import pytest

from pipeline.flows import score_flow
from pipeline.store import default_url

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
]


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
        "flags.jsonl",
        "report.html",
        "quarantine.jsonl",
        "run.json",
    ):
        assert (out / name).stat().st_size > 0, name
    assert info["counts"]["sessions_scored"] == 45
    assert info["counts"]["quarantined"] == 10


def test_flows_passages_have_every_field_and_no_text(scored_run):
    out, _ = scored_run
    rows = _jsonl(out / "passages.jsonl")
    assert rows and all(set(row) == PASSAGE_KEYS for row in rows)
    assert {row["section"] for row in rows} >= {"data", "assessment", "plan", "transcript"}
    first = rows[0]
    assert first["passage_id"] == f"{first['session_id']}:{first['index']:04d}"
    assert set(first["aux"]) == {"mi_behaviour", "client_talk", "support_strategy"}


def test_flows_sessions_csv_columns_and_scale(scored_run):
    out, _ = scored_run
    with (out / "sessions.csv").open() as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == SESSION_COLUMNS
        rows = list(reader)
    assert len(rows) == 45
    for row in rows:
        for target in ("task", "bond", "goal", "overall"):
            low, mid, high = (
                float(row[f"{target}_low"]),
                float(row[target]),
                float(row[f"{target}_high"]),
            )
            assert 1 <= low <= mid <= high <= 5


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
    assert len((out / "sessions.csv").read_text().splitlines()) == 46
