"""Render ``report.html`` from estimates, flags and evidence passages.

All note text goes through Jinja2 autoescaping, so markup inside a note is shown as text.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from pipeline.report.charts import trajectory_svg
from pipeline.schemas import Flag, Passage, SessionEstimate

SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2, "info": 3}


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("pipeline.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def build_context(
    estimates: Sequence[SessionEstimate],
    flags: Sequence[Flag],
    passages: dict[str, list[tuple[Passage, bool]]],
    run_info: dict,
) -> dict:
    """Group everything per clinician and client; flagged clients and sessions come first."""
    flags_by_session: dict[str, list[Flag]] = defaultdict(list)
    for flag in flags:
        flags_by_session[flag.session_id].append(flag)
    by_clinician: dict[str, dict[str, list[SessionEstimate]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for estimate in estimates:
        by_clinician[estimate.clinician_id][estimate.client_id].append(estimate)

    clinicians = []
    for clinician_id in sorted(by_clinician):
        clients = []
        for client_id, sessions in by_clinician[clinician_id].items():
            sessions = sorted(sessions, key=lambda e: (e.session_date, e.session_id))
            flagged = {
                s.session_id
                for s in sessions
                if any(f.severity != "info" for f in flags_by_session[s.session_id])
            }
            worst = min(
                (
                    SEVERITY_ORDER[f.severity]
                    for s in sessions
                    for f in flags_by_session[s.session_id]
                ),
                default=9,
            )
            rows = [
                {
                    "estimate": s,
                    "flags": sorted(
                        flags_by_session[s.session_id], key=lambda f: SEVERITY_ORDER[f.severity]
                    ),
                }
                for s in sessions
            ]
            clients.append(
                {
                    "client_id": client_id,
                    "rows": rows,
                    "worst": worst,
                    "n_flagged": len(flagged),
                    "chart": Markup(trajectory_svg(sessions, flagged)),
                }
            )
        clients.sort(key=lambda c: (c["worst"], c["client_id"]))
        clinicians.append(
            {
                "clinician_id": clinician_id,
                "clients": clients,
                "n_sessions": sum(len(c["rows"]) for c in clients),
                "n_flagged": sum(c["n_flagged"] for c in clients),
            }
        )

    attention = sorted(
        (f for f in flags if f.severity != "info"),
        key=lambda f: (SEVERITY_ORDER[f.severity], f.clinician_id, f.client_id, f.session_id),
    )
    return {
        "clinicians": clinicians,
        "attention": attention,
        "passages": passages,
        "run": run_info,
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "n_sessions": len(estimates),
    }


def render_report(
    out_path: Path,
    estimates: Sequence[SessionEstimate],
    flags: Sequence[Flag],
    passages: dict[str, list[tuple[Passage, bool]]],
    run_info: dict,
) -> Path:
    """Write the self-contained supervisor report.

    Args:
        out_path: Target HTML file.
        estimates: Session estimates.
        flags: Flags with evidence passage ids.
        passages: passage_id -> the evidence passage with its neighbours, as
            [(passage, is_evidence)] (see :func:`pipeline.export.evidence_in_context`).
        run_info: Model version and counts shown in the header.
    """
    template = _environment().get_template("report.html.j2")
    context = build_context(estimates, flags, passages, run_info)
    # Streamed to the file: a report of 100,000 sessions is a large page to hold as one string.
    with out_path.open("w", encoding="utf-8") as out:
        out.writelines(template.generate(**context))
    return out_path
