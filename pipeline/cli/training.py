"""The researcher's commands: ``train``, ``evaluate``, ``train-sessions``, ``train-head`` and
``train-rupture``.

Train and promote models on the public corpora and labeled notes, compare a model with a
TF-IDF baseline, and refit the session estimator on a clinic's own ratings. Registered on the
app in :mod:`pipeline.cli`; torch, Prefect and the training code are imported inside the
commands so that ``alliance --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pipeline.cli.common import (
    ConfigOption,
    ModelOption,
    SetOption,
    console,
    fail,
    load_settings,
    private_environment,
)
from pipeline.config import ConfigError


def train(
    data: Annotated[
        Path | None, typer.Option(help="Folder of the public corpora, e.g. ../shared/data.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Candidate model folder (default `models/<kind>-<time>`).")
    ] = None,
    notes: Annotated[
        list[Path] | None,
        typer.Option(
            help="Labeled note passages JSONL; repeatable, files are combined (default: "
            "`notes` of configs/train.yaml, the fixture note and strain passages; name them "
            "too to add yours to them)."
        ),
    ] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="Frozen embeddings + linear heads (minutes on a CPU).")
    ] = False,
    promote: Annotated[
        bool, typer.Option(help="Promote the candidate to the default model if no worse.")
    ] = True,
    train_config: Annotated[
        Path | None, typer.Option(help="Training config YAML (default configs/train.yaml).")
    ] = None,
    train_overrides: Annotated[
        list[str] | None,
        typer.Option("--train-set", help="Dotted training override: --train-set epochs=1"),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            help="Training profile of configs/train.yaml: `full` (every layer, up to 5 epochs "
            "within a 75-minute training loop, the recipe meant for the default) or `fast` (a "
            "20-minute loop, a quick retrain); after the first epoch the epochs are cut to "
            "those that fit (--train-set time_budget_minutes=N changes it). Default: the "
            "file's own settings (the `ft-v3` pair recipe, no budget)."
        ),
    ] = None,
    config: ConfigOption = None,
    overrides: SetOption = None,
) -> None:
    """Train a passage model, session estimator and rupture model (the Prefect flow 'retrain').

    Trains a candidate into --out, fits its rupture model on the labeled note sessions of
    data/fixtures (as `alliance train-rupture` does; about two minutes with --data), evaluates
    it and the current default on the same validation split (by conversation / note), and
    promotes it to models/default only when it is no worse: a validation score at least the
    default's, a rupture model when the default has one, the dev clients' sessions estimated
    about as well (overall Spearman at most 0.05 lower), and every fixture storyline the
    default meets, with every fixture client's approach fit the default calls right still
    called right. Otherwise it stays a candidate. Prints the metrics either way.

    Examples:

        alliance train --data ../shared/data --profile full
        alliance train --data ../shared/data --profile fast --no-promote
        alliance train --quick --data ../shared/data --out models/quick --no-promote
        alliance train --notes my_labeled_notes.jsonl --train-set epochs=3
        alliance train --data ../shared/data --notes data/fixtures/note_passages.jsonl \\
          --notes my_labeled_notes.jsonl
    """
    private_environment()
    settings = load_settings(config, overrides, None)
    from pipeline.config import load_train_config

    try:
        training = load_train_config(train_config, train_overrides, profile)
    except ConfigError as error:
        raise fail(str(error)) from None
    if data is None and notes is None:
        raise fail("nothing to train on: pass --data ../shared/data and/or --notes FILE")
    if quick and data is None:
        raise fail("--quick needs --data (the session estimator is fitted on the corpora)")
    for path in (data, *(notes or [])):
        if path is not None and not path.exists():
            raise fail(f"not found: {path}")
    import datetime as dt

    from pipeline.flows import retrain_flow

    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = out or settings.model_dir.parent / f"{'quick' if quick else 'ft'}-{stamp}"
    try:
        result = retrain_flow(
            data_dir=str(data.resolve()) if data else None,
            out_dir=str(out.resolve()),
            config=settings.model_dump(mode="json"),
            train_config=training.model_dump(mode="json"),
            notes=[str(n.resolve()) for n in notes] if notes else None,
            quick=quick,
            promote=promote,
        )
    except (FileNotFoundError, ValueError) as error:
        raise fail(str(error)) from None
    console.print_json(
        json.dumps(
            {
                "validation": result["scores"],
                "rupture_model": result["rupture"],
                "promoted": result["promoted"],
                "wall_time_s": result["wall_time_s"],
            }
        )
    )
    verdict = "promoted to the default model" if result["promoted"] else "kept as a candidate"
    console.print(f"Model {out.resolve()}: {verdict}. Metrics: {out / 'MODEL_CARD.md'}")


def evaluate(
    model: Annotated[Path, typer.Option("--model", "-m", help="Model folder to evaluate.")],
    data: Annotated[
        Path,
        typer.Option(help="Labeled passages: a corpora folder (../shared/data) or a JSONL file."),
    ],
    split: Annotated[
        str, typer.Option(help="validation | test | heldout (both; never the train split)")
    ] = "validation",
    sessions: Annotated[
        bool,
        typer.Option(
            help="Also score session estimates, session structure and approach fit (needs the "
            "corpora folder as --data; note sessions: data/fixtures/note_sessions.jsonl)."
        ),
    ] = False,
    finetune_baseline: Annotated[
        Path | None,
        typer.Option(
            help="Results JSON of benchmarks/finetune_baseline.py: adds the plain fine-tune "
            "per head and corpus (with --split heldout, the split it was scored on)."
        ),
    ] = None,
    config: ConfigOption = None,
    overrides: SetOption = None,
) -> None:
    """Per-head macro-F1 of a model, beside a TF-IDF + logistic regression baseline.

    The baseline is fitted in the same run on the train split of the same data, and both are
    scored on --split (groups never straddle splits). Each figure comes with a 95% interval
    that resamples whole conversations, posts or notes.

    Examples:

        alliance evaluate --model models/default --data ../shared/data
        alliance evaluate --model models/default --data data/fixtures/note_passages.jsonl
        alliance evaluate --model models/default --data ../shared/data --split heldout \\
          --finetune-baseline benchmarks/results/finetune_baseline.json
    """
    private_environment()
    settings = load_settings(config, overrides, None)
    from pipeline.cli.tables import passage_table
    from pipeline.training.evaluation_report import evaluate_model_on, read_finetune_baseline

    try:
        finetune = read_finetune_baseline(finetune_baseline, split) if finetune_baseline else None
        with console.status("scoring the held-out passages"):
            table = evaluate_model_on(model, data, split, settings, finetune)
    except (FileNotFoundError, ValueError) as error:
        raise fail(str(error)) from None
    Console().print(passage_table(table, f"{model} on {data} ({split})"))
    if sessions:
        if not data.is_dir():
            raise fail("--sessions needs the corpora folder (e.g. ../shared/data) as --data")
        from pipeline.cli.tables import sessions_table
        from pipeline.sessions.alliance_model import AllianceModel
        from pipeline.training.labels import load_labels
        from pipeline.training.sessions import evaluate_sessions

        splits = ("validation", "test") if split == "heldout" else (split,)
        with console.status("scoring the rated sessions"):
            metrics = evaluate_sessions(
                AllianceModel.load(model, settings.encoder), data, load_labels(), splits, settings
            )
        Console().print(sessions_table(metrics, splits))
        _print_structure(model, data, split, splits, settings)


PromoteOption = Annotated[bool, typer.Option(help="Also make the new folder the default model.")]
VersionOption = Annotated[
    str | None, typer.Option(help="Version of the new folder (default: its name).")
]


def _promote(folder: Path, default: Path) -> None:
    """Make ``folder`` the default model (nothing to do when it already is)."""
    if folder.resolve() == default.resolve():
        return
    from pipeline.training.retrain import promote

    promote(folder, default)
    console.print(f"Promoted {folder} to {default}")


def _print_structure(model: Path, data: Path, split: str, splits, settings) -> None:
    """Session structure against coded and labeled structure, and approach-fit calls."""
    from rich.table import Table

    from pipeline.sessions.alliance_model import AllianceModel
    from pipeline.training.corpora import read_corpora
    from pipeline.training.labels import load_labels
    from pipeline.training.structure import structure_checks

    passages = read_corpora(data, ["annomi", "esconv"], load_labels())
    note_split = "dev" if split == "validation" else "test"
    figures = structure_checks(
        AllianceModel.load(model, settings.encoder), passages, splits, settings, note_split
    )
    view = Table(title="session structure (0-1) and approach fit")
    for column in ("check", "n", "Spearman [95%] / calls"):
        view.add_column(column)
    for key, entry in figures.items():
        if "spearman" in entry and entry["spearman"] is None:
            view.add_row(key, str(entry["n"]), "too few to rank")
        elif "spearman" in entry:
            low, high = entry["interval_95"]
            view.add_row(key, str(entry["n"]), f"{entry['spearman']} [{low}, {high}]")
        else:
            view.add_row(
                key,
                str(entry["n"]),
                f"{entry['agree']} agree with the labels' own call, "
                f"{entry['wrong_direction']} in the wrong direction",
            )
    Console().print(view)


def train_sessions_command(
    out: Annotated[
        Path, typer.Option(help="Model folder to write (a copy with the new estimator).")
    ],
    labels: Annotated[
        Path | None, typer.Option(help="CSV: session_id + SRS (srs_*) or WAI-SR (wai_1..12).")
    ] = None,
    store: Annotated[
        str | None, typer.Option(help="Store URL where the rated sessions were scored.")
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(help="Instead of --labels: refit on the public corpora (../shared/data)."),
    ] = None,
    model: ModelOption = None,
    promote: PromoteOption = False,
    config: ConfigOption = None,
    overrides: SetOption = None,
) -> None:
    """Refit the session estimator, keeping the passage model.

    With your clinic's own client ratings (SRS or WAI-SR) for sessions already scored into a
    store; prints cross-validated (grouped by client) Spearman, MAE and 80% coverage:

        alliance train-sessions --labels ratings.csv \\
          --store sqlite:///out/alliance.db --out models/clinic

    Or on the public corpora and the labeled note sessions' dev clients (what `alliance train`
    does), e.g. after changing the features:

        alliance train-sessions --data ../shared/data --out models/default
    """
    private_environment()
    settings = load_settings(config, overrides, model)
    from pipeline.model.artifacts import ArtifactError

    if (labels is None) == (data is None) or (labels is not None and store is None):
        raise fail("pass either --labels FILE with --store URL, or --data ../shared/data")
    try:
        if labels is not None:
            from pipeline.training.clinic import train_sessions

            result = train_sessions(labels, store, settings.model_dir, out, settings.encoder)
        else:
            from pipeline.training.sessions import refit_on_corpora

            with console.status("scoring rated sessions for the session estimator"):
                result = refit_on_corpora(
                    settings.model_dir, out, data, settings.encoder, config=settings
                )
    except (ArtifactError, FileNotFoundError, ValueError) as error:
        raise fail(str(error)) from None
    console.print_json(json.dumps(result))
    if promote:
        _promote(out, settings.model_dir)
    console.print(f"Model with the refitted session estimator: {out.resolve()}")


def train_head_command(
    head: Annotated[str, typer.Argument(help="The head to add, e.g. style.")],
    out: Annotated[Path, typer.Option(help="The new model folder (the source stays as it is).")],
    data: Annotated[
        Path | None, typer.Option(help="Folder of the public corpora, e.g. ../shared/data.")
    ] = None,
    notes: Annotated[
        list[Path] | None,
        typer.Option(
            help="Labeled note passages JSONL; repeatable (default: "
            "data/fixtures/note_passages.jsonl)."
        ),
    ] = None,
    version: VersionOption = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace", help="Refit a head the folder has (new labels); the others stay."
        ),
    ] = False,
    model: ModelOption = None,
    promote: PromoteOption = False,
    config: ConfigOption = None,
    overrides: SetOption = None,
) -> None:
    """Add a head to a fine-tuned model folder, keeping every other output as it is.

    The head is a class-balanced logistic regression on the folder's frozen, fine-tuned
    encoder (the penalty chosen on validation), learned from the corpora and note passages
    that label it. Prints its test macro-F1 per source beside a TF-IDF baseline, with
    bootstrap intervals. Minutes on a CPU, where fine-tuning again takes tens of minutes:

        alliance train-head style --data ../shared/data --out models/ft-v3-style
    """
    private_environment()
    settings = load_settings(config, overrides, model)
    from rich.table import Table

    from pipeline.config import TrainConfig
    from pipeline.model.artifacts import ArtifactError
    from pipeline.training.add_head import add_head

    try:
        with console.status(f"learning the {head} head on the frozen encoder"):
            report = add_head(
                settings.model_dir,
                out,
                head,
                settings,
                data,
                notes or TrainConfig().notes,
                version,
                replace=replace,
            )
    except (ArtifactError, FileNotFoundError, ValueError) as error:
        raise fail(str(error)) from None
    view = Table(title=f"{head}: test split (never trained or tuned on)")
    for column in ("source", "n (groups)", "model [95%]", "TF-IDF [95%]"):
        view.add_column(column)
    for source, entry in report["test"].items():
        view.add_row(
            source,
            f"{entry['n']} ({entry['groups']})",
            f"{entry['model']} {entry['model_95']}",
            f"{entry['tfidf']} {entry['tfidf_95']}",
        )
    Console().print(view)
    if promote:
        _promote(out, settings.model_dir)
    console.print(f"Model with the {head} head: {out.resolve()}")


def train_rupture_command(
    out: Annotated[Path, typer.Option(help="The new model folder (the source stays as it is).")],
    sessions: Annotated[
        Path | None,
        typer.Option(help="Labeled sessions JSONL (default data/fixtures/note_sessions.jsonl)."),
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Option(
            help="Their labels CSV with split and rupture columns (default "
            "data/fixtures/note_session_labels.csv)."
        ),
    ] = None,
    precision: Annotated[
        float, typer.Option(min=0.05, max=0.99, help="Precision the threshold must reach.")
    ] = 0.7,
    caseload_rupture_rate: Annotated[
        float,
        typer.Option(min=0.01, max=0.9, help="Share of a real caseload's sessions with a rupture."),
    ] = 0.10,
    budget: Annotated[
        float,
        typer.Option(
            min=0.01, max=1.0, help="Share of a real caseload's sessions RUPTURE may flag."
        ),
    ] = 0.10,
    data: Annotated[
        Path | None,
        typer.Option(
            help="The public corpora (../shared/data): needed when the session estimator "
            "learned from the labeled sessions, to estimate them out of fold."
        ),
    ] = None,
    words: Annotated[
        bool | None,
        typer.Option(
            "--words/--no-words",
            help="Also read each session's own words (TF-IDF + logistic regression). Its "
            "vocabulary, fitted on the labeled sessions, is stored in the model folder, so "
            "the default is on for the synthetic fixtures and off for --sessions you give.",
        ),
    ] = None,
    version: VersionOption = None,
    model: ModelOption = None,
    promote: PromoteOption = False,
    config: ConfigOption = None,
    overrides: SetOption = None,
) -> None:
    """Fit the rupture model (flag `RUPTURE`) on labeled sessions and add it to a model folder.

    The sessions are scored by the folder's own model, each with its client's history. The
    model is fitted on the `dev` clients: a calibrated logistic regression over what each
    session shows (strain passages, withdrawal and confrontation markers, alliance evidence,
    the drop from the client's baseline, and with `--words` the session's own words), its
    threshold chosen on folds grouped by client so that precision reaches `--precision`
    while a caseload with `--caseload-rupture-rate` ruptures would see at most `--budget` of
    its sessions flagged. The `test` clients are
    scored once, beside a TF-IDF baseline over the session text. When the session estimator
    learned from the dev clients (the shipped one does), their estimates come from estimators
    refitted without them, which needs the corpora (about two minutes on a CPU):

        alliance train-rupture --data ../shared/data --out models/v4-rupture --promote
    """
    private_environment()
    settings = load_settings(config, overrides, model)
    from pipeline.cli.tables import rupture_table
    from pipeline.model.artifacts import ArtifactError
    from pipeline.sessions.rupture import FlagBudget
    from pipeline.training.rupture import train_rupture
    from pipeline.training.structure import NOTE_SESSION_LABELS, NOTE_SESSIONS

    try:
        with console.status("scoring the labeled sessions and fitting the rupture model"):
            report = train_rupture(
                settings.model_dir,
                out,
                settings,
                sessions or NOTE_SESSIONS,
                labels or NOTE_SESSION_LABELS,
                precision,
                version,
                data,
                FlagBudget(caseload_rupture_rate, budget),
                words=sessions is None if words is None else words,
            )
    except (ArtifactError, FileNotFoundError, KeyError, ValueError) as error:
        raise fail(str(error)) from None
    Console().print(rupture_table(report))
    if promote:
        _promote(out, settings.model_dir)
    console.print(f"Model with the rupture model: {out.resolve()}")
