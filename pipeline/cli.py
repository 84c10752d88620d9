"""The ``alliance`` command line: thin wrappers over plain functions and Prefect flows."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pipeline.config import ConfigError, load_config

app = typer.Typer(
    help=(
        "Estimate the therapeutic alliance (goals, tasks, bond) and clinician empathy from "
        "de-identified psychotherapy session notes and transcripts.\n\n"
        "Start with:  alliance score data/fixtures/sessions.jsonl --out out/"
    ),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold note text
    add_completion=False,
)
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


def _private_environment() -> None:
    """No telemetry, and no Prefect result persistence, before Prefect is imported."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_RESULTS_PERSIST_BY_DEFAULT", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _fail(message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=2)


def _load(config: Path | None, overrides: list[str] | None, model: Path | None):
    try:
        settings = load_config(config, overrides)
    except ConfigError as error:
        raise _fail(str(error)) from None
    if model is not None:
        settings = settings.model_copy(update={"model_dir": model.resolve()})
    return settings


@app.command()
def score(
    inputs: Annotated[list[Path], typer.Argument(help="JSONL/CSV files or folders of .txt notes.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    config: ConfigOption = None,
    model: ModelOption = None,
    store: Annotated[
        str | None,
        typer.Option(help="SQLAlchemy URL of the result store (default: SQLite in --out)."),
    ] = None,
    overrides: SetOption = None,
    include_text: Annotated[
        bool, typer.Option("--include-text", help="Write passage text into passages.jsonl.")
    ] = False,
) -> None:
    """Score sessions end to end and write the contract files into --out.

    Writes passages.jsonl, sessions.csv, flags.jsonl, report.html, quarantine.jsonl and
    run.json. Bad records are quarantined and the run goes on (exit status 0).

    Example: alliance score data/fixtures/sessions.jsonl --out out/
    """
    _private_environment()
    settings = _load(config, overrides, model)
    missing = [str(p) for p in inputs if not p.exists()]
    if missing:
        raise _fail(f"input not found: {', '.join(missing)}")
    from pipeline.artifacts import ArtifactError
    from pipeline.flows import score_flow
    from pipeline.steps import load_model_and_encoder
    from pipeline.store import default_url

    out.mkdir(parents=True, exist_ok=True)
    url = store or settings.store.url or default_url(out)
    try:
        # Fail fast, before Prefect starts, when the model or encoder cannot be trusted.
        load_model_and_encoder(settings)
        with console.status("Scoring sessions (Prefect flow 'score')..."):
            info = score_flow(
                inputs=[str(p.resolve()) for p in inputs],
                out_dir=str(out.resolve()),
                config=settings.model_dump(mode="json"),
                store_url=url,
                include_text=include_text,
            )
    except (ArtifactError, FileNotFoundError, ValueError) as error:
        raise _fail(str(error)) from None
    counts = info["counts"]
    console.print(
        f"[green]done[/]: {counts['sessions_scored']} sessions scored, "
        f"{counts['passages']} passages, {counts['flags']} flags, "
        f"{counts['quarantined']} quarantined."
    )
    console.print(f"Report: {(out / 'report.html').resolve()}")


@app.command()
def train(
    data: Annotated[Path, typer.Option(help="Folder of the public corpora, e.g. ../shared/data.")],
    out: Annotated[Path, typer.Option(help="New model folder.")] = Path("models/candidate"),
    notes: Annotated[
        Path | None, typer.Option(help="Labeled note passages JSONL (default: the fixture set).")
    ] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="Embedding + linear heads model (minutes on a CPU).")
    ] = False,
    max_per_source: Annotated[
        int | None, typer.Option(help="Cap groups (conversations) per corpus, for speed.")
    ] = None,
    seed: int = 0,
    config: ConfigOption = None,
    overrides: SetOption = None,
) -> None:
    """Train a passage model and session estimator into --out, with manifest and model card.

    Example: alliance train --quick --data ../shared/data --out models/candidate
    """
    _private_environment()
    settings = _load(config, overrides, None)
    if not quick:
        raise _fail("only --quick training (encoder embeddings + linear heads) is available yet")
    from pipeline.training.quick import train_quick

    try:
        report = train_quick(
            data,
            out,
            settings,
            notes=notes,
            max_per_source=max_per_source,
            seed=seed,
            console=console,
        )
    except FileNotFoundError as error:
        raise _fail(str(error)) from None
    console.print_json(json.dumps(report["metrics"]))
    console.print(f"Model written to {out.resolve()}")


@app.command()
def report(
    store: Annotated[str, typer.Option(help="SQLAlchemy URL of the result store.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
) -> None:
    """Regenerate report.html (and the other contract files) from a result store.

    Example: alliance report --store sqlite:///out/alliance.db --out out/
    """
    _private_environment()
    from pipeline.export import export_outputs
    from pipeline.store import Store

    info = {"model_version": "from store", "config_hash": "n/a", "regenerated": True}
    paths = export_outputs(Store(store), out, info, quarantined=[])
    console.print(f"Report: {paths['report.html'].resolve()}")


def main() -> None:  # pragma: no cover - console script entry
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
