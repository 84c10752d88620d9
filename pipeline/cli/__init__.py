"""The ``alliance`` command line: thin wrappers over plain functions and Prefect flows."""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
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
data_app = typer.Typer(help="Training data tools.", no_args_is_help=True)
app.add_typer(data_app, name="data")

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


class TaskRunnerName(StrEnum):
    thread = "thread"
    dask = "dask"


IncludeTextOption = Annotated[
    bool, typer.Option("--include-text", help="Write passage text into passages.jsonl.")
]
TaskRunnerOption = Annotated[
    TaskRunnerName | None,
    typer.Option(
        "--task-runner",
        help="Where the scoring tasks run: thread = one after another in this process; dask = "
        "on Dask workers (default: run.task_runner of the config, thread).",
    ),
]
DaskAddressOption = Annotated[
    str | None,
    typer.Option(
        "--dask-address",
        help="Scheduler of an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (with "
        "--task-runner dask; default: a temporary local cluster).",
    ),
]
DaskWorkersOption = Annotated[
    int | None,
    typer.Option(
        "--dask-workers",
        min=1,
        help="Worker processes of the temporary local Dask cluster (default 2).",
    ),
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
    include_text: IncludeTextOption = False,
    task_runner: TaskRunnerOption = None,
    dask_address: DaskAddressOption = None,
    dask_workers: DaskWorkersOption = None,
) -> None:
    """Score sessions end to end and write the contract files into --out.

    Writes passages.jsonl, sessions.csv, flags.jsonl, report.html, quarantine.jsonl and
    run.json. Bad records are quarantined and the run goes on (exit status 0).

    Example: alliance score data/fixtures/sessions.jsonl --out out/

    On Dask workers: alliance score notes.jsonl --out out/ --task-runner dask --dask-workers 4
    """
    _run_flow(
        "score",
        inputs,
        out,
        config,
        model,
        store,
        overrides,
        include_text,
        _runner_options(task_runner, dask_address, dask_workers),
    )


def _runner_options(
    task_runner: TaskRunnerName | None, dask_address: str | None, dask_workers: int | None
) -> dict:
    """The ``run`` settings given on the command line (they override the config's)."""
    given = {
        "task_runner": task_runner.value if task_runner else None,
        "dask_address": dask_address,
        "dask_workers": dask_workers,
    }
    return {key: value for key, value in given.items() if value is not None}


def _with_runner(settings, options: dict):
    """Apply the command line's task-runner options to the config, checked for sense."""
    from pipeline.config import RunConfig

    try:
        run = RunConfig.model_validate({**settings.run.model_dump(), **options})
    except ValueError as error:
        raise _fail(f"invalid task-runner options: {error}") from None
    if run.task_runner == "thread" and {"dask_address", "dask_workers"} & set(options):
        raise _fail("--dask-address and --dask-workers need --task-runner dask")
    if run.dask_address and "dask_workers" in options:
        raise _fail(
            "--dask-workers sizes a temporary local cluster; with --dask-address the "
            "cluster's own workers are used (start them with `dask worker --nworkers N`)"
        )
    return settings.model_copy(update={"run": run})


def _run_flow(
    job: str,
    inputs: list[Path],
    out: Path,
    config: Path | None,
    model: Path | None,
    store: str | None,
    overrides: list[str] | None,
    include_text: bool,
    runner_options: dict | None = None,
) -> None:
    """Validate everything cheap first, then run the ``score`` or ``nightly`` flow."""
    _private_environment()
    settings = _with_runner(_load(config, overrides, model), runner_options or {})
    missing = [str(p) for p in inputs if not p.exists()]
    if missing:
        raise _fail(f"input not found: {', '.join(missing)}")
    from pipeline.flows import run_scoring
    from pipeline.model.artifacts import ArtifactError
    from pipeline.steps import load_model
    from pipeline.store.core import default_url
    from pipeline.store.locking import RunLockedError

    out.mkdir(parents=True, exist_ok=True)
    url = store or settings.store.url or default_url(out)
    try:
        # Fail fast, before Prefect starts, when the model or encoder cannot be trusted.
        load_model(settings)
        where = "" if settings.run.task_runner == "thread" else " on Dask workers"
        with console.status(f"Scoring sessions (Prefect flow '{job}'{where})..."):
            info = run_scoring(
                job,
                [str(p.resolve()) for p in inputs],
                str(out.resolve()),
                settings,
                url,
                include_text,
            )
    except RunLockedError as error:
        console.print(f"[bold yellow]refused:[/] {error}")
        raise typer.Exit(code=3) from None
    except (ArtifactError, FileNotFoundError, ValueError) as error:
        raise _fail(str(error)) from None
    counts = info["counts"]
    console.print(
        f"[green]done[/]: {counts['sessions_scored']} sessions scored "
        f"({counts['new_or_amended']} new or amended), {counts['passages']} passages, "
        f"{counts['flags']} flags in the store, {counts['quarantined']} quarantined."
    )
    console.print(f"Report: {(out / 'report.html').resolve()}")


@app.command()
def nightly(
    inputs: Annotated[
        list[Path],
        typer.Option("--input", "-i", help="JSONL/CSV file or folder of .txt notes; repeatable."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    store: Annotated[
        str | None,
        typer.Option(
            help="SQLAlchemy URL of the long-lived result store, e.g. sqlite:////srv/alliance.db "
            "or postgresql+psycopg://alliance@localhost/alliance (default: SQLite in --out)."
        ),
    ] = None,
    config: ConfigOption = None,
    model: ModelOption = None,
    overrides: SetOption = None,
    include_text: IncludeTextOption = False,
    task_runner: TaskRunnerOption = None,
    dask_address: DaskAddressOption = None,
    dask_workers: DaskWorkersOption = None,
) -> None:
    """The clinic's unattended nightly run (Prefect flow 'nightly'): resumable, exactly once.

    Scores every session not yet scored for its (session id, content hash, model version):
    new sessions, amended notes (the earlier result is kept as history), sessions a stopped
    run left unscored, and all sessions after a new model is promoted. Each session commits
    in its own transaction, so after a crash (even kill -9) the same command finishes the
    job. A second run on the same store or output folder is refused (exit status 3). Bad
    records are quarantined; the exit status is 0 when the run finished.

    Example: alliance nightly --input /data/notes/ --store sqlite:////srv/alliance.db --out out/

    Spread the scoring over a Dask cluster with --task-runner dask --dask-address tcp://HOST:8786.
    """
    _run_flow(
        "nightly",
        inputs,
        out,
        config,
        model,
        store,
        overrides,
        include_text,
        _runner_options(task_runner, dask_address, dask_workers),
    )


@app.command()
def deploy(
    inputs: Annotated[
        list[Path],
        typer.Option("--input", "-i", help="What each run reads (file or folder); repeatable."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder of every run.")],
    store: Annotated[
        str | None,
        typer.Option(
            help="SQLAlchemy URL of the store, without a password (default: SQLite in --out)."
        ),
    ] = None,
    work_pool: Annotated[
        str | None,
        typer.Option(
            help="Register the deployment on this Prefect work pool and return (clinic set-up: "
            "a Prefect server plus `prefect worker start --pool NAME`). Without it, serve the "
            "schedule from this process until stopped (single machine)."
        ),
    ] = None,
    config: ConfigOption = None,
    model: ModelOption = None,
    overrides: SetOption = None,
) -> None:
    """Schedule the nightly flow with the cron and time zone of the config's `schedule`.

    Single machine: `alliance deploy --input /data/notes --out /srv/out --store URL` serves
    the schedule (keep it running, e.g. as a systemd service). Clinic set-up: point
    PREFECT_API_URL at your Prefect server, add `--work-pool alliance`, and run a worker.

    Example: alliance deploy -i notes/ -o out/ --set schedule.timezone=America/Chicago
    """
    _private_environment()
    settings = _load(config, overrides, model)
    from pipeline.deploy import nightly_deployment
    from pipeline.store.core import default_url

    url = store or settings.store.url or default_url(out.resolve())
    try:
        deployment = nightly_deployment(settings, inputs, out, url, work_pool)
    except ValueError as error:
        raise _fail(str(error)) from None
    schedule = settings.schedule
    when = f"cron '{schedule.cron}' in {schedule.timezone}"
    if work_pool:
        deployment_id = deployment.apply(work_pool_name=work_pool)
        console.print(
            f"[green]deployed[/] nightly/{schedule.deployment_name} ({deployment_id}) on work "
            f"pool {work_pool!r}, {when}. Start a worker: prefect worker start --pool {work_pool}"
        )
        return
    from prefect import serve

    console.print(f"Serving nightly/{schedule.deployment_name}, {when}. Ctrl+C stops it.")
    serve(deployment)


@app.command()
def train(
    data: Annotated[
        Path | None, typer.Option(help="Folder of the public corpora, e.g. ../shared/data.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Candidate model folder (default models/<kind>-<time>).")
    ] = None,
    notes: Annotated[
        list[Path] | None,
        typer.Option(
            help="Labeled note passages JSONL; repeatable, files are combined (default: "
            "data/fixtures/note_passages.jsonl; name it too to add yours to it)."
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
    config: ConfigOption = None,
    overrides: SetOption = None,
) -> None:
    """Train a passage model and session estimator (the Prefect flow 'retrain').

    Trains a candidate into --out, evaluates it and the current default on the same
    validation split (by conversation / note), and promotes it to models/default only when it
    is no worse; otherwise it stays a candidate. Prints the metrics either way.

    Examples:
      alliance train --data ../shared/data
      alliance train --quick --data ../shared/data --out models/quick --no-promote
      alliance train --notes my_labeled_notes.jsonl --train-set epochs=3
      alliance train --data ../shared/data --notes data/fixtures/note_passages.jsonl \\
        --notes my_labeled_notes.jsonl
    """
    _private_environment()
    settings = _load(config, overrides, None)
    from pipeline.config import load_train_config

    try:
        training = load_train_config(train_config, train_overrides)
    except ConfigError as error:
        raise _fail(str(error)) from None
    if data is None and notes is None:
        raise _fail("nothing to train on: pass --data ../shared/data and/or --notes FILE")
    if quick and data is None:
        raise _fail("--quick needs --data (the session estimator is fitted on the corpora)")
    for path in (data, *(notes or [])):
        if path is not None and not path.exists():
            raise _fail(f"not found: {path}")
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
        raise _fail(str(error)) from None
    console.print_json(
        json.dumps(
            {
                "validation": result["scores"],
                "promoted": result["promoted"],
                "wall_time_s": result["wall_time_s"],
            }
        )
    )
    verdict = "promoted to the default model" if result["promoted"] else "kept as a candidate"
    console.print(f"Model {out.resolve()}: {verdict}. Metrics: {out / 'MODEL_CARD.md'}")


@app.command()
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
        typer.Option(help="Also score session estimates (needs the corpora folder as --data)."),
    ] = False,
    config: ConfigOption = None,
    overrides: SetOption = None,
) -> None:
    """Per-head macro-F1 of a model, beside a TF-IDF + logistic regression baseline.

    The baseline is fitted in the same run on the train split of the same data, and both are
    scored on --split (groups never straddle splits).

    Examples:
      alliance evaluate --model models/default --data ../shared/data
      alliance evaluate --model models/default --data data/fixtures/note_passages.jsonl
    """
    _private_environment()
    settings = _load(config, overrides, None)
    from pipeline.training.evaluation_report import evaluate_model_on

    try:
        table = evaluate_model_on(model, data, split, settings)
    except (FileNotFoundError, ValueError) as error:
        raise _fail(str(error)) from None
    from rich.table import Table

    view = Table(title=f"{model} on {data} ({split})")
    for column in ("head", "source", "n", "model macro-F1", "TF-IDF macro-F1"):
        view.add_column(column)
    for row in table:
        view.add_row(*[str(row[k]) for k in ("head", "source", "n", "model", "baseline")])
    Console().print(view)
    if sessions:
        if not data.is_dir():
            raise _fail("--sessions needs the corpora folder (e.g. ../shared/data) as --data")
        from pipeline.sessions.alliance_model import AllianceModel
        from pipeline.training.data import default_note_passages
        from pipeline.training.labels import load_labels
        from pipeline.training.sessions import evaluate_sessions

        labels = load_labels()
        splits = ("validation", "test") if split == "heldout" else (split,)
        metrics = evaluate_sessions(
            AllianceModel.load(model, settings.encoder),
            data,
            labels,
            splits,
            default_note_passages(labels),
        )
        sessions_view = Table(title=f"session estimates ({', '.join(splits)})")
        columns = ("target/source", "n", "Spearman", "AUC [95% CI], n low", "MAE", "80% coverage")
        for column in columns:
            sessions_view.add_column(column)
        for key, entry in metrics.items():
            auc = (
                f"{entry['auc']} [{entry['auc_ci95'][0]}, {entry['auc_ci95'][1]}], "
                f"{entry['n_low']} low"
                if "auc" in entry
                else "–"
            )
            sessions_view.add_row(
                key,
                str(entry["n"]),
                str(entry.get("spearman", "–")),
                auc,
                str(entry["mae"]),
                str(entry["coverage_80"]),
            )
        Console().print(sessions_view)


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
    from pipeline.store.core import Store

    results = Store(store)
    versions = sorted({e.model_version for e in results.estimates()})
    info = {
        "model_version": ", ".join(versions) or "none",
        "config_hash": "n/a",
        "regenerated_from_store": True,
    }
    paths = export_outputs(results, out, info, quarantined=results.quarantine())
    console.print(f"Report: {paths['report.html'].resolve()}")


@app.command("train-sessions")
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
    promote: Annotated[
        bool, typer.Option(help="Also make the new folder the default model.")
    ] = False,
    config: ConfigOption = None,
    overrides: SetOption = None,
) -> None:
    """Refit the session estimator, keeping the passage model.

    With your clinic's own client ratings (SRS or WAI-SR) for sessions already scored into a
    store; prints cross-validated (grouped by client) Spearman, MAE and 80% coverage:

      alliance train-sessions --labels ratings.csv \\
        --store sqlite:///out/alliance.db --out models/clinic

    Or on the public corpora (what `alliance train` does), e.g. after changing the features:

      alliance train-sessions --data ../shared/data --out models/default
    """
    _private_environment()
    settings = _load(config, overrides, model)
    from pipeline.model.artifacts import ArtifactError

    if (labels is None) == (data is None) or (labels is not None and store is None):
        raise _fail("pass either --labels FILE with --store URL, or --data ../shared/data")
    try:
        if labels is not None:
            from pipeline.training.clinic import train_sessions

            result = train_sessions(labels, store, settings.model_dir, out, settings.encoder)
        else:
            from pipeline.training.data import default_note_passages
            from pipeline.training.labels import load_labels
            from pipeline.training.sessions import refit_on_corpora

            notes = default_note_passages(load_labels())
            with console.status("scoring conversations for the session estimator"):
                result = refit_on_corpora(settings.model_dir, out, data, settings.encoder, notes)
    except (ArtifactError, FileNotFoundError, ValueError) as error:
        raise _fail(str(error)) from None
    console.print_json(json.dumps(result))
    if promote and out.resolve() != settings.model_dir.resolve():
        from pipeline.training.retrain import promote as promote_folder

        promote_folder(out, settings.model_dir)
        console.print(f"Promoted {out} to {settings.model_dir}")
    console.print(f"Model with the refitted session estimator: {out.resolve()}")


@data_app.command("convert")
def data_convert(
    data: Annotated[Path, typer.Option(help="Folder of the public corpora (../shared/data).")],
    out: Annotated[Path, typer.Option(help="Output JSONL of labeled passages.")],
    corpus: Annotated[
        list[str] | None,
        typer.Option(help="Corpus folder name, repeatable (default: all labeled)."),
    ] = None,
    notes: Annotated[Path | None, typer.Option(help="Also add labeled note passages.")] = None,
) -> None:
    """Convert public corpora (read in place) into one labeled-passage JSONL.

    Each line: {text, context, speaker, source, group, labels: {head: class index}}; a head
    missing from labels is masked. The mapping is configs/labels.yaml. The output holds
    corpus text: keep it out of the repository and respect the corpora's licenses.

    Example: alliance data convert --data ../shared/data --out /tmp/passages.jsonl
    """
    from pipeline.training.corpora import read_corpora, read_note_passages
    from pipeline.training.labels import load_labels
    from pipeline.training.records import write_labeled_jsonl

    labels = load_labels()
    try:
        passages = read_corpora(data, corpus, labels)
        if notes is not None:
            passages += read_note_passages(notes, labels)
    except (FileNotFoundError, ValueError) as error:
        raise _fail(str(error)) from None
    count = write_labeled_jsonl(passages, out)
    console.print(f"{count} labeled passages written to {out}")


@data_app.command("export-labelstudio")
def data_export_labelstudio(
    store: Annotated[str, typer.Option(help="SQLAlchemy URL of the result store.")],
    out: Annotated[Path, typer.Option(help="Folder for tasks.json and labeling_config.xml.")],
    sessions: Annotated[
        list[str] | None,
        typer.Option(help="Session id to export, repeatable or comma-separated (default: all)."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=0, help="At most this many passages (tasks).")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Draw the --limit passages at random with this seed.")
    ] = None,
    heads: Annotated[
        list[str] | None,
        typer.Option(
            "--head",
            help="Head to annotate, repeatable (default: the note heads task, bond, goal, "
            "strain, emotional_reaction, interpretation, exploration).",
        ),
    ] = None,
    with_predictions: Annotated[
        bool,
        typer.Option(
            "--with-predictions", help="Pre-annotate with the stored model scores (to correct)."
        ),
    ] = False,
) -> None:
    """Export scored passages from a result store for annotation in Label Studio.

    Writes OUT/tasks.json (one task per passage: its text, the previous passage of the same
    session as context, and its ids) and OUT/labeling_config.xml (one single-choice group per
    head, from configs/labels.yaml). Only sessions scored in their current version are
    exported. tasks.json holds note text: keep it inside the clinic's environment. See
    docs/annotation.md for the whole round trip.

    Example (500 random passages, pre-annotated by the model):

      alliance data export-labelstudio --store sqlite:///out/alliance.db \\
        --out ls/ --limit 500 --seed 1 --with-predictions
    """
    from pipeline.training.labelstudio import export_labelstudio

    ids = [part.strip() for item in sessions or [] for part in item.split(",") if part.strip()]
    try:
        summary = export_labelstudio(
            store, out, ids or None, limit, seed, heads or None, with_predictions
        )
    except ValueError as error:
        raise _fail(str(error)) from None
    console.print_json(json.dumps({k: v for k, v in summary.__dict__.items() if k != "files"}))
    console.print(
        f"Label Studio files in {out.resolve()}: paste {summary.files['labeling_config']} as "
        f"the labeling interface, import {summary.files['tasks']}. It contains note text: keep "
        "it inside the clinic's environment."
    )


@data_app.command("import-labelstudio")
def data_import_labelstudio(
    exports: Annotated[
        list[Path], typer.Argument(help="Label Studio JSON export file(s) of annotated tasks.")
    ],
    out: Annotated[Path, typer.Option(help="Labeled-passage JSONL to write.")],
    source: Annotated[
        str | None,
        typer.Option(
            help="Source name of the passages (default: notes for note sessions, transcripts "
            "for transcript sessions)."
        ),
    ] = None,
) -> None:
    """Turn Label Studio annotations into labeled passages for `alliance train --notes`.

    Reads Label Studio's "JSON" export (several files are pooled by passage). Cancelled
    annotations are ignored, a head left blank stays unlabeled, and several annotators of one
    passage give the majority class per head (a tie leaves the head unlabeled). Prints counts,
    per-head label counts and inter-annotator agreement (percent and Cohen's kappa).

    Example: alliance data import-labelstudio project-1-export.json --out labeled.jsonl
    """
    from pipeline.training.labelstudio import import_labelstudio

    missing = [str(path) for path in exports if not path.exists()]
    if missing:
        raise _fail(f"not found: {', '.join(missing)}")
    try:
        report = import_labelstudio(exports, out, source)
    except ValueError as error:
        raise _fail(str(error)) from None
    console.print_json(json.dumps(report.to_dict()))
    console.print(
        f"{report.written} labeled passages written to {out}. Train with: "
        f"alliance train --notes {out}"
    )


def main() -> None:  # pragma: no cover - console script entry
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
