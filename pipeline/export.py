"""Write the contract files (DESIGN.md section 3) from the store, each atomically."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from pipeline.config import ApproachConfig
from pipeline.private_files import private_folder
from pipeline.report.render import write_report
from pipeline.schemas import ClientFit, Quarantined, SessionEstimate
from pipeline.sessions.approach import client_fit
from pipeline.store.core import Store

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
    "fit_difference",
    "fit_sessions",
]


CONTRACT_FILES = (
    "passages.jsonl",
    "sessions.csv",
    "clients.csv",
    "flags.jsonl",
    "quarantine.jsonl",
    "report.html",
    "run.json",
)


EXPORT_CHUNK = 500  # sessions whose passages are read from the store at a time


@contextmanager
def atomic_writer(path: Path) -> Iterator[TextIO]:
    """A text file written in the same folder under a temporary name, renamed over ``path``
    only when the block succeeds (a reader never sees a half-written file)."""
    private_folder(path.parent)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            yield out
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` through :func:`atomic_writer`."""
    with atomic_writer(path) as out:
        out.write(text)


def _remove_stale_temporaries(out_dir: Path) -> None:
    """Temporary files a killed export left behind (the targets themselves are intact)."""
    for name in CONTRACT_FILES:
        for stale in out_dir.glob(f".{name}.*"):
            stale.unlink(missing_ok=True)


def evidence_in_context(pairs, position: int, width: int = 1) -> list[tuple]:
    """The evidence passage with ``width`` neighbours each side: [(passage, is_evidence)]."""
    window = pairs[max(0, position - width) : position + width + 1]
    return [(passage, passage.passage_id == pairs[position][0].passage_id) for passage, _ in window]


def _jsonl(rows) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def export_outputs(
    store: Store,
    out_dir: Path,
    run_info: dict,
    quarantined: list[Quarantined],
    include_text: bool = False,
    approach: ApproachConfig | None = None,
) -> dict[str, Path]:
    """Write passages.jsonl, sessions.csv, clients.csv, flags.jsonl, report.html,
    quarantine.jsonl and run.json.

    Args:
        store: The result store (its current state is exported).
        out_dir: Output folder.
        run_info: Contents of run.json (versions, config hash, counts, timings).
        quarantined: This run's rejected records.
        include_text: Put passage text into passages.jsonl (off by default: notes are sensitive).
        approach: How approach fit is called (``clients.csv``, the report); the defaults when
            None.

    Returns:
        File name -> path.
    """
    approach = approach or ApproachConfig()
    # A light index, not every estimate: estimates are read a chunk (or a clinician) at a time,
    # so memory is bounded by a chunk and the largest caseload, not by the store.
    index = store.estimated_sessions()
    ids = [session_id for session_id, _, _ in index]
    flags = store.flags()
    codes: dict[str, list[str]] = {}
    for flag in flags:
        codes.setdefault(flag.session_id, [])
        if flag.code not in codes[flag.session_id]:
            codes[flag.session_id].append(flag.code)

    private_folder(out_dir)
    _remove_stale_temporaries(out_dir)
    paths = {name: out_dir / name for name in CONTRACT_FILES}
    # Passages are streamed a chunk of sessions at a time: they are most of the data.
    evidence_ids = {pid for flag in flags for pid in flag.evidence}
    evidence = {}
    with atomic_writer(paths["passages.jsonl"]) as out:
        for begin in range(0, len(ids), EXPORT_CHUNK):
            scored = store.passages(ids[begin : begin + EXPORT_CHUNK])
            for session_id in ids[begin : begin + EXPORT_CHUNK]:
                pairs = scored.get(session_id, [])
                for position, (passage, scores) in enumerate(pairs):
                    row = passage.model_dump(exclude={"text"})
                    row.update(scores.model_dump(exclude_none=True) if scores else {})
                    if include_text:
                        row["text"] = passage.text
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
                    if passage.passage_id in evidence_ids:
                        evidence[passage.passage_id] = evidence_in_context(pairs, position)

    fits: dict[str, ClientFit] = {}
    with (
        atomic_writer(paths["sessions.csv"]) as out,
        atomic_writer(paths["clients.csv"]) as clients_out,
    ):
        writer = csv.DictWriter(out, fieldnames=SESSION_COLUMNS, lineterminator="\n")
        writer.writeheader()
        client_writer = csv.DictWriter(
            clients_out, fieldnames=CLIENT_COLUMNS, extrasaction="ignore", lineterminator="\n"
        )
        client_writer.writeheader()
        caseload: list[SessionEstimate] = []  # the current client's sessions (index order)

        def close_client() -> None:
            if caseload:
                fit = client_fit(caseload, approach)
                fits[fit.client_id] = fit
                client_writer.writerow(fit.model_dump(mode="json"))
                caseload.clear()

        for begin in range(0, len(ids), EXPORT_CHUNK):
            # store.estimates sorts a chunk by the index's own order, so chunks concatenate,
            # and a client's sessions are consecutive.
            for estimate in store.estimates(ids[begin : begin + EXPORT_CHUNK]):
                row = estimate.model_dump(mode="json", exclude={"flags"})
                row["flags"] = ";".join(codes.get(estimate.session_id, []))
                writer.writerow(row)
                if caseload and caseload[-1].client_id != estimate.client_id:
                    close_client()
                caseload.append(estimate)
        close_client()

    write_atomic(paths["flags.jsonl"], _jsonl(f.model_dump(mode="json") for f in flags))
    write_atomic(paths["quarantine.jsonl"], _jsonl(q.model_dump(mode="json") for q in quarantined))
    temporary = out_dir / ".report.html.tmp"  # removed by _remove_stale_temporaries if killed
    write_report(temporary, index, store.estimates, flags, evidence, run_info, fits, approach)
    os.replace(temporary, paths["report.html"])
    write_atomic(paths["run.json"], json.dumps(run_info, indent=2, sort_keys=True, default=str))
    return paths
