"""The fixture storylines as an acceptance check: what a model folder flags on
``data/fixtures/sessions.jsonl`` against what the storylines call for
(``data/fixtures/README.md``, "Flags the storylines call for").

The fixture sessions are by a writer no model learns from. ``alliance train`` promotes a
candidate only if it meets every storyline call the current default meets, flags no more
sessions of the steady clients and makes every approach-fit call the default makes right
(``data/fixtures/README.md``, "Approach fit"); ``benchmarks/flags.py`` reports the same check.
"""

from __future__ import annotations

import csv
import json
import tempfile
from collections import defaultdict
from pathlib import Path

from pipeline.config import AllianceConfig

FIXTURES = Path(__file__).resolve().parents[2] / "data" / "fixtures"
FIXTURE_SESSIONS = FIXTURES / "sessions.jsonl"
RUPTURE_CODES = ("RUPTURE", "RUPTURE_DROP", "STRAIN_MARKERS")
INFO_CODES = ("REPAIR",)

# Each call is met when at least one of its sessions carries one of its codes.
FIXTURE_CALLS = {
    "c-01 rupture at s-004": (("s-004",), RUPTURE_CODES),
    "c-01 repair at s-005 or s-006": (("s-005", "s-006"), ("REPAIR",)),
    "c-03 no goal talk from its third session": (
        ("s-015", "s-016", "s-017", "s-018"),
        ("NO_GOAL_TALK",),
    ),
    "c-04 sustained low alliance": (("s-021", "s-022", "s-023", "s-024"), ("LOW_ALLIANCE",)),
}
# Clients whose alliance is steady and good: none of their sessions should carry a flag.
STEADY_CLIENTS = ("c-02", "c-10")
# Each fixture client's intended approach-fit call (data/fixtures/README.md, "Approach fit").
INTENDED_FIT = {
    "c-08": "structure",
    "c-09": "exploration",
    "c-10": "unclear",  # structure varies, the alliance stays high
    "c-11": "unclear",  # alliance and structure both rise with time
    **{f"c-0{i}": "unclear" for i in range(1, 8)},  # flag storylines, structure not varied
}


def fixture_outputs(
    model_dir: Path, config: AllianceConfig
) -> tuple[dict[str, set[str]], dict[str, str]]:
    """Session id -> flag codes, and client id -> approach-fit call, that the folder's model
    gives the fixture sessions (a fresh, temporary store; the pipeline's plain steps, as
    ``alliance score`` runs them)."""
    from pipeline import steps
    from pipeline.store.core import Store, default_url

    config = config.model_copy(update={"model_dir": Path(model_dir)})
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(default_url(Path(tmp)))
        try:
            steps.run_steps([FIXTURE_SESSIONS], config, store, Path(tmp))
        finally:
            store.engine.dispose()
        with (Path(tmp) / "clients.csv").open(encoding="utf-8") as handle:
            fits = {row["client_id"]: row["approach_fit"] for row in csv.DictReader(handle)}
        return read_flag_codes(Path(tmp) / "flags.jsonl"), fits


def read_flag_codes(flags_path: Path) -> dict[str, set[str]]:
    """Session id -> flag codes of a run's ``flags.jsonl``."""
    codes: dict[str, set[str]] = defaultdict(set)
    for line in Path(flags_path).read_text().splitlines():
        flag = json.loads(line)
        codes[flag["session_id"]].add(flag["code"])
    return dict(codes)


def storylines(codes: dict[str, set[str]]) -> dict:
    """Which storyline calls are met, which steady sessions are flagged, and the share of
    sessions with a flag to review (``REPAIR`` alone is news, not a concern)."""
    records = [json.loads(line) for line in FIXTURE_SESSIONS.read_text().splitlines()]
    calls = {
        name: any(codes.get(sid, set()) & set(wanted) for sid in sids)
        for name, (sids, wanted) in FIXTURE_CALLS.items()
    }
    steady = [r["session_id"] for r in records if r["client_id"] in STEADY_CLIENTS]
    concern = [r for r in records if set(codes.get(r["session_id"], ())) - set(INFO_CODES)]
    return {
        "storyline_calls_met": calls,
        "steady_sessions": len(steady),
        "steady_sessions_flagged": {sid: sorted(codes[sid]) for sid in steady if codes.get(sid)},
        "flag_rate": round(len(concern) / len(records), 3),
        "codes": {sid: sorted(c) for sid, c in sorted(codes.items())},
    }


def storyline_summary(model_dir: Path, config: AllianceConfig) -> dict:
    """The calls met, the steady sessions flagged and the clients whose approach fit is
    called as intended, for the promotion rule."""
    codes, fits = fixture_outputs(model_dir, config)
    result = storylines(codes)
    return {
        "calls_met": sorted(name for name, met in result["storyline_calls_met"].items() if met),
        "steady_flagged": sorted(result["steady_sessions_flagged"]),
        "fits_met": sorted(c for c, call in INTENDED_FIT.items() if fits.get(c) == call),
    }


def meets_storylines(candidate: dict, current: dict) -> bool:
    """The candidate meets every call the current model meets, flags no steady session the
    current model leaves alone, and calls every client's approach fit right that the current
    model calls right."""
    return (
        set(current["calls_met"]) <= set(candidate["calls_met"])
        and set(candidate["steady_flagged"]) <= set(current["steady_flagged"])
        and set(current.get("fits_met", ())) <= set(candidate.get("fits_met", ()))
    )
