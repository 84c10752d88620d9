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
        code="RUPTURE_DROP",
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
    assert "RUPTURE_DROP" in html and "<svg" in html
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
