"""The pipeline's steps as plain functions over the store. Prefect flows only sequence them.

Every step takes ids (and the validated config), reads what it needs from the store and
writes its results back, so no note text travels between steps or into Prefect.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from pipeline.aggregate import estimate_sessions, session_row
from pipeline.classify import score_passages
from pipeline.config import AllianceConfig, EncoderConfig
from pipeline.features import SIGNAL_NAMES, pooled_vectors
from pipeline.flags import compute_flags, load_flag_rules
from pipeline.ingest import ingest_paths
from pipeline.model import AllianceModel
from pipeline.nlp.factory import cached_nlp
from pipeline.nlp.segment import segment_sessions
from pipeline.store import Store

SESSIONS_PER_CHUNK = 200  # sessions scored together: bounds memory on large batches


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
    """Score every passage and pool each session's passage vectors; returns passages scored.

    Sessions are processed in chunks of whole sessions, so memory stays bounded.
    """
    model = load_model(config)
    ids = list(session_ids)
    total = 0
    for begin in range(0, len(ids), SESSIONS_PER_CHUNK):
        grouped = store.passages(ids[begin : begin + SESSIONS_PER_CHUNK])
        passages = [passage for pairs in grouped.values() for passage, _ in pairs]
        if not passages:
            continue
        scores, vectors = score_passages(passages, model.scorer)
        store.save_scores(scores, model.version)
        offsets = np.cumsum([0] + [len(pairs) for pairs in grouped.values()])
        store.save_vectors(
            {
                sid: pooled_vectors(vectors[offsets[i] : offsets[i + 1]])
                for i, sid in enumerate(grouped)
            },
            model.version,
        )
        total += len(passages)
    return total


def session_inputs(
    store: Store, session_ids: Sequence[str]
) -> tuple[dict[str, np.ndarray], dict[str, dict[str, float]], dict[str, int]]:
    """Estimator input row, named signals and passage count of each stored session.

    Sessions without stored vectors (not yet classified) get their signals only.
    """
    scored = store.passages(session_ids)
    vectors = store.vectors(session_ids)
    rows, signals, counts = {}, {}, {}
    for session_id in session_ids:
        pairs = scored.get(session_id, [])
        row = session_row(pairs)
        signals[session_id] = dict(zip(SIGNAL_NAMES, np.round(row, 5).tolist()))
        pooled = vectors.get(session_id)
        rows[session_id] = row if pooled is None else np.concatenate([row, pooled])
        counts[session_id] = len(pairs)
    return rows, signals, counts


def estimate_step(session_ids: Sequence[str], config: AllianceConfig, store: Store) -> int:
    """Per-session estimates with intervals from the scored passages; returns sessions done."""
    model = load_model(config)
    sessions = store.sessions(session_ids)
    rows, signals, counts = session_inputs(store, [s.session_id for s in sessions])
    estimates = estimate_sessions(sessions, rows, counts, model.estimator, model.version)
    store.save_estimates(estimates, signals)
    return len(estimates)


def flag_step(session_ids: Sequence[str], config: AllianceConfig, store: Store) -> int:
    """Recompute flags for every client touched by these sessions (trajectories change)."""
    clients = store.client_ids(session_ids)
    affected = store.sessions_of_clients(clients)
    estimates = store.estimates(affected)
    flags = compute_flags(
        estimates,
        store.passages(affected),
        store.features(affected),
        load_flag_rules(config.flags.rules_file),
    )
    store.replace_flags(clients, flags)
    return len(flags)
