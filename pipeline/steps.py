"""The pipeline's steps as plain functions over the store. Prefect flows only sequence them.

Every step takes ids (and the validated config), reads what it needs from the store and
writes its results back, so no note text travels between steps or into Prefect.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from pipeline.config import AllianceConfig, EncoderConfig
from pipeline.ingest.fhir import FhirReadStats
from pipeline.ingest.validate import iter_outcomes, read_paths
from pipeline.model.classify import score_passages
from pipeline.nlp.factory import cached_nlp
from pipeline.nlp.segment import segment_sessions
from pipeline.schemas import Passage, PassageScores, Quarantined, Session, SessionEstimate
from pipeline.sessions.alliance_model import AllianceModel
from pipeline.sessions.estimator import estimate_sessions, session_row
from pipeline.sessions.features import SIGNAL_NAMES, pooled_vectors, session_vector
from pipeline.sessions.flags import Clinic, compute_flags, load_flag_rules, low_alliance_line
from pipeline.sessions.structure import session_structure
from pipeline.sessions.text_model import client_text, session_text, text_scores
from pipeline.store.core import Store


@lru_cache(maxsize=2)
def _model(model_dir: Path, encoder_json: str) -> AllianceModel:
    return AllianceModel.load(model_dir, EncoderConfig.model_validate_json(encoder_json))


def load_model(config: AllianceConfig) -> AllianceModel:
    """The verified model folder with its encoder, loaded once per process."""
    return _model(Path(config.model_dir).resolve(), config.encoder.model_dump_json())


INGEST_CHUNK = 1_000  # records validated and stored per transaction: bounds memory


def ingest_step(paths: Sequence[Path], config: AllianceConfig, store: Store, run_id: str) -> dict:
    """Read and validate inputs, quarantine bad records, store new or amended sessions.

    Streams: records are read, validated and stored in chunks of ``INGEST_CHUNK``, so memory
    stays flat however large the input.

    Returns:
        Counts, and ``session_ids``: every pending session (new, amended, left unscored by a
        run that stopped part-way, or not yet scored by the current model version).
    """
    fhir_stats = FhirReadStats()
    records = read_paths([Path(p) for p in paths], config.ingest, fhir_stats)
    counts = dict.fromkeys(("valid", "quarantined", "repeats", "new_or_amended"), 0)
    sessions: list[tuple[str, Session]] = []
    quarantined: list[Quarantined] = []
    redacted: Counter[str] = Counter()  # identifiers redacted by the guard, by kind

    def flush() -> None:
        by_source: dict[str, list[Session]] = {}
        for source, session in sessions:
            by_source.setdefault(source, []).append(session)
        for source, group in by_source.items():
            counts["new_or_amended"] += len(store.upsert_sessions(group, source))
        store.add_quarantine(run_id, quarantined)
        sessions.clear()
        quarantined.clear()

    for source, _, outcome in iter_outcomes(records, config.ingest, redactions=redacted):
        if outcome is None:
            counts["repeats"] += 1
        elif isinstance(outcome, Quarantined):
            quarantined.append(outcome)
            counts["quarantined"] += 1
        else:
            sessions.append((source, outcome))
            counts["valid"] += 1
        if len(sessions) + len(quarantined) >= INGEST_CHUNK:
            flush()
    flush()
    return {
        **counts,
        "read": counts["valid"] + counts["quarantined"],
        "identifiers_redacted": dict(sorted(redacted.items())),
        "fhir": fhir_stats.as_dict() if fhir_stats.resources else {},
        "session_ids": store.pending_session_ids(load_model(config).version),
    }


@dataclass
class ScoredSession:
    """One session's results before they are stored: what :func:`score_step` commits."""

    pairs: list[tuple[Passage, PassageScores]]  # passages with their scores, in order
    row: np.ndarray  # the session estimator's input: named signals, then pooled vectors
    signals: dict[str, float]  # the named signals, stored with the estimate
    estimate: SessionEstimate  # with its structure and kind of text


def _untimed(_stage: str, function, *args):
    return function(*args)


@dataclass
class ClassifiedSession:
    """One session segmented and classified, before it is estimated."""

    pairs: list[tuple[Passage, PassageScores]]
    row: np.ndarray  # the session estimator's input
    signals: dict[str, float]


def classify_sessions(
    sessions: Sequence[Session], scorer, config: AllianceConfig, timed=None
) -> dict[str, ClassifiedSession]:
    """Segment and classify a batch of sessions and build each one's estimator row.

    Args:
        sessions: The batch (one ``nlp.pipe`` stream and one model batch stream).
        scorer: The passage scorer (``AllianceModel.scorer``).
        config: Run config (sections).
        timed: ``timed(stage, function, *args)`` runs a stage ("segment", "classify").

    Returns:
        Session id -> its passages with scores, estimator row and named signals.
    """
    timed = timed or _untimed
    nlp = cached_nlp(Path(config.nlp.sections_file), config.nlp.default_section)
    segmented = timed("segment", lambda items: list(segment_sessions(items, nlp)), sessions)
    passages = [passage for _, session_passages in segmented for passage in session_passages]
    scores, vectors = timed("classify", score_passages, passages, scorer)
    offsets = np.cumsum([0] + [len(p) for _, p in segmented])
    width = vectors.shape[1] * 2 if len(passages) else 0
    out = {}
    for i, (session, session_passages) in enumerate(segmented):
        pairs = [(p, scores[p.passage_id]) for p in session_passages]
        named = session_row(pairs, session.kind)
        pooled = pooled_vectors(vectors[offsets[i] : offsets[i + 1]])
        if len(pooled) == 0 and width:  # a session without passages: neutral vector part
            pooled = np.zeros(width)
        out[session.session_id] = ClassifiedSession(
            pairs,
            session_vector(named, pooled),
            dict(zip(SIGNAL_NAMES, np.round(named, 5).tolist())),
        )
    return out


def _text_scores(
    model: AllianceModel, classified: dict[str, ClassifiedSession], kinds: dict[str, str]
) -> dict[str, np.ndarray] | None:
    """The text model's scores of each session's own words, when the estimator reads them."""
    if model.text_model is None:  # loaded only for an estimator that reads text scores
        return None
    ids = list(classified)
    items = {sid: [(p.speaker, p.text) for p, _ in classified[sid].pairs] for sid in ids}
    scores = text_scores(
        model.text_model,
        [session_text(items[sid], kinds[sid]) for sid in ids],
        [client_text(items[sid], kinds[sid]) for sid in ids],
        [kinds[sid] for sid in ids],
    )
    return dict(zip(ids, scores))


def score_sessions(
    sessions: Sequence[Session], model: AllianceModel, config: AllianceConfig, timed=_untimed
) -> dict[str, ScoredSession]:
    """Segment, classify and estimate a batch of sessions, storing nothing.

    Args:
        sessions: The batch (one ``nlp.pipe`` stream and one model batch stream).
        model: The loaded model.
        config: Run config (sections, structure settings).
        timed: ``timed(stage, function, *args)`` runs a stage ("segment", "classify",
            "estimate"); :func:`score_step` passes one that adds up the seconds.

    Returns:
        Session id -> its results, in the order of ``sessions``.
    """
    classified = classify_sessions(sessions, model.scorer, config, timed)
    rows = {sid: item.row for sid, item in classified.items()}
    counts = {sid: len(item.pairs) for sid, item in classified.items()}
    kinds = {session.session_id: session.kind for session in sessions}
    text_scores = timed("estimate", _text_scores, model, classified, kinds)
    estimates = timed(
        "estimate",
        estimate_sessions,
        sessions,
        rows,
        counts,
        model.estimator,
        model.version,
        text_scores,
    )
    out = {}
    for estimate in estimates:
        sid = estimate.session_id
        pairs = classified[sid].pairs
        estimate.kind = kinds[sid]
        estimate.structure = session_structure(
            [scores for _, scores in pairs],
            [passage.speaker for passage, _ in pairs],
            config.approach.min_activity,
        )
        out[sid] = ScoredSession(pairs, rows[sid], classified[sid].signals, estimate)
    return out


def score_step(
    session_ids: Sequence[str], config: AllianceConfig, store: Store, run_id: str
) -> dict:
    """Segment, classify and estimate sessions; commit each session in its own transaction.

    Sessions are processed in batches of ``config.run.sessions_per_batch`` (one ``nlp.pipe``
    stream and one model batch stream per batch), so memory is bounded by the batch.

    Returns:
        Sessions committed, sessions skipped (changed or already scored meanwhile), passages
        scored, and seconds spent per stage.
    """
    model = load_model(config)
    ids = list(session_ids)
    size = config.run.sessions_per_batch
    done = {"sessions": 0, "skipped": 0, "passages": 0}
    seconds = dict.fromkeys(("segment", "classify", "estimate", "commit"), 0.0)

    def timed(stage: str, function, *args):
        start = time.perf_counter()
        value = function(*args)
        seconds[stage] += time.perf_counter() - start
        return value

    for begin in range(0, len(ids), size):
        chunk = ids[begin : begin + size]
        hashes = store.content_hashes(chunk)
        for sid, item in score_sessions(store.sessions(chunk), model, config, timed).items():
            committed = timed(
                "commit",
                store.commit_session,
                hashes[sid],
                item.pairs,
                item.row[len(SIGNAL_NAMES) :],
                item.estimate,
                item.signals,
                run_id,
            )
            done["sessions" if committed else "skipped"] += 1
            done["passages"] += len(item.pairs) if committed else 0
    return {**done, "seconds": {k: round(v, 3) for k, v in seconds.items()}}


def stored_session_rows(store: Store, session_ids: Sequence[str]) -> dict[str, np.ndarray]:
    """Estimator input rows of stored, scored sessions, exactly as :func:`score_step` built them
    (used to fit the session estimator on a clinic's ratings)."""
    scored = store.passages(session_ids)
    vectors = store.vectors(session_ids)
    kinds = {session.session_id: session.kind for session in store.sessions(session_ids)}
    return {
        sid: session_vector(session_row(scored.get(sid, []), kinds.get(sid)), vectors.get(sid))
        for sid in session_ids
    }


CLIENTS_PER_FLAG_CHUNK = 200  # clients whose trajectories are flagged together


def flag_step(session_ids: Sequence[str], config: AllianceConfig, store: Store) -> int:
    """Recompute flags for every client touched by these sessions (trajectories change).

    Clients are processed in chunks, so memory is bounded by a chunk's sessions.
    """
    clients = store.client_ids(session_ids)
    if not clients:  # nothing new: no model to load, no store-wide spread to read
        return 0
    rules = load_flag_rules(config.flags.rules_file)
    clinic = Clinic(
        load_model(config).rupture,
        low_alliance_line(store.overall_estimates(), rules.low_alliance),
    )
    total = 0
    for begin in range(0, len(clients), CLIENTS_PER_FLAG_CHUNK):
        chunk = clients[begin : begin + CLIENTS_PER_FLAG_CHUNK]
        affected = store.sessions_of_clients(chunk)
        flags = compute_flags(
            store.estimates(affected),
            store.passages(affected),
            store.features(affected),
            rules,
            clinic,
        )
        store.replace_flags(chunk, flags)
        total += len(flags)
    return total


def run_steps(paths: Sequence[Path], config: AllianceConfig, store: Store, out_dir: Path) -> dict:
    """The work of ``alliance score`` as plain calls, without Prefect (benchmarks use it to
    separate the pipeline's cost from orchestration).

    Returns:
        ``ingested`` and ``scored`` (the steps' results) and ``timings_s`` per stage.
    """
    from pipeline.export import export_outputs

    run_id = uuid.uuid4().hex[:12]
    timings: dict[str, float] = {}
    start = time.perf_counter()
    ingested = ingest_step(paths, config, store, run_id)
    timings["ingest"] = time.perf_counter() - start
    scored = score_step(ingested["session_ids"], config, store, run_id)
    timings.update(scored["seconds"])
    start = time.perf_counter()
    flag_step(ingested["session_ids"], config, store)
    timings["flag"] = time.perf_counter() - start
    start = time.perf_counter()
    info = {"model_version": "bench", "config_hash": "bench"}
    export_outputs(store, out_dir, info, [], approach=config.approach)
    timings["export"] = time.perf_counter() - start
    return {"ingested": ingested, "scored": scored, "timings_s": timings}
