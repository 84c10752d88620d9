"""Builders shared by tests (kept out of conftest so tests can import them)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from pipeline.config import EncoderConfig
from pipeline.model.artifacts import save_skops, write_manifest
from pipeline.model.encoder import Encoder, embed_pairs
from pipeline.model.heads import HEADS
from pipeline.model.quick import PassageHeads
from pipeline.sessions.alliance_model import ESTIMATOR_FILE
from pipeline.sessions.estimator import TARGETS, SessionAllianceEstimator
from pipeline.training.corpora import read_note_passages

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "fixtures"


def all_class_labels(n: int, seed: int = 0) -> list[dict[str, int]]:
    """Random labels covering every class of every head (so every head can be fitted)."""
    rng = np.random.default_rng(seed)
    rows = [{h.name: int(rng.integers(len(h.classes))) for h in HEADS} for _ in range(n)]
    for head in HEADS:
        for k in range(len(head.classes)):
            rows[k][head.name] = k
    return rows


def build_tiny_model(
    folder: Path, encoder_config: EncoderConfig, version: str = "tiny-test"
) -> Path:
    """Fit heads on note passages (labels of the note heads, random for the others) and a
    session estimator on random session features, then write a verified model folder."""
    passages = read_note_passages(FIXTURES / "note_passages.jsonl")[:240]
    encoder = Encoder(encoder_config)
    X = embed_pairs(encoder, [p.text for p in passages], [p.context for p in passages])
    labels = all_class_labels(len(passages))
    for row, passage in zip(labels, passages):
        row.update(passage.labels)
    heads = PassageHeads().fit(X, labels)
    heads.save(folder)
    rng = np.random.default_rng(0)
    from pipeline.sessions.features import SIGNAL_NAMES

    S = rng.random((40, len(SIGNAL_NAMES) + 2 * encoder.dim))
    y = np.clip(1 + 4 * rng.random((40, len(TARGETS))), 1, 5)
    save_skops(SessionAllianceEstimator().fit(S, y), folder / ESTIMATOR_FILE)
    write_manifest(
        folder,
        {
            "version": version,
            "kind": "embedding-linear-heads",
            "encoder": {"dim": encoder.dim, "sha256": None},
        },
    )
    return folder


def write_many_sessions(path: Path, copies: int) -> int:
    """The fixture sessions repeated ``copies`` times under new session and client ids (a
    larger batch for resume and lock tests); returns the number of sessions written."""
    import json

    lines = (FIXTURES / "sessions.jsonl").read_text().splitlines()
    written = 0
    with path.open("w") as out:
        for copy in range(copies):
            for line in lines:
                record = json.loads(line)
                record["session_id"] = f"{record['session_id']}-{copy:03d}"
                record["client_id"] = f"{record['client_id']}-{copy:03d}"
                out.write(json.dumps(record) + "\n")
                written += 1
    return written


def tiny_cli_options(model_dir: Path, encoder_dir: Path) -> list[str]:
    """CLI options that make ``alliance score``/``nightly`` use the tiny test model."""
    return [
        "--model",
        str(model_dir),
        "--set",
        f"encoder.path={encoder_dir}",
        "--set",
        "encoder.sha256=null",
    ]


def private_env(prefect_home: Path) -> dict[str, str]:
    """Environment of a CLI subprocess with its own temporary Prefect home and server."""
    import os

    env = {
        **os.environ,
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_LOGGING_LEVEL": "DEBUG",
        # A loaded CI machine can take longer than Prefect's 20 s default to start the server.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    }
    env.pop("PREFECT_API_URL", None)
    return env


def random_pairs(words: list[str], n: int, seed: int, context_share: float = 0.6):
    """Random passages from 1 to 70 words (some truncated) and contexts, some empty."""
    rng = random.Random(seed)
    texts = [" ".join(rng.choices(words, k=rng.randint(1, 70))) for _ in range(n)]
    contexts = [
        " ".join(rng.choices(words, k=rng.randint(1, 40))) if rng.random() < context_share else ""
        for _ in range(n)
    ]
    return texts, contexts


# Sessions in data/fixtures/sessions.jsonl (and its CSV and folder variants).
FIXTURE_SESSIONS = len(
    (Path(__file__).resolve().parents[1] / "data" / "fixtures" / "sessions.jsonl")
    .read_text(encoding="utf-8")
    .splitlines()
)
