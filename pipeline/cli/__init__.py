"""The ``alliance`` command line: thin wrappers over plain functions and Prefect flows.

This module only assembles the Typer app (``alliance = "pipeline.cli:app"``; ``python -m
pipeline`` calls :func:`main`). The commands live in one module per group, and each imports
only :mod:`pipeline.cli.common` (and :mod:`pipeline.cli.tables`), never this package:

- :mod:`pipeline.cli.scoring`: ``score``, ``nightly``, ``deploy``, ``report`` (the clinic's)
- :mod:`pipeline.cli.training`: ``train``, ``evaluate``, ``train-sessions``, ``train-head``,
  ``train-rupture`` (the researcher's)
- :mod:`pipeline.cli.data`: the ``data`` group (``convert``, ``export-labelstudio``,
  ``import-labelstudio``)
- :mod:`pipeline.cli.common`: the shared options, settings loading, errors and console
- :mod:`pipeline.cli.tables`: the rich tables the researcher's commands print

The command functions are registered below, in the order ``alliance --help`` lists them.

Help is Markdown (``rich_markup_mode="markdown"``): the lines of a docstring paragraph are
joined and re-wrapped to the terminal, a blank line starts a new paragraph, an example that
must keep its lines is an indented code block (4 more spaces), and `backticks` mark code.
"""

from __future__ import annotations

import sys

import typer

from pipeline.cli import data, scoring, training

HELP_MARKUP = "markdown"

app = typer.Typer(
    help=(
        "Estimate the therapeutic alliance (goals, tasks, bond) and clinician empathy from "
        "de-identified psychotherapy session notes and transcripts.\n\n"
        "Start with:  alliance score data/fixtures/sessions.jsonl --out out/"
    ),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold note text
    add_completion=False,
    rich_markup_mode=HELP_MARKUP,
)
data_app = typer.Typer(
    help="Training data tools.", no_args_is_help=True, rich_markup_mode=HELP_MARKUP
)
app.add_typer(data_app, name="data")

app.command()(scoring.score)
app.command()(scoring.nightly)
app.command()(scoring.deploy)
app.command()(training.train)
app.command()(training.evaluate)
app.command()(scoring.report)
app.command("train-sessions")(training.train_sessions_command)
app.command("train-head")(training.train_head_command)
app.command("train-rupture")(training.train_rupture_command)

data_app.command("convert")(data.data_convert)
data_app.command("export-labelstudio")(data.data_export_labelstudio)
data_app.command("import-labelstudio")(data.data_import_labelstudio)


def main() -> None:  # pragma: no cover - console script entry
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
