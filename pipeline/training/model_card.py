"""MODEL_CARD.md for a model folder, written from its manifest metadata."""

from __future__ import annotations

from pathlib import Path

LICENSES = """\
| corpus | used for | license |
|---|---|---|
| EPITOME (Sharma et al. 2020) | empathy levels | non-commercial academic research only |
| AnnoMI | MI behaviour, client talk, session quality | no license stated (once "public domain"); video copyright may apply |
| ESConv (Liu et al. 2021) | support strategies, session ratings | CC BY-NC 4.0 (non-commercial) |
| MI-Boost / CounselChat (Welivita & Pu 2023) | silver MI codes | CC BY-NC-SA 3.0 (non-commercial, share-alike) |
| alliance synthetic note passages | alliance dimensions in notes | project license (hand-written, synthetic) |

**Because several corpora are non-commercial, this model may be used for non-commercial research
and evaluation only.** A clinic that needs commercial use must retrain on data it may use."""


def _passage_table(metrics: dict) -> str:
    model = metrics.get("passage_macro_f1", {})
    baseline = metrics.get("tfidf_baseline_macro_f1", {})
    lines = ["| head | source | n (all) | macro-F1 | TF-IDF baseline |", "|---|---|---|---|---|"]
    for head, entry in model.items():
        for source, value in entry.items():
            if source == "n":
                continue
            base = baseline.get(head, {}).get(source, "")
            n = entry["n"] if source == "all" else ""
            lines.append(f"| {head} | {source} | {n} | {value} | {base} |")
    return "\n".join(lines)


def _session_table(metrics: dict) -> str:
    lines = [
        "| target/source | n | Spearman | AUC | MAE | 80% coverage |",
        "|---|---|---|---|---|---|",
    ]
    for key, entry in metrics.get("session", {}).items():
        if not isinstance(entry, dict):
            continue
        lines.append(
            f"| {key} | {entry['n']} | {entry.get('spearman', '')} | {entry.get('auc', '')} | "
            f"{entry['mae']} | {entry['coverage_80']} |"
        )
    return "\n".join(lines)


def _added_heads(metadata: dict) -> str:
    """Heads learned after fine-tuning (:mod:`pipeline.training.add_head`), on the test split."""
    added = metadata.get("added_heads") or {}
    if not added:
        return ""
    parent = metadata.get("parent", {}).get("version", "the parent model")
    # A head records the model it was added to: later refits (train-sessions, train-rupture)
    # change the folder's parent, not the head's.
    where = ", ".join(
        f"{name} to `{report.get('added_to', parent)}`" for name, report in added.items()
    )
    parts = [
        "\n### Heads added after fine-tuning (test split, scored once)\n",
        f"Added ({where}) without changing the other heads, adapters or session estimator. "
        "Macro-F1 with a group-bootstrap 95% interval, beside a TF-IDF + logistic-regression "
        "baseline fitted on the same training rows.\n",
        "| head | source | n (groups) | macro-F1 [95%] | TF-IDF [95%] |",
        "|---|---|---|---|---|",
    ]
    for name, report in added.items():
        for source, entry in report["test"].items():
            model_low, model_high = entry["model_95"]
            base_low, base_high = entry["tfidf_95"]
            parts.append(
                f"| {name} | {source} | {entry['n']} ({entry['groups']}) | {entry['model']} "
                f"[{model_low}, {model_high}] | {entry['tfidf']} [{base_low}, {base_high}] |"
            )
        parts.append(
            f"\n{name}: {report['recipe']} (C = {report['penalty']}; validation score "
            f"{report['validation_score']}); training passages per source "
            f"{report['train_passages']}; {report['seconds']} s."
        )
    structure = metadata.get("metrics", {}).get("structure")
    if structure:
        parts.append("\n### Session structure (held out)\n")
        parts.append("| what | n | Spearman [95%] |")
        parts.append("|---|---|---|")
        for key, entry in structure.items():
            if entry.get("spearman") is None:
                continue
            low, high = entry["interval_95"]
            parts.append(f"| {key} | {entry['n']} | {entry['spearman']} [{low}, {high}] |")
    return "\n".join(parts) + "\n"


KIND_TEXT = {
    "embedding-linear-heads": (
        "frozen encoder; one logistic-regression head per output on `[embedding(passage), "
        "embedding(context)]`"
    ),
    "transformer-multitask": (
        "encoder fine-tuned with LoRA adapters (last layers), one output layer per head over the "
        "mean of the passage's tokens; input is the (passage, context) sentence pair; masked "
        "multi-task loss (a corpus teaches only the heads it labels)"
    ),
}


INPUT_TEXT = {
    "pair": "input is the (passage, context) sentence pair",
    "window": (
        "each session is read once, its passages packed in order into windows of {window} "
        "tokens (speaker as a learned token type), each passage pooled over its own tokens"
    ),
    "alone": "each passage is read on its own (speaker as a learned token type)",
}


def _architecture(metadata: dict) -> str:
    """What the card says the passage model is, from the training config it was built with."""
    kind = metadata["kind"]
    config = metadata.get("training", {}).get("config") or {}
    if kind != "transformer-multitask" or not config:
        return KIND_TEXT.get(kind, kind)
    layers = config.get("lora_top_layers")
    text = INPUT_TEXT.get(config.get("context", "pair"), INPUT_TEXT["pair"])
    return (
        f"encoder fine-tuned with LoRA adapters ({f'last {layers} layers' if layers else 'every layer'}), "
        "one output layer per head over the mean of the passage's tokens; "
        f"{text.format(window=config.get('window_tokens'))}; masked multi-task loss (a corpus "
        "teaches only the heads it labels)"
        + (f"; training profile `{config['profile']}`" if config.get("profile") else "")
    )


def _sources_text(training: dict) -> str:
    sources = (training.get("config") or {}).get("head_sources") or {}
    if not sources:
        return "Every head learns from every source that labels it."
    listed = "; ".join(f"{head}: {', '.join(names)}" for head, names in sorted(sources.items()))
    return f"These heads learn only from the sources named (`head_sources`): {listed}."


def _history(training: dict) -> str:
    history = training.get("history")
    if not history:
        return ""
    rows = "; ".join(
        f"epoch {e['epoch']}: train loss {e['train_loss']}, validation score {e['validation_score']}"
        for e in history["epochs"]
    )
    refit = training.get("head_refit") or {}
    kept = [
        f"{name} {entry['before']} -> {entry['after']}"
        for name, entry in refit.items()
        if entry["kept"]
    ]
    refit_text = (
        "\nHeads refitted on the frozen encoder (class-balanced logistic regression, kept where "
        f"the validation score rose and no corpus lost more than 0.02): {'; '.join(kept) or 'none'}."
        if refit
        else ""
    )
    return (
        f"\nTraining history: {rows}. Best epoch {history['best_epoch']}"
        f"{' (stopped early)' if history['stopped_early'] else ''}.{refit_text}\n"
    )


def _kind_text(metadata: dict) -> str:
    kinds = metadata.get("session_estimator", {}).get("kind_models")
    if not kinds:
        return "none recorded"
    parts = []
    for kind, targets in kinds.items():
        own = [f"{t} ({f})" for t, f in targets.items() if f]
        parts.append(f"{kind}: {', '.join(own) if own else 'the shared model'}")
    return "; ".join(parts)


def write_model_card(folder: Path, metadata: dict) -> Path:
    """Write the model card; every figure comes from the validation split in ``metadata``."""
    training = metadata["training"]
    sessions = (
        f"{training['train_sessions']} train sessions (of them "
        f"{training.get('train_note_sessions', 0)} labeled note sessions of the dev clients) and "
        f"{training['validation_sessions']} validation conversations"
        if "train_sessions" in training
        else "the session estimator of the model it was trained beside"
    )
    text = f"""# Model card: alliance `{metadata["version"]}`

Kind: {metadata["kind"]} · created {metadata["created"]} · git {metadata["git_sha"][:12]}

Encoder: {metadata["encoder"]["name"]} (sha256 `{metadata["encoder"]["sha256"]}`);
{_architecture(metadata)}. Session estimator: ridge regression per
target on pooled passage signals and vectors, sources weighted equally, with MAPIE
split-conformal 80% intervals; each kind of text (note, therapy transcript, peer-support chat)
with enough ratings of a target has a model of its own, with its features (with or without
the text model's scores, appended or stacked; without them, the named signals alone or with the
pooled vectors) chosen by cross-validation: {_kind_text(metadata)}.

## Intended use
Research and clinical *supervision support*: point supervisors at sessions where the working
alliance (goals, tasks, bond) may be strained, with the passages behind each flag. Inputs are
de-identified psychotherapy notes and transcripts in English.

## Out of scope
Grading, ranking or evaluating clinicians; any decision about a client's care, eligibility or
risk; crisis or suicide-risk detection; identified (non-de-identified) records; languages other
than English; commercial use (see licenses).

## Training data and licenses
{LICENSES}

Splits are made by conversation / transcript / seeker post / note (`split_of`, a stable hash:
70% train, 15% validation, 15% test); AnnoMI transcripts are split the same way within each MI
quality (`stratified_splits`), so both held-out splits hold low-quality transcripts. Passages per split and source: {training.get("passages", "")}.
Session estimator: {sessions}. The test split is never used in training or model selection.
The text model (`session_text_model.skops`) holds word and word-pair vocabularies (up to
5,000 per kind of text and view) read off ESConv supporter and seeker turns, AnnoMI therapist
and client turns and the synthetic labeled note sessions, with their weights: corpus-derived, under the same licenses.
Label mapping and its weaknesses: `configs/labels.yaml`; note labeling guidelines:
`docs/labeling.md`.
{_history(training)}
## Metrics (validation split, never trained on)
### Passage heads (macro-F1), with a TF-IDF + logistic regression baseline on the same rows
"all" pools the sources; read the per-source rows, since sources differ in base rates.

{_passage_table(metadata["metrics"])}
{_added_heads(metadata)}
### Session estimates
{_session_table(metadata["metrics"])}

## Limitations
- No public corpus labels the alliance in *notes*; the task/bond/goal heads learn from proxy
  labels in dialogue corpora plus a small hand-written synthetic note set (one annotator).
- Several dialogue labels are positive-only within a source (e.g. bond in ESConv), so a head
  can partly learn the source instead of the label; per-source figures show where.
  {_sources_text(training)}
- Session targets are proxies: ESConv seeker ratings (empathy, relevance) of peer-support chats,
  AnnoMI's high/low MI quality, and the ratings the writers of the synthetic labeled note
  sessions gave as the client would, not client-rated WAI-SR scores of real clients. Estimates
  on real notes are therefore uncalibrated to any clinical population; a clinic should refit
  the session estimator on its own client-rated scores (`alliance train-sessions --labels`).
- Intervals are calibrated per kind of text on those sessions; their coverage on a clinic's
  own notes is unknown until it refits on its ratings.
- The encoder is small (22M parameters, trained on a CPU budget): the empathy and strategy
  heads stay below published models trained per task on larger encoders.

## Ethical considerations
Notes are sensitive health information: run only on de-identified text, keep outputs inside the
clinic, and never use estimates to judge a clinician. Model errors can mislead supervision; the
report shows evidence passages so a person can check every flag.

Training wall time: {training["wall_time_s"]} s on {training["machine"]}.
"""
    if metadata.get("finetune_baseline"):  # kept by refits that keep the passage model
        text = text.rstrip("\n") + finetune_section(metadata["finetune_baseline"])
    path = folder / "MODEL_CARD.md"
    path.write_text(text, encoding="utf-8")
    return path


FINETUNE_HEADING = "## Beside the plain fine-tune (`benchmarks/finetune_baseline.py`)"


def finetune_section(results: dict) -> str:
    """The model card section comparing the model with the plain fine-tune and TF-IDF."""
    recipe = results.get("recipe", {})
    lines = [
        f"\n\n{FINETUNE_HEADING}\n",
        "One all-layer fine-tune of the same encoder per head and corpus "
        f"(`AutoModelForSequenceClassification`, AdamW lr {recipe.get('lr')}, "
        f"{recipe.get('epochs')} epochs, {recipe.get('input', 'passage text alone')}), and a "
        "TF-IDF + logistic regression per head and corpus, each trained on that corpus's train "
        f"split; all scored on the same held-out rows ({results.get('held_out', '')}). Macro-F1 "
        "with 95% intervals that resample whole conversations, posts or notes.\n",
        "| corpus: head | train / held out | this model | plain fine-tune | TF-IDF |",
        "|---|---|---|---|---|",
    ]

    from pipeline.training.evaluate import f1_text

    for name, task in results["tasks"].items():
        lines.append(
            f"| {name} | {task['n_train']} / {task['n_held_out']} | {f1_text(task.get('shipped'))}"
            f" | {f1_text(task['plain_finetune'])} | {f1_text(task['tfidf'])} |"
        )
    means = results.get("mean_macro_f1", {})
    if means:
        lines.append(
            f"| mean | | {means.get('shipped', '–')} | {means.get('plain_finetune', '–')} "
            f"| {means.get('tfidf', '–')} |"
        )
    return "\n".join(lines) + "\n"


def attach_finetune_baseline(folder: Path, results: dict) -> None:
    """Record the plain fine-tune comparison in a model folder's manifest and model card (a
    section of its own, replaced when it is there already); the artifacts stay as they are.

    Raises:
        ValueError: ``results`` scored another model version than the folder's.
    """
    from pipeline.model.artifacts import verify_folder, write_manifest

    manifest = verify_folder(folder)
    scored = results.get("model_version")
    if scored and scored != manifest.get("version"):
        raise ValueError(f"the results scored {scored}, not {manifest.get('version')}")
    card = folder / "MODEL_CARD.md"
    text = card.read_text(encoding="utf-8") if card.exists() else ""
    if FINETUNE_HEADING in text:  # drop the earlier section, keep any section after it
        start = text.index(FINETUNE_HEADING)
        after = text.find("\n## ", start + len(FINETUNE_HEADING))
        rest = text[after:] if after != -1 else ""
        text = text[:start].rstrip("\n") + rest
    card.write_text(text.rstrip("\n") + finetune_section(results), encoding="utf-8")
    metadata = {key: value for key, value in manifest.items() if key != "files"}
    metadata["finetune_baseline"] = {
        key: results[key]
        for key in ("recipe", "held_out", "tasks", "mean_macro_f1")
        if key in results
    }
    write_manifest(folder, metadata)
