"""The input contract's kinds of text: a note, a therapy transcript, a peer-support chat."""

import pytest

from pipeline.schemas import Session

BASE = {"session_id": "s-1", "client_id": "c-1", "clinician_id": "t-1"}
BASE["session_date"] = "2026-01-05"
TURNS = [{"speaker": "client", "text": "Hi."}, {"speaker": "clinician", "text": "Hello."}]


def test_schemas_a_note_is_a_note_whatever_its_type():
    assert Session.model_validate({**BASE, "note": "D: fine.", "note_type": "chat"}).kind == "note"


@pytest.mark.parametrize("note_type", ["chat", "Peer support", "peer-support", "TEXT_CHAT"])
def test_schemas_a_transcript_typed_as_a_chat_is_a_chat(note_type):
    session = Session.model_validate({**BASE, "turns": TURNS, "note_type": note_type})
    assert session.kind == "chat"


@pytest.mark.parametrize("note_type", [None, "transcript", "intake", "chatty"])
def test_schemas_other_transcripts_are_therapy_transcripts(note_type):
    session = Session.model_validate({**BASE, "turns": TURNS, "note_type": note_type})
    assert session.kind == "transcript"
