"""The ``alliance data`` group: ``convert``, ``export-labelstudio``, ``import-labelstudio``.

Training data tools: turn the public corpora into labeled passages, and make the round trip
through Label Studio (scored passages out for annotation, annotations back as labeled
passages). Registered on the ``data`` group in :mod:`pipeline.cli`; the training code is
imported inside the commands so that ``alliance --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import console, fail


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
        raise fail(str(error)) from None
    count = write_labeled_jsonl(passages, out)
    console.print(f"{count} labeled passages written to {out}")


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
        raise fail(str(error)) from None
    console.print_json(json.dumps({k: v for k, v in summary.__dict__.items() if k != "files"}))
    console.print(
        f"Label Studio files in {out.resolve()}: paste {summary.files['labeling_config']} as "
        f"the labeling interface, import {summary.files['tasks']}. It contains note text: keep "
        "it inside the clinic's environment."
    )


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
        raise fail(f"not found: {', '.join(missing)}")
    try:
        report = import_labelstudio(exports, out, source)
    except ValueError as error:
        raise fail(str(error)) from None
    console.print_json(json.dumps(report.to_dict()))
    console.print(
        f"{report.written} labeled passages written to {out}. Train with: "
        f"alliance train --notes {out}"
    )
