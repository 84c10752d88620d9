"""No note text outside the result store and the report: a canary word planted in notes must
not appear in the console output, in Prefect's home (its database and logs), in any output
file other than the store and the report, or in quarantine messages."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CANARY = "Zyxwvutsrqcanary"


def _wal(database: Path) -> bytes:
    wal = database.with_name(database.name + "-wal")
    return wal.read_bytes() if wal.exists() else b""


def _files_containing(folder: Path, needle: bytes) -> list[str]:
    hits = []
    for path in folder.rglob("*"):
        if path.is_file() and needle in path.read_bytes():
            hits.append(str(path.relative_to(folder)))
    return hits


@pytest.mark.parametrize("job", ["score", "nightly"])
def test_privacy_canary_stays_in_the_store_and_report(
    job, tiny_model_dir, tiny_encoder_dir, tmp_path: Path
):
    notes = tmp_path / "notes.jsonl"
    good = {
        "session_id": "s-1",
        "client_id": "c-1",
        "clinician_id": "t-1",
        "session_date": "2026-03-02",
        # Not in a name's place ("said X felt" would be redacted as a left-over name).
        "note": f"D: Client described a {CANARY} feeling of being unheard.",
    }
    bad = {**good, "session_id": "s-2", "patient_name": CANARY}
    # A de-identification miss: the identifier guard must quarantine it without quoting it.
    leak = {**good, "session_id": "s-3", "note": f"D: Write to {CANARY.lower()}@example.org."}
    records = [json.dumps(r) for r in (good, bad, leak)] + [f'{{"note": "{CANARY}']
    notes.write_text("\n".join(records) + "\n")
    home, out, store = tmp_path / "prefect-home", tmp_path / "out", tmp_path / "store.db"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": "",
        "PREFECT_LOGGING_LEVEL": "DEBUG",
    }
    env.pop("PREFECT_API_URL")
    where = [str(notes), "--out", str(out)]
    if job == "nightly":  # a store outside the output folder, as clinics run it
        where = ["--input", str(notes), "--out", str(out), "--store", f"sqlite:///{store}"]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            job,
            *where,
            "--model",
            str(tiny_model_dir),
            "--set",
            f"encoder.path={tiny_encoder_dir}",
            "--set",
            "encoder.sha256=null",
            "--include-text",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert CANARY not in result.stdout + result.stderr
    assert list(home.rglob("*.db")), "the run did not use this Prefect home"
    assert _files_containing(home, CANARY.encode()) == []
    assert _files_containing(home, CANARY.lower().encode()) == []
    # Only the store and the report (and passages.jsonl, because --include-text asked for
    # it) may hold note text; quarantine.jsonl and run.json must not.
    holders = set(_files_containing(out, CANARY.encode()))
    database = {"alliance.db"} if job == "score" else set()
    assert database | {"passages.jsonl"} <= holders <= database | {"passages.jsonl", "report.html"}
    if job == "nightly":
        assert CANARY.encode() in store.read_bytes() + _wal(store)
    quarantine = (out / "quarantine.jsonl").read_text()
    assert quarantine.count("\n") == 3 and CANARY.lower() not in quarantine.lower()
    assert "IDENTIFIER_FOUND" in quarantine
