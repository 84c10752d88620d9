"""Sessions -> passages: sentences inside sections for notes, one passage per transcript turn."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator

from spacy.language import Language

from pipeline.schemas import Passage, Session

TRANSCRIPT_SECTION = "transcript"
NEGATION = "NEGATED_EXISTENCE"


def _negated(doc, span) -> bool:
    """True when ConText negates the passage or finds a negation cue inside it.

    ConText is built for concept targets; a whole sentence is a coarse target, so a negation
    cue whose scope stops early ("did not ..., but agreed") still marks the passage.
    """
    if span._.is_negated:
        return True
    graph = doc._.context_graph
    modifiers = graph.modifiers if graph is not None else []
    return any(
        modifier.category == NEGATION and span.start <= modifier.modifier_span[0] < span.end
        for modifier in modifiers
    )


def _note_passages(session: Session, doc) -> list[Passage]:
    return [
        Passage(
            session_id=session.session_id,
            passage_id=Passage.make_id(session.session_id, index),
            index=index,
            speaker="clinician",  # notes are written by the clinician
            section=span._.alliance_section,
            start=span.start_char,
            end=span.end_char,
            negated=_negated(doc, span),
            text=span.text,
        )
        for index, span in enumerate(doc.ents)
    ]


def _turn_passage(session: Session, index: int, doc) -> Passage:
    turn = session.turns[index]
    # A turn is one passage however many sentences it has; it is negated when ConText
    # negates any of its sentences.
    return Passage(
        session_id=session.session_id,
        passage_id=Passage.make_id(session.session_id, index),
        index=index,
        speaker=turn.speaker,
        section=TRANSCRIPT_SECTION,
        start=0,
        end=len(turn.text),
        negated=any(_negated(doc, span) for span in doc.ents),
        text=turn.text,
    )


def segment_sessions(
    sessions: Iterable[Session], nlp: Language, batch_size: int = 64
) -> Iterator[tuple[Session, list[Passage]]]:
    """Split sessions into passages with ``nlp.pipe`` in batches.

    Args:
        sessions: Validated sessions.
        nlp: Pipeline from :func:`pipeline.nlp.factory.build_nlp`.
        batch_size: Documents per ``nlp.pipe`` batch.

    Yields:
        Each session with its passages, in input order.
    """
    pending: deque[tuple[Session, list]] = deque()

    def texts() -> Iterator[tuple[str, int]]:
        for number, session in enumerate(sessions):
            pending.append((session, []))
            bodies = [session.note] if session.note is not None else [t.text for t in session.turns]
            for body in bodies:
                yield body, number

    emitted = 0
    for doc, number in nlp.pipe(texts(), as_tuples=True, batch_size=batch_size):
        pending[number - emitted][1].append(doc)
        # A session is complete once all its docs are back; emit finished ones in order.
        while pending and len(pending[0][1]) == _expected_docs(pending[0][0]):
            done_session, done_docs = pending.popleft()
            emitted += 1
            yield done_session, _passages(done_session, done_docs)


def _expected_docs(session: Session) -> int:
    return 1 if session.note is not None else len(session.turns)


def _passages(session: Session, docs: list) -> list[Passage]:
    if session.note is not None:
        return _note_passages(session, docs[0])
    return [_turn_passage(session, index, doc) for index, doc in enumerate(docs)]
