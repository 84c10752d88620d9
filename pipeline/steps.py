"""The pipeline's steps as plain functions over the store. Prefect flows only sequence them.

Every step takes ids (and the validated config), reads what it needs from the store and
writes its results back, so no note text travels between steps or into Prefect.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from pipeline.aggregate import estimate_sessions
from pipeline.classify import score_passages
from pipeline.config import AllianceConfig, EncoderConfig
from pipeline.flags import compute_flags, load_flag_rules
from pipeline.ingest import ingest_paths
from pipeline.model import AllianceModel
from pipeline.nlp.factory import cached_nlp
from pipeline.nlp.segment import segment_sessions
from pipeline.store import Store

SCORE_CHUNK = 2_000  # passages per classification chunk: bounds memory on large batches


@lru_cache(maxsize=2)
def _model(model_dir: Path, encoder_json: str) -> AllianceModel:
    return AllianceModel.load(model_dir, EncoderConfig.model_validate_json(encoder_json))


def load_model(config: AllianceConfig) -> AllianceModel:
    """The verified model folder with its encoder, loaded once per process."""
    return _model(Path(config.model_dir).resolve(), config.encoder.model_dump_json())


def ingest_step(paths: Sequence[Path], config: AllianceConfig, store: Store, run_id: str) -> dict:
    """Read and validate inputs, quarantine bad records, store new or changed sessions."""
    result = ingest_paths([Path(p) for p in paths], config.ingest)
    changed: list[str] = []
    by_source: dict[str, list] = {}
    for source, session in result.sessions:
        by_source.setdefault(source, []).append(session)
    for source, sessions in by_source.items():
        changed += store.upsert_sessions(sessions, source)
    store.add_quarantine(run_id, result.quarantined)
    # Sessions left unscored by an earlier run that stopped part-way are finished now too.
    fresh = set(changed)
    changed += [i for i in store.unestimated_session_ids() if i not in fresh]
    return {
        "read": len(result.sessions) + len(result.quarantined),
        "valid": len(result.sessions),
        "quarantined": len(result.quarantined),
        "session_ids": changed,
    }


def segment_step(session_ids: Sequence[str], config: AllianceConfig, store: Store) -> int:
    """Sections, sentence passages and negation for each session; returns passages written."""
    nlp = cached_nlp(Path(config.nlp.sections_file), config.nlp.default_section)
    total = 0
    for session, passages in segment_sessions(store.sessions(session_ids), nlp):
        store.replace_passages(session.session_id, passages)
        total += len(passages)
    return total


def classify_step(session_ids: Sequence[str], config: AllianceConfig, store: Store) -> int:
    """Score every passage of the sessions with the passage model; returns passages scored."""
    model = load_model(config)
    ids = list(session_ids)
    total = 0
    batch: list = []

    def flush() -> None:
        nonlocal total
        store.save_scores(score_passages(batch, model.scorer), model.version)
        total += len(batch)
        batch.clear()

    for begin in range(0, len(ids), 200):
        for pairs in store.passages(ids[begin : begin + 200]).values():
            batch.extend(passage for passage, _ in pairs)
            if len(batch) >= SCORE_CHUNK:
                flush()
    if batch:
        flush()
    return total


def estimate_step(session_ids: Sequence[str], config: AllianceConfig, store: Store) -> int:
    """Per-session estimates with intervals from the scored passages; returns sessions done."""
    model = load_model(config)
    sessions = store.sessions(session_ids)
    scored = store.passages(session_ids)
    estimates, features = estimate_sessions(sessions, scored, model.estimator, model.version)
    store.save_estimates(estimates, features)
    return len(estimates)


def flag_step(session_ids: Sequence[str], config: AllianceConfig, store: Store) -> int:
    """Recompute flags for every client touched by these sessions (trajectories change)."""
    clients = store.client_ids(session_ids)
    affected = store.sessions_of_clients(clients)
    estimates = store.estimates(affected)
    flags = compute_flags(
        estimates, store.passages(affected), load_flag_rules(config.flags.rules_file)
    )
    store.replace_flags(clients, flags)
    return len(flags)
