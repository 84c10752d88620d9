"""Render ``report.html`` from estimates, flags and evidence passages.

All note text goes through Jinja2 autoescaping, so markup inside a note is shown as text.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from pipeline.config import ApproachConfig
from pipeline.private_files import open_private
from pipeline.report.charts import fit_svg, trajectory_svg
from pipeline.schemas import ClientFit, Flag, Passage, SessionEstimate
from pipeline.sessions.approach import fit_sentence

SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2, "info": 3}


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("pipeline.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def flags_by_session(flags: Iterable[Flag]) -> dict[str, list[Flag]]:
    """Each session's flags, most severe first."""
    grouped: dict[str, list[Flag]] = defaultdict(list)
    for flag in flags:
        grouped[flag.session_id].append(flag)
    for session_flags in grouped.values():
        session_flags.sort(key=lambda f: SEVERITY_ORDER[f.severity])
    return grouped


def sessions_to_look_at(session_flags: Mapping[str, list[Flag]]) -> list[dict]:
    """One row per session with a flag to review: its most severe level and all its flags
    (most severe first), sessions ordered by that level, then clinician, client and id."""
    rows = []
    for session_id, flags in session_flags.items():
        review = [f for f in flags if f.severity != "info"]
        if review:
            first = review[0]
            rows.append(
                {
                    "session_id": session_id,
                    "client_id": first.client_id,
                    "clinician_id": first.clinician_id,
                    "severity": first.severity,
                    "flags": review,
                }
            )
    return sorted(
        rows,
        key=lambda r: (
            SEVERITY_ORDER[r["severity"]],
            r["clinician_id"],
            r["client_id"],
            r["session_id"],
        ),
    )


def _needs_review(session_flags: Sequence[Flag]) -> bool:
    return any(f.severity != "info" for f in session_flags)


def clinician_section(
    clinician_id: str,
    estimates: Sequence[SessionEstimate],
    session_flags: Mapping[str, list[Flag]],
    fits: Mapping[str, ClientFit] | None = None,
    approach: ApproachConfig | None = None,
) -> dict:
    """One clinician's part of the report: clients (flagged first), their sessions in date
    order with flags, a trajectory chart per client, and each client's approach fit (a chart
    of the estimate against session structure and one sentence) when ``fits`` has it."""
    fits = fits or {}
    interval = (approach or ApproachConfig()).interval
    by_client: dict[str, list[SessionEstimate]] = defaultdict(list)
    for estimate in estimates:
        by_client[estimate.client_id].append(estimate)
    clients = []
    for client_id, sessions in by_client.items():
        sessions = sorted(sessions, key=lambda e: (e.session_date, e.session_id))
        flagged = {
            s.session_id for s in sessions if _needs_review(session_flags.get(s.session_id, []))
        }
        worst = min(
            (
                SEVERITY_ORDER[f.severity]
                for s in sessions
                for f in session_flags.get(s.session_id, [])
            ),
            default=9,
        )
        clients.append(
            {
                "client_id": client_id,
                "rows": [
                    {"estimate": s, "flags": session_flags.get(s.session_id, [])} for s in sessions
                ],
                "worst": worst,
                "n_flagged": len(flagged),
                "chart": Markup(trajectory_svg(sessions, flagged)),
                "fit": fits.get(client_id),
                "fit_sentence": fit_sentence(fits[client_id], interval)
                if client_id in fits
                else None,
                "fit_chart": Markup(fit_svg(sessions)) if client_id in fits else None,
            }
        )
    clients.sort(key=lambda c: (c["worst"], c["client_id"]))
    clear = sorted(
        (c["fit"] for c in clients if c["fit"] and c["fit"].approach_fit != "unclear"),
        key=lambda fit: fit.client_id,
    )
    return {
        "clinician_id": clinician_id,
        "clients": clients,
        "clear_fits": clear,
        "n_sessions": sum(len(c["rows"]) for c in clients),
        "n_flagged": sum(c["n_flagged"] for c in clients),
    }


def overview(
    index: Iterable[tuple[str, str, str]], session_flags: Mapping[str, list[Flag]]
) -> list[dict]:
    """Per clinician (sorted): clients, sessions and sessions with flags to review, from
    (session id, client id, clinician id) rows alone."""
    clients: dict[str, set[str]] = defaultdict(set)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for session_id, client_id, clinician_id in index:
        clients[clinician_id].add(client_id)
        counts[clinician_id][0] += 1
        counts[clinician_id][1] += _needs_review(session_flags.get(session_id, []))
    return [
        {
            "clinician_id": clinician_id,
            "n_clients": len(clients[clinician_id]),
            "n_sessions": counts[clinician_id][0],
            "n_flagged": counts[clinician_id][1],
        }
        for clinician_id in sorted(clients)
    ]


def write_report(
    out_path: Path,
    index: Sequence[tuple[str, str, str]],
    estimates_of: Callable[[list[str]], Sequence[SessionEstimate]],
    flags: Sequence[Flag],
    passages: dict[str, list[tuple[Passage, bool]]],
    run_info: dict,
    fits: Mapping[str, ClientFit] | None = None,
    approach: ApproachConfig | None = None,
) -> Path:
    """Stream the self-contained supervisor report to ``out_path``, one clinician at a time.

    The overview comes from ``index`` alone; each clinician's section asks ``estimates_of``
    for that clinician's sessions only as the template reaches it, so memory holds one
    caseload, not every session.

    Args:
        out_path: Target HTML file.
        index: (session id, client id, clinician id) of every session in the report.
        estimates_of: Session ids -> their estimates (e.g. :meth:`pipeline.store.Store.estimates`).
        flags: Every flag with its evidence passage ids.
        passages: passage_id -> the evidence passage with its neighbours, as
            [(passage, is_evidence)] (see :func:`pipeline.export.evidence_in_context`).
        run_info: Model version and counts shown in the header.
        fits: Client id -> approach fit (``clients.csv``); none shown when None.
        approach: The approach-fit settings (the interval named in the fit sentences).
    """
    session_flags = flags_by_session(flags)
    summary = overview(index, session_flags)
    by_clinician: dict[str, list[str]] = defaultdict(list)
    for session_id, _, clinician_id in index:
        by_clinician[clinician_id].append(session_id)
    sections = (
        clinician_section(
            row["clinician_id"],
            estimates_of(by_clinician[row["clinician_id"]]),
            session_flags,
            fits,
            approach,
        )
        for row in summary
    )
    attention = sessions_to_look_at(session_flags)
    context = {
        "overview": summary,
        "sections": sections,
        "attention": attention,
        "passages": passages,
        "run": run_info,
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "n_sessions": len(index),
        "n_flagged": sum(row["n_flagged"] for row in summary),
    }
    template = _environment().get_template("report.html.j2")
    with open_private(out_path) as out:  # evidence passages are note text
        out.writelines(template.generate(**context))
    return out_path


def render_report(
    out_path: Path,
    estimates: Sequence[SessionEstimate],
    flags: Sequence[Flag],
    passages: dict[str, list[tuple[Passage, bool]]],
    run_info: dict,
    fits: Mapping[str, ClientFit] | None = None,
    approach: ApproachConfig | None = None,
) -> Path:
    """:func:`write_report` from estimates already in memory (same arguments otherwise)."""
    by_id = {e.session_id: e for e in estimates}
    index = [(e.session_id, e.client_id, e.clinician_id) for e in estimates]
    return write_report(
        out_path,
        index,
        lambda ids: [by_id[i] for i in ids],
        flags,
        passages,
        run_info,
        fits,
        approach,
    )
