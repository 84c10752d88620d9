import json
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.nlp.factory import build_nlp
from pipeline.nlp.segment import segment_sessions
from pipeline.schemas import Session

FIXTURES = Path(__file__).resolve().parents[3] / "data" / "fixtures"


@pytest.fixture(scope="module")
def nlp():
    return build_nlp(load_config().nlp.sections_file)


def _note(text: str, session_id: str = "s-1") -> Session:
    return Session(
        session_id=session_id, client_id="c", clinician_id="t", session_date="2026-03-02", note=text
    )


def test_segment_sections_colon_and_newline_forms_case_insensitive(nlp):
    note = (
        "D: Client reported poor sleep.\nASSESSMENT\nClient seemed engaged. Rapport good.\n"
        "plan: Continue CBT.\nGoals:\nReduce panic attacks."
    )
    ((_, passages),) = segment_sessions([_note(note)], nlp)
    assert [(p.section, p.text) for p in passages] == [
        ("data", "Client reported poor sleep."),
        ("assessment", "Client seemed engaged."),
        ("assessment", "Rapport good."),
        ("plan", "Continue CBT."),
        ("goal", "Reduce panic attacks."),
    ]


def test_segment_offsets_point_into_the_note(nlp):
    sessions = [
        Session.model_validate(json.loads(line))
        for line in (FIXTURES / "sessions.jsonl").read_text().splitlines()
    ]
    notes = [s for s in sessions if s.note is not None]
    for session, passages in segment_sessions(notes, nlp):
        assert passages, session.session_id
        for passage in passages:
            assert session.note[passage.start : passage.end] == passage.text
        assert len({p.passage_id for p in passages}) == len(passages)


def test_segment_abbreviations_and_one_letter_words_do_not_split_or_open_sections(nlp):
    note = "Pt. was on time and engaged. A client-led agenda was set.\nI think it helped."
    ((_, passages),) = segment_sessions([_note(note)], nlp)
    assert [p.text for p in passages] == [
        "Pt. was on time and engaged.",
        "A client-led agenda was set.",
        "I think it helped.",
    ]
    assert {p.section for p in passages} == {"body"}


def test_segment_negation_marked_by_context(nlp):
    note = "S: Client did not feel heard. Client denies SI. Client felt understood."
    ((_, passages),) = segment_sessions([_note(note)], nlp)
    assert [p.negated for p in passages] == [True, True, False]


def test_segment_transcript_one_passage_per_turn(nlp):
    session = Session(
        session_id="s-2",
        client_id="c",
        clinician_id="t",
        session_date="2026-03-02",
        turns=[
            {"speaker": "clinician", "text": "How was the week? Any sleep?"},
            {"speaker": "client", "text": "I did not sleep at all."},
        ],
    )
    ((_, passages),) = segment_sessions([session], nlp)
    assert [(p.speaker, p.section, p.index, p.negated) for p in passages] == [
        ("clinician", "transcript", 0, False),
        ("client", "transcript", 1, True),
    ]
    assert passages[1].end == len("I did not sleep at all.")


def test_segment_keeps_session_order_across_batches(nlp):
    sessions = [_note(f"D: Session {i} went well.", f"s-{i}") for i in range(7)]
    out = [s.session_id for s, _ in segment_sessions(sessions, nlp, batch_size=2)]
    assert out == [f"s-{i}" for i in range(7)]
