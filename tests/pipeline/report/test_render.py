from pathlib import Path

from pipeline.report import render_report
from pipeline.schemas import Flag, Passage
from tests.pipeline.test_flags import _estimate


def test_render_report_escapes_note_markup_and_is_self_contained(tmp_path: Path):
    estimates = [_estimate(i, v) for i, v in enumerate([4.0, 4.0, 3.0])]
    evil = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    passage = Passage(
        session_id="c-1-s2",
        passage_id="c-1-s2:0000",
        index=0,
        speaker="clinician",
        section="assessment",
        start=0,
        end=len(evil),
        negated=False,
        text=evil,
    )
    flag = Flag(
        session_id="c-1-s2",
        client_id="c-1",
        clinician_id="t",
        code="RUPTURE_DROP",
        severity="high",
        reason="drop",
        evidence=[passage.passage_id],
    )
    out = render_report(
        tmp_path / "r.html",
        estimates,
        [flag],
        {passage.passage_id: passage},
        {"model_version": "m", "config_hash": "h"},
    )
    html = out.read_text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "RUPTURE_DROP" in html and "<svg" in html
    assert html.index("Sessions to look at first") < html.index("Clinician t")
