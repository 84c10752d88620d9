"""What the command modules share: the config options, settings loading, errors, the console.

Imports nothing of the command line itself (the command modules import this by its full
dotted path), and nothing heavy: ``alliance --help`` must stay fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pipeline.config import ConfigError, load_config

# Messages, progress and errors go to stderr; stdout is left to the data a command prints.
console = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Run config YAML (default configs/default.yaml)."),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Dotted config override, repeatable: --set encoder.batch_size=32"),
]
ModelOption = Annotated[
    Path | None, typer.Option("--model", "-m", help="Model folder (default models/default).")
]


def private_environment() -> None:
    """No telemetry, no Prefect result persistence and a patient first server start, before
    Prefect is imported."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_RESULTS_PERSIST_BY_DEFAULT", "false")
    # The temporary server's first start in a new PREFECT_HOME builds its database: on a busy
    # 2-core machine that outlasts Prefect's 20 s default, and the run failed before any work.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` and return the exit (status 2) for the caller to raise."""
    console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=2)


def load_settings(config: Path | None, overrides: list[str] | None, model: Path | None):
    """The run config with its ``--set`` overrides and ``--model``; a bad one exits with 2."""
    try:
        settings = load_config(config, overrides)
    except ConfigError as error:
        raise fail(str(error)) from None
    if model is not None:
        settings = settings.model_copy(update={"model_dir": model.resolve()})
    return settings
