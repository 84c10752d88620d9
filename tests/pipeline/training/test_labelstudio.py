"""Label Studio round trip: store -> tasks + labeling config -> annotations -> labeled JSONL ->
a trained model.

The store is filled with the synthetic fixture notes (one session per ``note_id``, one passage
per fixture line), so simulated annotators can answer with the fixture's own labels.
"""

from __future__ import annotations

import datetime as dt
import json
import stat
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.model.heads import HEAD_BY_NAME, HEADS
from pipeline.schemas import Passage, Session, SessionEstimate, Turn
from pipeline.store.core import Store
from pipeline.training.corpora import read_labeled_jsonl
from pipeline.training.labelstudio import (
    CONFIG_FILE,
    NOTE_HEADS,
    TASKS_FILE,
    export_labelstudio,
    import_annotations,
    import_labelstudio,
    labeling_config,
)
from tests.pipeline.sessions.test_features import scores as make_scores

FIXTURES = Path(__file__).resolve().parents[3] / "data" / "fixtures"
NOTES = FIXTURES / "note_passages.jsonl"
VERSION = "m-test"


def _fixture_notes() -> dict[str, list[dict]]:
    notes: dict[str, list[dict]] = {}
    for line in NOTES.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        notes.setdefault(row["note_id"], []).append(row)
    return notes


def _estimate(session: Session, n_passages: int) -> SessionEstimate:
    values = {}
    for target in ("task", "bond", "goal", "overall"):
        values.update({target: 3.0, f"{target}_low": 2.0, f"{target}_high": 4.0})
    return SessionEstimate(
        session_id=session.session_id,
        client_id=session.client_id,
        clinician_id=session.clinician_id,
        session_date=session.session_date,
        n_passages=n_passages,
        model_version=VERSION,
        **values,
    )


def _commit(store: Store, session: Session, passages: list[Passage]) -> None:
    store.upsert_sessions([session], "test")
    pairs = [
        (p, make_scores(task=0.9 if "agreed" in p.text else 0.2, strain=0.3)) for p in passages
    ]
    committed = store.commit_session(
        session.content_hash(), pairs, np.ones(4), _estimate(session, len(passages)), {}, "r1"
    )
    assert committed


def _note_session(note_id: str, rows: list[dict], day: int) -> tuple[Session, list[Passage]]:
    passages, offset = [], 0
    for index, row in enumerate(rows):
        passages.append(
            Passage(
                session_id=note_id,
                passage_id=Passage.make_id(note_id, index),
                index=index,
                speaker="clinician",
                section=row["section"],
                start=offset,
                end=offset + len(row["text"]),
                negated=False,
                text=row["text"],
            )
        )
        offset += len(row["text"]) + 1
    session = Session(
        session_id=note_id,
        client_id=f"c-{note_id}",
        clinician_id="t-1",
        session_date=dt.date(2026, 1, 1) + dt.timedelta(days=day),
        note="\n".join(row["text"] for row in rows),
    )
    return session, passages


def _transcript_session() -> tuple[Session, list[Passage]]:
    turns = [
        Turn(speaker="clinician", text="What would you like to work on today?"),
        Turn(speaker="client", text="I want to sleep better before exams."),
    ]
    session = Session(
        session_id="t-001",
        client_id="c-t",
        clinician_id="t-1",
        session_date=dt.date(2026, 2, 1),
        turns=turns,
    )
    passages = [
        Passage(
            session_id="t-001",
            passage_id=Passage.make_id("t-001", i),
            index=i,
            speaker=turn.speaker,
            section="transcript",
            start=0,
            end=len(turn.text),
            negated=False,
            text=turn.text,
        )
        for i, turn in enumerate(turns)
    ]
    return session, passages


def _fill(path: Path, n_notes: int | None = None, transcript: bool = False) -> Store:
    store = Store(f"sqlite:///{path}")
    for day, (note_id, rows) in enumerate(list(_fixture_notes().items())[:n_notes]):
        _commit(store, *_note_session(note_id, rows, day))
    if transcript:
        _commit(store, *_transcript_session())
    return store


@pytest.fixture(scope="module")
def small_store(tmp_path_factory) -> Store:
    return _fill(tmp_path_factory.mktemp("ls") / "a.db", n_notes=3, transcript=True)


def _choices(labels: dict[str, str]) -> list[dict]:
    return [
        {"from_name": h, "to_name": "text", "type": "choices", "value": {"choices": [c]}}
        for h, c in labels.items()
    ]


def _annotation(labels: dict[str, str], user: int, cancelled: bool = False, id_: int = 0) -> dict:
    return {
        "id": id_ or user,
        "completed_by": user,
        "was_cancelled": cancelled,
        "result": _choices(labels),
    }


def _task(text="A passage.", speaker="clinician", passage_id="s-1:0000", annotations=()) -> dict:
    data = {"text": text, "context": "", "session_id": passage_id.split(":")[0]}
    data.update({"passage_id": passage_id, "speaker": speaker, "kind": "note"})
    return {"id": 1, "data": data, "annotations": list(annotations)}


def _fixture_answers(task: dict) -> dict[str, str]:
    """The fixture's labels of an exported passage, as class names (what an annotator clicks)."""
    data = task["data"]
    row = next(r for r in _fixture_notes()[data["session_id"]] if r["text"] == data["text"])
    return {
        head: HEAD_BY_NAME[head].classes[index]
        for head, index in row["labels"].items()
        if index is not None
    }


# --------------------------------------------------------------------------- export


def test_labelstudio_config_has_one_single_choice_per_head_with_our_classes():
    for heads in (NOTE_HEADS, [h.name for h in HEADS]):
        root = ET.fromstring(labeling_config(heads))
        assert root.tag == "View"
        assert [t.get("name") for t in root.iter("Text")] == ["where", "context", "text"]
        boxes = list(root.iter("Choices"))
        assert [b.get("name") for b in boxes] == list(heads)
        for box in boxes:
            assert box.get("toName") == "text" and box.get("choice") == "single-radio"
            values = tuple(c.get("value") for c in box.iter("Choice"))
            assert values == HEAD_BY_NAME[box.get("name")].classes
    level_hints = [
        c.get("hint") for c in ET.fromstring(labeling_config(["interpretation"])).iter("Choice")
    ]
    assert all(level_hints), "level classes carry their labels.yaml definitions as hints"
    with pytest.raises(ValueError, match="unknown head"):
        labeling_config(["rapport"])


def test_labelstudio_export_tasks_context_ids_and_predictions(small_store, tmp_path: Path):
    summary = export_labelstudio(small_store, tmp_path, with_predictions=True)
    tasks = json.loads((tmp_path / TASKS_FILE).read_text(encoding="utf-8"))
    n_note_passages = sum(len(rows) for rows in list(_fixture_notes().values())[:3])
    assert summary.tasks == len(tasks) == n_note_passages + 2
    assert summary.sessions == 4 and summary.predictions == len(tasks)
    assert stat.S_IMODE((tmp_path / TASKS_FILE).stat().st_mode) == 0o600
    ET.fromstring((tmp_path / CONFIG_FILE).read_text(encoding="utf-8"))
    first, second = tasks[0]["data"], tasks[1]["data"]
    assert first["context"] == "" and second["context"] == first["text"]
    assert {k: first[k] for k in ("session_id", "passage_id", "index", "speaker", "kind")} == {
        "session_id": "n-001",
        "passage_id": "n-001:0000",
        "index": 0,
        "speaker": "clinician",
        "kind": "note",
    }
    starts = [t["data"] for t in tasks if t["data"]["index"] == 0]
    assert all(d["context"] == "" for d in starts), "context never crosses sessions"
    for task in tasks:
        (prediction,) = task["predictions"]
        assert prediction["model_version"] == VERSION
        for result in prediction["result"]:
            head = HEAD_BY_NAME[result["from_name"]]
            assert result["value"]["choices"][0] in head.classes
            assert task["data"]["speaker"] in head.speakers
    client = next(t for t in tasks if t["data"]["speaker"] == "client")
    assert client["data"]["kind"] == "transcript"
    assert {r["from_name"] for r in client["predictions"][0]["result"]} == {
        "task",
        "bond",
        "goal",
        "strain",
    }
    agreed = next(t for t in tasks if "agreed" in t["data"]["text"])
    task_result = next(r for r in agreed["predictions"][0]["result"] if r["from_name"] == "task")
    assert task_result["value"]["choices"] == ["present"] and task_result["score"] == 0.9


def test_labelstudio_export_sessions_limit_and_seed(small_store, tmp_path: Path):
    summary = export_labelstudio(small_store, tmp_path / "a", session_ids=["n-002", "nope"])
    tasks = json.loads((tmp_path / "a" / TASKS_FILE).read_text())
    assert {t["data"]["session_id"] for t in tasks} == {"n-002"}
    assert summary.not_scored == 1 and summary.predictions == 0
    assert "predictions" not in tasks[0]

    def ids(folder: str, **options) -> list[str]:
        export_labelstudio(small_store, tmp_path / folder, limit=5, **options)
        return [
            t["data"]["passage_id"]
            for t in json.loads((tmp_path / folder / TASKS_FILE).read_text())
        ]

    head = ids("b")
    assert head == [f"n-001:{i:04d}" for i in range(5)]
    sampled = ids("c", seed=7)
    assert sampled == ids("d", seed=7) and sampled != head and len(sampled) == 5
    assert sampled == sorted(sampled, key=lambda p: (p.split(":")[0], p)), "kept in store order"


# --------------------------------------------------------------------------- import


def test_labelstudio_import_round_trips_through_read_labeled_jsonl(small_store, tmp_path: Path):
    export_labelstudio(small_store, tmp_path, session_ids=["n-001", "n-002"])
    tasks = json.loads((tmp_path / TASKS_FILE).read_text())
    for number, task in enumerate(tasks):
        task["id"] = number + 1
        task["annotations"] = [_annotation(_fixture_answers(task), user=1, id_=number + 1)]
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks))
    report = import_labelstudio(export, tmp_path / "labeled.jsonl")
    passages = read_labeled_jsonl(tmp_path / "labeled.jsonl")
    assert report.written == len(passages) == len(tasks) == report.annotated
    assert report.skipped == report.cancelled == 0
    for passage, task in zip(passages, tasks):
        assert passage.text == task["data"]["text"].strip()
        assert passage.context == task["data"]["context"].strip()
        assert passage.group == task["data"]["session_id"]
        assert passage.source == "notes" and passage.speaker == "clinician"
        expected = _fixture_answers(task)
        assert passage.labels == {h: HEAD_BY_NAME[h].classes.index(c) for h, c in expected.items()}
    assert sum(report.label_counts["task"].values()) == len(tasks)
    assert report.agreement == {}, "agreement needs two annotations of a passage"


def test_labelstudio_import_majority_ties_cancelled_and_blank_heads():
    tasks = [
        _task(
            passage_id="s-1:0000",
            annotations=[
                _annotation({"task": "present", "bond": "absent"}, user=1),
                _annotation({"task": "present", "bond": "present"}, user=2),
                _annotation({"task": "absent", "goal": "present"}, user=3),
                _annotation({"task": "absent", "bond": "absent"}, user=4, cancelled=True),
            ],
        ),
        _task(passage_id="s-1:0001", annotations=[_annotation({}, user=1)]),
        _task(passage_id="s-1:0002", annotations=[_annotation({"task": "absent"}, 1, True)]),
        _task(passage_id="s-1:0003"),
    ]
    passages, report = import_annotations([tasks])
    (passage,) = passages
    # task: 2 present vs 1 absent (the cancelled vote does not count); bond: 1-1 tie, dropped;
    # goal: one annotator, the others left it blank (no vote).
    assert passage.labels == {"task": 1, "goal": 1}
    assert report.ties == {"bond": 1}
    assert (report.tasks, report.passages, report.annotated) == (4, 4, 2)
    assert (report.skipped, report.cancelled, report.no_labels, report.written) == (2, 2, 1, 1)
    assert report.annotations == 4


def test_labelstudio_import_pools_exports_and_ignores_repeated_annotations():
    one = [_task(annotations=[_annotation({"task": "present"}, user=1)])]
    two = [_task(annotations=[_annotation({"task": "present"}, user=2)])]
    passages, report = import_annotations([one, two, one])  # the first file given twice
    assert report.passages == 1 and report.annotations == 2
    assert passages[0].labels == {"task": 1}
    assert report.agreement["task"] == {"items": 1, "pairs": 1, "percent": 100.0, "kappa": None}


def test_labelstudio_import_agreement_percent_and_kappa():
    answers = [
        ("present", "present"),
        ("absent", "absent"),
        ("present", "absent"),
        ("absent", "absent"),
    ]
    tasks = [
        _task(
            passage_id=f"s-1:{i:04d}",
            annotations=[
                _annotation({"strain": a}, user=1, id_=10 * i + 1),
                _annotation({"strain": b}, user=2, id_=10 * i + 2),
            ],
        )
        for i, (a, b) in enumerate(answers)
    ]
    _, report = import_annotations([tasks])
    from sklearn.metrics import cohen_kappa_score

    expected = cohen_kappa_score([a for a, _ in answers], [b for _, b in answers])
    agreement = report.agreement["strain"]
    assert agreement["items"] == 4 and agreement["pairs"] == 4 and agreement["percent"] == 75.0
    assert agreement["kappa"] == pytest.approx(expected, abs=1e-3)
    assert report.ties == {"strain": 1}


def test_labelstudio_import_unknown_choice_is_a_clear_error_without_text():
    tasks = [_task(text="CANARY note text", annotations=[_annotation({"bond": "yes"}, user=1)])]
    with pytest.raises(ValueError, match="head 'bond' has unknown choice 'yes'") as error:
        import_annotations([tasks])
    assert "CANARY" not in str(error.value) and "s-1:0000" in str(error.value)
    broken = [{"id": 5, "data": {"text": "CANARY"}, "annotations": []}]
    with pytest.raises(ValueError, match="task 5: data lacks") as error:
        import_annotations([broken])
    assert "CANARY" not in str(error.value)


def test_labelstudio_import_drops_heads_that_do_not_fit_the_speaker():
    labels = {"client_talk": "change", "interpretation": "2", "goal": "present"}
    extra = {"from_name": "comment", "type": "textarea", "value": {"text": ["x"]}}
    note = {"from_name": "unsure", "type": "choices", "value": {"choices": ["yes"]}}
    annotation = _annotation(labels, user=1)
    annotation["result"] += [extra, note]
    passages, report = import_annotations([[_task(speaker="client", annotations=[annotation])]])
    assert passages[0].labels == {"client_talk": 0, "goal": 1}
    assert report.not_applicable == {"interpretation": 1}
    assert report.ignored_controls == {"unsure": 1}


# --------------------------------------------------------------------------- CLI


def test_labelstudio_cli_export_and_import(small_store, tmp_path: Path):
    runner = CliRunner()
    for command in ("export-labelstudio", "import-labelstudio"):
        help_text = runner.invoke(app, ["data", command, "--help"]).output
        assert "Example" in help_text
    out = tmp_path / "ls"
    result = runner.invoke(
        app,
        ["data", "export-labelstudio", "--store", small_store.url, "--out", str(out)]
        + ["--sessions", "n-003", "--limit", "4", "--seed", "1", "--with-predictions"],
    )
    assert result.exit_code == 0, result.output
    tasks = json.loads((out / TASKS_FILE).read_text())
    assert len(tasks) == 4 and all(t["data"]["session_id"] == "n-003" for t in tasks)
    assert all(t["data"]["text"] not in result.output for t in tasks), "no note text on screen"
    for number, task in enumerate(tasks):
        task["id"] = number
        task["annotations"] = [_annotation(_fixture_answers(task), user=1, id_=number + 1)]
    (out / "export.json").write_text(json.dumps(tasks))
    labeled = tmp_path / "labeled.jsonl"
    result = runner.invoke(
        app, ["data", "import-labelstudio", str(out / "export.json"), "--out", str(labeled)]
    )
    assert result.exit_code == 0, result.output
    assert '"written": 4' in result.output and len(read_labeled_jsonl(labeled)) == 4
    tasks[0]["annotations"][0]["result"][0]["value"]["choices"] = ["maybe"]
    (out / "export.json").write_text(json.dumps(tasks))
    result = runner.invoke(
        app, ["data", "import-labelstudio", str(out / "export.json"), "--out", str(labeled)]
    )
    assert result.exit_code == 2 and "unknown choice 'maybe'" in result.output


# --------------------------------------------------------------------------- end to end


def test_labelstudio_imported_labels_train_a_model(tiny_config, tmp_path: Path):
    """Store -> export -> two simulated annotators -> import -> fine-tune (the function behind
    ``alliance train --notes FILE``) -> load the model -> predict."""
    from pipeline.config import load_train_config
    from pipeline.model.folder import KIND_TRANSFORMER
    from pipeline.sessions.alliance_model import AllianceModel
    from pipeline.training.records import split_of
    from pipeline.training.retrain import train_transformer

    store = _fill(tmp_path / "clinic.db")
    export_labelstudio(store, tmp_path / "ls", with_predictions=True)
    tasks = json.loads((tmp_path / "ls" / TASKS_FILE).read_text())
    for number, task in enumerate(tasks):
        task["id"] = number
        answers = _fixture_answers(task)
        task["annotations"] = [_annotation(answers, user=1, id_=2 * number + 1)]
        if number % 4 == 0:  # a second annotator on every fourth passage, agreeing
            task["annotations"].append(_annotation(answers, user=2, id_=2 * number + 2))
    (tmp_path / "export.json").write_text(json.dumps(tasks))
    labeled = tmp_path / "labeled.jsonl"
    report = import_labelstudio(tmp_path / "export.json", labeled)
    assert report.written == len(tasks) and report.agreement["bond"]["percent"] == 100.0
    groups = {p.group for p in read_labeled_jsonl(labeled)}
    assert {split_of(g) for g in groups} >= {"train", "validation"}

    training = load_train_config(
        overrides=["epochs=1", "batch_size=32", "max_length=32", "notes_repeat=1"]
        + ["lora_top_layers=null", "bf16=false", "threads=2"]
    )
    manifest = train_transformer(None, tmp_path / "model", tiny_config, training, notes=labeled)
    assert manifest["kind"] == KIND_TRANSFORMER
    assert manifest["training"]["passages"]["train"] == {
        "notes": manifest["training"]["train_passages"]
    }
    assert "notes" in manifest["metrics"]["passage_macro_f1"]["bond"]
    model = AllianceModel.load(tmp_path / "model", tiny_config.encoder)
    probabilities = model.scorer.predict_proba(["Client agreed to the plan."], [""])
    assert probabilities["task"].shape == (1, 2)
    assert np.allclose(probabilities["task"].sum(axis=1), 1.0)
