from pathlib import Path

from pipeline.export import evidence_in_context
from pipeline.report import render_report
from pipeline.schemas import Flag, Passage
from tests.pipeline.sessions.test_flags import _estimate

EVIL = "<script>document.title='PWNED'</script><img src=x onerror=\"document.body.id='pwned'\">"


def _passage(index: int, text: str) -> Passage:
    return Passage(
        session_id="c-1-s2",
        passage_id=f"c-1-s2:{index:04d}",
        index=index,
        speaker="clinician",
        section="assessment",
        start=0,
        end=len(text),
        negated=False,
        text=text,
    )


def render_fixture(out: Path) -> Path:
    """A report with a flagged session whose evidence passage holds markup."""
    estimates = [_estimate(i, v) for i, v in enumerate([4.0, 4.0, 3.0])]
    pairs = [
        (_passage(0, "Client arrived on time."), None),
        (_passage(1, EVIL), None),
        (_passage(2, "Plan reviewed together."), None),
    ]
    flag = Flag(
        session_id="c-1-s2",
        client_id="c-1",
        clinician_id="t",
        code="RUPTURE",
        severity="high",
        reason="drop",
        evidence=["c-1-s2:0001"],
    )
    return render_report(
        out,
        estimates,
        [flag],
        {"c-1-s2:0001": evidence_in_context(pairs, 1)},
        {"model_version": "m", "config_hash": "h"},
    )


def test_render_report_escapes_note_markup_and_is_self_contained(tmp_path: Path):
    html = render_fixture(tmp_path / "r.html").read_text()
    assert "<script>document" not in html and "<img src=x" not in html
    assert "&lt;script&gt;document.title=" in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html
    assert "RUPTURE" in html and "<svg" in html
    assert html.index("Sessions to look at first") < html.index("Clinician t")


def test_render_report_shows_evidence_with_its_neighbours(tmp_path: Path):
    html = render_fixture(tmp_path / "r.html").read_text()
    before, evidence, after = (
        html.index("Client arrived on time."),
        html.index("&lt;script&gt;"),
        html.index("Plan reviewed together."),
    )
    assert before < evidence < after
    assert "<mark>&lt;script&gt;" in html


def render_fit_fixture(out: Path) -> Path:
    """A report with one structure client (a clear fit) and one client with too few sessions."""
    from pipeline.config import ApproachConfig
    from pipeline.sessions.approach import client_fit

    structure = [0.9, 0.1, 0.7, 0.3, 0.8, 0.2]
    clear = [
        _estimate(i, v, client="c-fit").model_copy(update={"structure": x})
        for i, (v, x) in enumerate(zip([4.4, 2.6, 4.1, 3.2, 4.3, 2.9], structure))
    ]
    short = [
        _estimate(i, 4.0, client="c-new").model_copy(update={"structure": 0.5}) for i in (0, 1)
    ]
    fits = {c: client_fit(e, ApproachConfig()) for c, e in (("c-fit", clear), ("c-new", short))}
    return render_report(
        out, clear + short, [], {}, {"model_version": "m", "config_hash": "h"}, fits
    )


def test_render_report_shows_approach_fit_per_client_and_clinician(tmp_path: Path):
    html = render_fit_fixture(tmp_path / "r.html").read_text()
    assert "Way of working and alliance" in html
    assert "In 6 sessions, the alliance estimate was higher when sessions were more structured" in (
        html
    )
    assert "A pattern worth discussing, not a rule." in html
    assert 'aria-label="overall alliance estimate against session structure"' in html
    assert "No clear pattern in 2 sessions" in html  # the short client says why, no chart
    summary = html[html.index("Approach fit.") : html.index("Client c-")]
    assert "c-fit" in summary and "c-new" not in summary
    assert ">0.90<" in html  # the session table shows each session's structure


def test_render_report_without_fits_has_no_fit_section(tmp_path: Path):
    html = render_fixture(tmp_path / "r.html").read_text()
    assert "Way of working and alliance" not in html
    assert "No client's pattern is clear yet." in html


def test_render_report_lists_each_session_once_with_all_its_reasons(tmp_path: Path):
    estimates = [_estimate(i, v) for i, v in enumerate([4.0, 4.0, 3.0])]
    pairs = [(_passage(0, "Client arrived late."), None), (_passage(1, "Pt went quiet."), None)]
    common = {"session_id": "c-1-s2", "client_id": "c-1", "clinician_id": "t"}
    flags = [
        Flag(**common, code="RUPTURE", severity="high", reason="rupture reason",
             evidence=["c-1-s2:0001"]),
        Flag(**common, code="LOW_ALLIANCE", severity="medium", reason="low reason",
             evidence=["c-1-s2:0001"]),
    ]  # fmt: skip
    html = render_report(
        tmp_path / "r.html",
        estimates,
        flags,
        {"c-1-s2:0001": evidence_in_context(pairs, 1)},
        {"model_version": "m", "config_hash": "h"},
    ).read_text()
    first = html[html.index("Sessions to look at first") : html.index("Clinician t")]
    assert first.count('href="#c-1-s2"') == 1
    assert "RUPTURE — rupture reason" in first and "LOW_ALLIANCE — low reason" in first
    assert "1 of 3 sessions (33%) carry a flag to review" in first
    assert html.count("<mark>Pt went quiet.</mark>") == 1  # evidence shown once per session
