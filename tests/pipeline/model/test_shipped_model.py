"""The shipped default model on the fixtures: the storylines the fixtures were written for.

Uses the real pinned encoder (installed with the package; nothing is downloaded) and
``models/default``; the pipeline steps are called directly (the flow is tested elsewhere).
"""

import uuid
from collections import defaultdict
from pathlib import Path

import pytest

from pipeline import steps
from pipeline.config import load_config
from pipeline.store.core import Store
from pipeline.training.acceptance import INTENDED_FIT  # data/fixtures/README.md

FIXTURES = Path(__file__).resolve().parents[3] / "data" / "fixtures"


@pytest.fixture(scope="module")
def fixture_flags(tmp_path_factory):
    config = load_config()
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('shipped') / 'a.db'}")
    run_id = uuid.uuid4().hex
    ids = steps.ingest_step([FIXTURES / "sessions.jsonl"], config, store, run_id)["session_ids"]
    steps.score_step(ids, config, store, run_id)
    steps.flag_step(ids, config, store)
    codes = defaultdict(set)
    for flag in store.flags():
        codes[flag.session_id].add(flag.code)
    return codes, {e.session_id: e for e in store.estimates()}


def test_shipped_model_flags_the_rupture_at_session_four_and_its_repair(fixture_flags):
    codes, _ = fixture_flags
    ruptures = sorted(s for s, c in codes.items() if "RUPTURE" in c and s <= "s-006")
    # s-005, the repair session, is flagged too: it speaks of the strain while working it
    # through (a known confusion, docs/models.md).
    assert ruptures[0] == "s-004" and not {"s-001", "s-002", "s-003", "s-006"} & set(ruptures)
    assert "REPAIR" in codes["s-005"] | codes["s-006"]


def test_shipped_model_leaves_the_steady_client_unflagged(fixture_flags):
    codes, _ = fixture_flags
    steady = {f"s-{i:03d}" for i in range(7, 13)}
    assert not any(codes[s] for s in steady)


def test_shipped_model_notices_missing_goal_talk_and_sustained_low(fixture_flags):
    codes, estimates = fixture_flags
    assert any("NO_GOAL_TALK" in codes[f"s-{i:03d}"] for i in range(13, 19))
    assert any("LOW_ALLIANCE" in codes[f"s-{i:03d}"] for i in range(19, 25))
    strong = sum(estimates[f"s-{i:03d}"].overall for i in range(7, 13)) / 6
    low = sum(estimates[f"s-{i:03d}"].overall for i in range(19, 25)) / 6
    assert strong > low + 0.3


def test_shipped_model_calls_every_fixture_clients_approach_fit(fixture_flags):
    from pipeline.config import ApproachConfig
    from pipeline.sessions.approach import client_fit

    _, estimates = fixture_flags
    by_client = defaultdict(list)
    for estimate in estimates.values():
        by_client[estimate.client_id].append(estimate)
    calls = {c: client_fit(e, ApproachConfig()).approach_fit for c, e in by_client.items()}
    assert calls == INTENDED_FIT


def test_shipped_model_reads_structure_from_the_notes(fixture_flags):
    """c-08's worksheet sessions (s-043, s-045, s-047) read as more structured than its open
    ones (s-044, s-046, s-048). s-015 records only what the client said and did, and the next
    appointment: no way of working, so an empty structure, not 0.5."""
    _, estimates = fixture_flags
    structured = [estimates[s].structure for s in ("s-043", "s-045", "s-047")]
    open_ended = [estimates[s].structure for s in ("s-044", "s-046", "s-048")]
    assert min(structured) > max(open_ended)
    assert estimates["s-015"].structure is None
    others = [e for e in estimates.values() if e.session_id != "s-015"]
    assert all(e.structure is not None and 0 <= e.structure <= 1 for e in others)
    assert {e.kind for e in estimates.values()} == {"note", "transcript"}
