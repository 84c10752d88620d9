"""Shared test fixtures: opt-in slow/GPU tests, tiny models built from config, Prefect harness.

Nothing here downloads anything: the tiny encoder is a 2-layer BERT built from a config with a
word-level vocabulary made from the fixtures, saved as safetensors in a temporary folder.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "data" / "fixtures"
SHARED_DATA = REPO.parent / "shared" / "data"

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_RESULTS_PERSIST_BY_DEFAULT", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", help="run slow tests")
    parser.addoption("--gpu", action="store_true", help="run tests that need a CUDA GPU")


def pytest_collection_modifyitems(config, items):
    for marker in ("slow", "gpu"):
        if config.getoption(f"--{marker}"):
            continue
        skip = pytest.mark.skip(reason=f"needs --{marker}")
        for item in items:
            if marker in item.keywords:
                item.add_marker(skip)


def _vocabulary() -> list[str]:
    words = set()
    for line in (FIXTURES / "sessions.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        text = record.get("note") or " ".join(t["text"] for t in record["turns"])
        words.update(re.findall(r"[a-z]+|[^\sa-z]", text.lower()))
    return sorted(words)


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide BERT with a fixture vocabulary, saved like a Hugging Face folder."""
    from transformers import BertConfig, BertModel, BertTokenizer

    folder = tmp_path_factory.mktemp("tiny-encoder")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *_vocabulary()]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    # ``vocab=``: transformers 5 ignores ``vocab_file=`` and would map every word to [UNK].
    BertTokenizer(vocab=str(folder / "vocab.txt")).save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=256,
    )
    import torch

    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder, safe_serialization=True)
    return folder


@pytest.fixture(scope="session")
def tiny_encoder_config(tiny_encoder_dir):
    from pipeline.config import EncoderConfig

    return EncoderConfig(
        path=tiny_encoder_dir, sha256=None, max_length=64, batch_size=16, bf16=False
    )


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tiny_encoder_config) -> Path:
    """A model folder trained on the labeled note fixtures with the tiny encoder."""
    from tests.helpers import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"), tiny_encoder_config)


@pytest.fixture(scope="session")
def tiny_config(tiny_model_dir, tiny_encoder_config):
    from pipeline.config import load_config

    config = load_config()
    return config.model_copy(update={"model_dir": tiny_model_dir, "encoder": tiny_encoder_config})


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect server (SQLite) for all flow tests in the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


POSTGRES_ENV = "ALLIANCE_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """A fresh, empty store: a SQLite file, then a new PostgreSQL database when the
    ``ALLIANCE_TEST_POSTGRES_URL`` server is set (``.ci/run`` starts one with
    ``scripts/postgres_test_server.sh``); the PostgreSQL case is skipped otherwise."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    admin_url = os.environ.get(POSTGRES_ENV)
    if not admin_url:
        pytest.skip(f"no PostgreSQL server: set {POSTGRES_ENV} (scripts/postgres_test_server.sh)")
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"alliance_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
