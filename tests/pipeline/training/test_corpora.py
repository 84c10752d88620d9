"""Tests for the corpus readers, on tiny invented samples written to tmp_path.

The samples mimic each corpus's file format only; their texts are made up. One slow test reads
the real corpora from ../shared/data when that folder exists.
"""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from pipeline.model.heads import HEAD_BY_NAME
from pipeline.training.corpora import (
    DEFAULT_CORPORA,
    READERS,
    check_labels,
    read_annomi,
    read_corpora,
    read_counsel_chat,
    read_epitome,
    read_esconv,
    read_mi_boost,
    read_note_passages,
    read_session_targets,
    split_sentences,
    subsample_groups,
)
from pipeline.training.labels import class_index, load_labels
from pipeline.training.records import LabeledPassage, split_for, split_of

REAL_DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"


@pytest.fixture(scope="module")
def labels():
    return load_labels()


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


# --------------------------------------------------------------------------- tiny corpora

EPITOME_HEADER = ["sp_id", "rp_id", "seeker_post", "response_post", "level", "rationales"]


def _write_epitome(folder: Path) -> None:
    seeker = "I failed my exam and feel useless."
    reply = "That sounds so painful. What happened?"
    _write_csv(
        folder / "emotional-reactions-reddit.csv",
        EPITOME_HEADER,
        [
            ["s1", "r1", seeker, f"  {reply} ", 2, "sounds so painful"],
            ["s1", "r2", seeker, "Exams are hard.", 0, ""],
            ["s2", "r3", "Nobody calls me.", "Call them first.", 0, ""],
            ["s3", "r4", "Bad day.", "Sorry, me too.", 1, ""],
            ["s3", "r5", "Bad day.", "   ", 0, ""],
        ],
    )
    _write_csv(
        folder / "interpretations-reddit.csv",
        EPITOME_HEADER,
        [
            ["s1", "r1", seeker, reply, 1, ""],
            ["s1", "r2", seeker, "Exams are hard.", 0, ""],
            ["s2", "r3", "Nobody calls me.", "Call them first.", 0, ""],
            ["s3", "r4", "Bad day.", "Sorry, me too.", 2, ""],
            ["s3", "r4", "Bad day.", "Sorry, me too.", 1, ""],
        ],
    )
    _write_csv(
        folder / "explorations-reddit.csv",
        EPITOME_HEADER,
        [
            ["s1", "r1", seeker, reply, 2, "What happened?"],
            ["s1", "r2", seeker, "Exams are hard.", 0, ""],
            ["s3", "r4", "Bad day.", "Sorry, me too.", 0, ""],
        ],
    )


ANNOMI_SIMPLE_HEADER = [
    "transcript_id",
    "mi_quality",
    "video_title",
    "video_url",
    "topic",
    "utterance_id",
    "interlocutor",
    "timestamp",
    "utterance_text",
    "main_therapist_behaviour",
    "client_talk_type",
]
ANNOMI_FULL_HEADER = [
    *ANNOMI_SIMPLE_HEADER[:-2],
    "annotator_id",
    "therapist_input_exists",
    "therapist_input_subtype",
    "reflection_exists",
    "reflection_subtype",
    "question_exists",
    "question_subtype",
    "main_therapist_behaviour",
    "client_talk_type",
]
NA = "n/a"


def _annomi_full_row(tid, quality, uid, who, text, annotator, coding):
    # coding: (input_exists, input_subtype, refl_exists, refl_subtype, q_exists, q_subtype,
    #          main_behaviour, client_talk)
    return [tid, quality, "t", "u", "alcohol", uid, who, "00:00", text, annotator, *coding]


THERAPIST_NONE = ("False", NA, "False", NA, "False", NA)


def _client(talk: str) -> tuple[str, ...]:
    return (NA,) * 7 + (talk,)


def _write_annomi(folder: Path, full: bool = True) -> None:
    rows = [
        # transcript 7, two annotators: the lowest id (1) is used.
        _annomi_full_row(7, "high", 0, "therapist", "How are things?", 3,
                         ("False", NA, "False", NA, "True", "closed", "question", NA)),
        _annomi_full_row(7, "high", 1, "client", "I want to stop drinking.", 3,
                         _client("neutral")),
        _annomi_full_row(7, "high", 1, "client", "I want to stop drinking.", 1,
                         _client("change")),
        _annomi_full_row(7, "high", 0, "therapist", "How are things?", 1,
                         ("False", NA, "False", NA, "True", "open", "question", NA)),
        _annomi_full_row(7, "high", 2, "therapist", "  You feel ready for a change. ", 1,
                         ("False", NA, "True", "complex", "False", NA, "reflection", NA)),
        _annomi_full_row(7, "high", 3, "client", "Drinking helps me relax though.", 1,
                         _client("sustain")),
        _annomi_full_row(7, "high", 4, "therapist", "Cutting down lowers blood pressure.", 1,
                         ("True", "information", *THERAPIST_NONE[2:], "therapist_input", NA)),
        _annomi_full_row(12, "low", 0, "therapist", "Shall we agree on a target?", 0,
                         ("True", "negotiation", "False", NA, "True", "closed",
                          "therapist_input", NA)),
        _annomi_full_row(12, "low", 1, "client", "", 0, _client("neutral")),
        _annomi_full_row(12, "low", 2, "therapist", "Hello.", 0, (*THERAPIST_NONE, "other", NA)),
    ]  # fmt: skip
    if full:
        _write_csv(folder / "AnnoMI-full.csv", ANNOMI_FULL_HEADER, rows)
    else:
        simple = [row[:9] + row[-2:] for row in rows if row[9] in (0, 1)]
        _write_csv(folder / "AnnoMI-simple.csv", ANNOMI_SIMPLE_HEADER, simple)


def _write_esconv(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    survey = {"initial_emotion_intensity": "4", "empathy": "5", "relevance": "4",
              "final_emotion_intensity": "2"}  # fmt: skip
    train = [
        {
            "situation": "s",
            "survey_score": {"seeker": survey, "supporter": {}},
            "dialog": [
                {"text": "I lost my job.", "speaker": "usr"},
                {"text": "That must feel scary.", "speaker": "sys",
                 "strategy": "Reflection of feelings"},
                {"text": "Have you tried the job centre?", "speaker": "sys",
                 "strategy": "Providing Suggestions"},
            ],
        },
        {
            "survey_score": {"seeker": {"empathy": "3", "relevance": "2"}},
            "dialog": [
                {"text": "Hi.", "speaker": "usr"},
                {"text": "How can I help?", "speaker": "sys", "strategy": "Question"},
            ],
        },
    ]  # fmt: skip
    lines = [json.dumps(train[0]), json.dumps(json.dumps(train[1])), ""]
    (folder / "hf_train.jsonl").write_text("\n".join(lines), encoding="utf-8")
    valid = {
        "survey_score": {"seeker": {"initial_emotion_intensity": "3"}},
        "dialog": [
            {"text": "I can't sleep.", "speaker": "usr"},
            {"text": "   ", "speaker": "sys", "strategy": "Others"},
            {"text": "I had that too.", "speaker": "sys", "strategy": "Self-disclosure"},
        ],
    }
    (folder / "hf_valid.jsonl").write_text(json.dumps(valid) + "\n", encoding="utf-8")
    failed = [
        {
            "survey_score": {"seeker": {"empathy": "1", "relevance": "2",
                                        "initial_emotion_intensity": "5",
                                        "final_emotion_intensity": "5"}, "supporter": {}},
            "dialog": [
                {"speaker": "speaker", "annotation": {}, "content": "I feel low.\n"},
                {"speaker": "listener", "annotation": {"strategy": "Questions"},
                 "content": "Why?"},
                {"speaker": "listener", "annotation": {"strategy": "Direct Guidance"},
                 "content": "Go for a walk."},
                {"speaker": "speaker", "annotation": {"feedback": "1"}, "content": "Hmm.\n"},
                {"speaker": "listener", "annotation": {"strategy": "Other"}, "content": "OK."},
                {"speaker": "speaker", "annotation": {"feedback": "5"}, "content": "Thanks.\n"},
                {"speaker": "listener", "annotation": {"strategy": "Other"}, "content": "Bye."},
            ],
        },
        {"survey_score": {"seeker": {"initial_emotion_intensity": "5"}},
         "dialog": [{"speaker": "speaker", "annotation": {}, "content": "Hello?"}]},
    ]  # fmt: skip
    (folder / "FailedESConv.json").write_text(json.dumps(failed), encoding="utf-8")


MI_BOOST_HEADER = [
    "dialog_id", "title", "turn_count", "turn", "author", "text", "N-gram labels",
    "Cosine label", "All labels", "Intersection", "Union (without disambiguities)",
]  # fmt: skip
QUESTION_TITLE = "How do I stop worrying?"
QUESTION_TEXT = "I worry all day about everything."


def _write_mi_boost(folder: Path) -> None:
    dialog = "counsel_chat | 5"
    rows = [
        [dialog, QUESTION_TITLE, 2, 1, "speaker", QUESTION_TEXT, "", "", "", "", ""],
        [dialog, QUESTION_TITLE, 2, 2, "listener", "Worry is exhausting.", "", "", "", "",
         "Support"],
        [dialog, QUESTION_TITLE, 2, 2, "listener", "Try writing worries down.", "", "", "", "",
         "Give Information"],
        [dialog, QUESTION_TITLE, 2, 2, "listener", "What do you worry about most?", "", "", "",
         "", "Open Question"],
        [dialog, QUESTION_TITLE, 2, 2, "listener", "You must stop now.", "", "", "", "", "Warn"],
        [dialog, QUESTION_TITLE, 2, 2, "listener", "Some plain sentence.", "", "", "", "", ""],
        [dialog, QUESTION_TITLE, 2, 2, "listener", "Mystery sentence.", "", "", "", "",
         "Unknown Code"],
        ["counsel_chat | 9", "Other question?", 2, 1, "speaker", "Is this normal?", "", "", "",
         "", ""],
        ["counsel_chat | 9", "Other question?", 2, 2, "listener", "Did it start recently?", "",
         "", "", "", "Closed Question"],
    ]  # fmt: skip
    _write_csv(folder / "CC_Augmented.csv", MI_BOOST_HEADER, rows)


COUNSEL_HEADER = [
    "", "questionID", "questionTitle", "questionText", "questionLink", "topic",
    "therapistInfo", "therapistURL", "answerText", "upvotes", "views", "split",
]  # fmt: skip


def _write_counsel_chat(folder: Path) -> None:
    rows = [
        [0, 3, QUESTION_TITLE, QUESTION_TEXT, "l", "anxiety", "T", "u",
         "Worry is exhausting.Try writing worries down! What helps?\n  Best wishes.", 1, 5,
         "train"],
        [1, 3, QUESTION_TITLE, QUESTION_TEXT, "l", "anxiety", "T", "u", "Talk to someone.", 0,
         2, "train"],
    ]  # fmt: skip
    _write_csv(folder / "20200325_counsel_chat.csv", COUNSEL_HEADER, rows)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    _write_epitome(root / "epitome")
    _write_annomi(root / "annomi")
    _write_esconv(root / "esconv")
    _write_mi_boost(root / "mi_boost")
    _write_counsel_chat(root / "counsel_chat")
    return root


def _by_text(passages: list[LabeledPassage]) -> dict[str, LabeledPassage]:
    return {passage.text: passage for passage in passages}


# --------------------------------------------------------------------------- EPITOME


def test_corpora_epitome_joins_three_files(data_dir, labels):
    passages = read_epitome(data_dir / "epitome", labels)
    assert len(passages) == 4  # r1, r2, r3, r4; r5 is blank
    first = _by_text(passages)["That sounds so painful. What happened?"]
    assert first.labels == {
        "emotional_reaction": 2,
        "interpretation": 1,
        "exploration": 2,
        "bond": 1,
    }
    assert first.context == "I failed my exam and feel useless."
    assert first.group == "epitome-s1"
    assert first.speaker == "clinician" and first.source == "epitome"


def test_corpora_epitome_masks_missing_and_disagreeing_levels(data_dir, labels):
    passages = _by_text(read_epitome(data_dir / "epitome", labels))
    # r3 is missing from the explorations file.
    assert passages["Call them first."].labels == {"emotional_reaction": 0, "interpretation": 0}
    # r4's duplicate interpretation rows disagree (2 vs 1): masked, the others kept.
    assert passages["Sorry, me too."].labels == {"emotional_reaction": 1, "exploration": 0}
    # All three levels 0: bond absent.
    assert passages["Exams are hard."].labels["bond"] == 0


def test_corpora_epitome_missing_file_names_it(data_dir, labels):
    (data_dir / "epitome" / "explorations-reddit.csv").unlink()
    with pytest.raises(FileNotFoundError, match="explorations-reddit.csv"):
        read_epitome(data_dir / "epitome", labels)


# --------------------------------------------------------------------------- AnnoMI


def test_corpora_annomi_takes_lowest_annotator_and_maps_subtypes(data_dir, labels):
    passages = read_annomi(data_dir / "annomi", labels)
    texts = _by_text(passages)
    assert [p.text for p in passages if p.group == "annomi-7"] == [
        "How are things?",
        "I want to stop drinking.",
        "You feel ready for a change.",
        "Drinking helps me relax though.",
        "Cutting down lowers blood pressure.",
    ]
    question = texts["How are things?"].labels
    assert question == {
        "mi_behaviour": class_index("mi_behaviour", "question"),
        "exploration": 2,  # annotator 1 says open; annotator 3 (closed) is ignored
        "interpretation": 0,
        "task": 0,
        "style": class_index("style", "exploratory"),  # a question follows the client's lead
    }
    reflection = texts["You feel ready for a change."]
    assert reflection.labels["interpretation"] == 2 and reflection.labels["exploration"] == 0
    assert reflection.context == "I want to stop drinking."
    assert "emotional_reaction" not in reflection.labels  # AnnoMI says nothing about it
    change = texts["I want to stop drinking."]
    assert change.speaker == "client"
    assert change.labels == {"client_talk": 0, "goal": 1, "strain": 0}
    assert texts["Drinking helps me relax though."].labels["strain"] == 1
    assert texts["Cutting down lowers blood pressure."].labels["task"] == 1


def test_corpora_annomi_negotiation_is_goal_and_masks_task(data_dir, labels):
    texts = _by_text(read_annomi(data_dir / "annomi", labels))
    negotiation = texts["Shall we agree on a target?"]
    assert negotiation.labels["goal"] == 1
    assert "task" not in negotiation.labels
    assert negotiation.labels["exploration"] == 1
    # The empty client utterance is skipped and does not become context.
    assert texts["Hello."].context == "Shall we agree on a target?"


def test_corpora_annomi_simple_file_gives_main_labels_only(tmp_path, labels):
    _write_annomi(tmp_path / "annomi", full=False)
    texts = _by_text(read_annomi(tmp_path / "annomi", labels))
    assert texts["You feel ready for a change."].labels == {
        "mi_behaviour": class_index("mi_behaviour", "reflection"),
        "style": class_index("style", "exploratory"),
    }
    assert texts["I want to stop drinking."].labels["client_talk"] in (0, 1)


# --------------------------------------------------------------------------- ESConv


def test_corpora_esconv_reads_all_files_and_normalises_strategies(data_dir, labels):
    passages = read_esconv(data_dir / "esconv", labels)
    assert all(p.speaker == "clinician" for p in passages)  # seeker turns carry no labels
    texts = _by_text(passages)
    strategy = HEAD_BY_NAME["support_strategy"].classes
    assert strategy[texts["Why?"].labels["support_strategy"]] == "Question"
    assert strategy[texts["OK."].labels["support_strategy"]] == "Others"
    assert strategy[texts["Go for a walk."].labels["support_strategy"]] == "Providing Suggestions"
    feelings = texts["That must feel scary."]
    assert feelings.labels["interpretation"] == 2 and feelings.labels["task"] == 0
    assert feelings.context == "I lost my job."
    assert texts["How can I help?"].labels["exploration"] == 1  # line holding a JSON string
    assert texts["I had that too."].labels["bond"] == 1
    assert texts["I had that too."].context == "I can't sleep."  # blank turn skipped
    assert len(passages) == 8


def test_corpora_esconv_feedback_marks_strain(data_dir, labels):
    texts = _by_text(read_esconv(data_dir / "esconv", labels))
    assert texts["Why?"].labels["strain"] == 1  # both turns before feedback 1
    assert texts["Go for a walk."].labels["strain"] == 1
    assert texts["OK."].labels["strain"] == 0  # before feedback 5
    assert "strain" not in texts["Bye."].labels  # no feedback after it
    assert "strain" not in texts["That must feel scary."].labels  # hf files have no feedback


def test_corpora_esconv_groups_stable_and_distinct(data_dir, labels):
    first = read_esconv(data_dir / "esconv", labels)
    again = read_esconv(data_dir / "esconv", labels)
    assert [p.group for p in first] == [p.group for p in again]
    groups = {p.group for p in first}
    assert len(groups) == 4  # two train, one valid, one failed conversation with labels
    assert all(group.startswith("esconv-") for group in groups)


# --------------------------------------------------------------------------- MI-Boost, CounselChat


def test_corpora_mi_boost_maps_silver_codes_with_question_context(data_dir, labels):
    passages = read_mi_boost(data_dir / "mi_boost", labels)
    texts = _by_text(passages)
    assert set(texts) == {
        "Worry is exhausting.",
        "Try writing worries down.",
        "What do you worry about most?",
        "You must stop now.",
        "Did it start recently?",
    }  # uncoded and unmapped codes are skipped
    assert texts["Worry is exhausting."].labels["bond"] == 1
    assert texts["Worry is exhausting."].labels["emotional_reaction"] == 1
    assert texts["Try writing worries down."].labels["task"] == 1
    assert texts["What do you worry about most?"].labels["exploration"] == 2
    assert texts["Did it start recently?"].labels["exploration"] == 1
    assert texts["You must stop now."].labels["strain"] == 1
    assert texts["Worry is exhausting."].context == QUESTION_TEXT
    assert texts["Did it start recently?"].context == "Is this normal?"


def test_corpora_counsel_chat_unlabeled_sentences_share_groups_with_mi_boost(data_dir, labels):
    passages = read_counsel_chat(data_dir / "counsel_chat", labels)
    assert [p.text for p in passages] == [
        "Worry is exhausting.",
        "Try writing worries down!",
        "What helps?",
        "Best wishes.",
        "Talk to someone.",
    ]
    assert all(p.labels == {} and p.context == QUESTION_TEXT for p in passages)
    mi_groups = {p.group for p in read_mi_boost(data_dir / "mi_boost", labels)}
    assert {p.group for p in passages} < mi_groups


def test_corpora_split_sentences_handles_scraped_text():
    assert split_sentences('One.Two? \n three. Dr. Who said "go." Then\n\nFour') == [
        "One.",
        "Two? three.",
        'Dr. Who said "go."',
        "Then",
        "Four",
    ]


# --------------------------------------------------------------------------- notes


def _write_notes(path: Path, lines: list[dict | str]) -> Path:
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def test_corpora_note_passages_mask_absent_and_null_labels(tmp_path, labels):
    path = _write_notes(
        tmp_path / "notes.jsonl",
        [
            {"note_id": "n-001", "note_type": "DAP", "section": "assessment",
             "text": " Client and clinician agreed on weekly goals. ", "context": "",
             "labels": {"goal": 1, "task": 1, "bond": None}},
            "",
            {"note_id": "n-001", "note_type": "DAP", "section": "plan", "text": "   ",
             "context": "x", "labels": {"task": 0}},
            {"note_id": "n-002", "note_type": "SOAP", "section": "subjective",
             "text": "Client said therapy is pointless.", "context": "Session 4.",
             "labels": {"strain": 1, "interpretation": 0}},
        ],
    )  # fmt: skip
    passages = read_note_passages(path, labels)
    assert [p.group for p in passages] == ["n-001", "n-002"]
    assert passages[0].text == "Client and clinician agreed on weekly goals."
    assert passages[0].labels == {"goal": 1, "task": 1}
    assert passages[1].labels == {"strain": 1, "interpretation": 0}
    assert all(p.source == "notes" and p.speaker == "clinician" for p in passages)


@pytest.mark.parametrize(
    ("labels_field", "message"),
    [
        ({"goal": 2}, "outside 0..1"),
        ({"exploration": 3}, "outside 0..2"),
        ({"alliance": 1}, "unknown head"),
        ({"client_talk": 0}, "does not apply"),
        ({"task": True}, "labels.task"),
        ({"task": "1"}, "labels.task"),
    ],
)
def test_corpora_note_passages_reject_bad_labels(tmp_path, labels, labels_field, message):
    line = {"note_id": "n-9", "text": "Some text.", "labels": labels_field}
    path = _write_notes(tmp_path / "notes.jsonl", [line])
    with pytest.raises(ValueError, match=message) as error:
        read_note_passages(path, labels)
    assert "notes.jsonl:1" in str(error.value)


def test_corpora_note_passages_reject_unknown_key(tmp_path, labels):
    path = _write_notes(tmp_path / "n.jsonl", [{"note_id": "n", "text": "t", "speaker": "x"}])
    with pytest.raises(ValueError, match="speaker"):
        read_note_passages(path, labels)


# --------------------------------------------------------------------------- sessions


def test_corpora_session_targets(data_dir, labels):
    sessions = read_session_targets(data_dir, labels)
    by_source = defaultdict(list)
    for session in sessions:
        by_source[session.source].append(session)
    # ESConv: two train + one failed conversation have ratings; valid and failed #2 do not.
    assert sorted(s.targets["bond"] for s in by_source["esconv"]) == [1.0, 3.0, 5.0]
    rated = next(s for s in by_source["esconv"] if s.targets["bond"] == 5.0)
    assert rated.targets == {"bond": 5.0, "task": 4.0, "goal": 4.0, "overall": 4.5}
    assert rated.turns[0] == ("client", "I lost my job.")
    assert rated.turns[1][0] == "clinician"
    annomi = {s.group: s.targets for s in by_source["annomi"]}
    assert annomi == {"annomi-7": {"overall": 4.0}, "annomi-12": {"overall": 2.0}}
    passage_groups = {p.group for p in read_esconv(data_dir / "esconv", labels)}
    assert {s.group for s in by_source["esconv"]} <= passage_groups


# --------------------------------------------------------------------------- dispatch


def test_corpora_missing_folder_error_names_path_and_flag(tmp_path, labels):
    with pytest.raises(FileNotFoundError) as error:
        read_corpora(tmp_path, ["epitome"], labels)
    message = str(error.value)
    assert str(tmp_path / "epitome") in message
    assert "--data ../shared/data" in message


def test_corpora_unknown_name_is_an_error(data_dir, labels):
    with pytest.raises(ValueError, match="unknown corpus"):
        read_corpora(data_dir, ["talklife"], labels)


def test_corpora_read_corpora_defaults_to_labeled_corpora(data_dir, labels):
    passages = read_corpora(data_dir, labels=labels)
    assert {p.source for p in passages} == set(DEFAULT_CORPORA)
    assert "counsel_chat" not in DEFAULT_CORPORA


def test_corpora_every_reader_gives_labels_within_head_ranges(data_dir, labels):
    for name, reader in READERS.items():
        for passage in reader(data_dir / name, labels):
            assert passage.text == passage.text.strip() and passage.text
            assert check_labels(passage.labels, passage.speaker, name) == passage.labels


def test_corpora_check_labels_rejects_out_of_range():
    with pytest.raises(ValueError, match="outside"):
        check_labels({"support_strategy": 8}, "clinician", "here")


def _groups_fixture() -> list[LabeledPassage]:
    sizes = {"g1": 3, "g2": 5, "g3": 2, "g4": 4, "g5": 1, "g6": 7}
    return [
        LabeledPassage(f"{group}-{i}", "", "clinician", "x", group, {"task": 0})
        for group, size in sizes.items()
        for i in range(size)
    ]


@pytest.mark.parametrize("cap", [1, 6, 10, 30])
def test_corpora_max_per_source_keeps_whole_groups(cap):
    passages = _groups_fixture()
    sizes = Counter(p.group for p in passages)
    kept = subsample_groups(passages, cap, seed=3)
    assert len(kept) <= cap
    kept_sizes = Counter(p.group for p in kept)
    assert all(kept_sizes[group] == sizes[group] for group in kept_sizes)
    assert kept == subsample_groups(passages, cap, seed=3)  # deterministic
    assert kept == [p for p in passages if p.group in kept_sizes]  # order preserved


def test_corpora_max_per_source_through_read_corpora(data_dir, labels):
    full = read_corpora(data_dir, ["annomi"], labels)
    capped = read_corpora(data_dir, ["annomi"], labels, max_per_source=5, seed=1)
    assert 0 < len(capped) <= 5
    for group in {p.group for p in capped}:
        assert sum(p.group == group for p in capped) == sum(p.group == group for p in full)


def test_corpora_annomi_sessions_and_passages_share_the_stratified_split(data_dir, labels):
    sessions = {s.group: s.split for s in read_session_targets(data_dir, labels)}
    passages = read_annomi(data_dir / "annomi", labels)
    assert {p.group for p in passages} == {"annomi-7", "annomi-12"}
    for passage in passages:
        assert passage.split is not None and passage.split == sessions[passage.group]


def test_corpora_groups_never_straddle_splits(data_dir, labels):
    passages = read_corpora(data_dir, [*DEFAULT_CORPORA, "counsel_chat"], labels)
    splits = defaultdict(set)
    for passage in passages:
        splits[passage.group].add(split_for(passage))
    assert all(len(found) == 1 for found in splits.values())
    assert split_of("annomi-7") == split_of("annomi-7")


# --------------------------------------------------------------------------- real data


@pytest.mark.slow
def test_corpora_real_data_loads_and_is_consistent():
    if not REAL_DATA.is_dir():
        pytest.skip(f"no public corpora at {REAL_DATA}")
    labels = load_labels()
    passages = read_corpora(REAL_DATA, [*DEFAULT_CORPORA, "counsel_chat"], labels)
    counts = Counter(p.source for p in passages)
    assert counts["epitome"] > 2000 and counts["annomi"] > 6000
    assert counts["esconv"] > 15000 and counts["mi_boost"] > 2500
    assert counts["counsel_chat"] > 10000
    for passage in passages:
        check_labels(passage.labels, passage.speaker, passage.source)
    sessions = read_session_targets(REAL_DATA, labels)
    assert sum(s.source == "esconv" for s in sessions) > 1000
    assert sum(s.source == "annomi" for s in sessions) == 85


def test_corpora_note_passages_keep_a_given_speaker_and_split(tmp_path, labels):
    from pipeline.training.records import split_for

    path = _write_notes(
        tmp_path / "notes.jsonl",
        [
            {"note_id": "nc-1", "text": "Client: this is pointless.", "speaker": "client",
             "split": "test", "labels": {"strain": 1}},
            {"note_id": "nc-1", "text": "Clinician set the agenda.", "labels": {"strain": 0}},
        ],
    )  # fmt: skip
    first, second = read_note_passages(path, labels)
    assert (first.speaker, first.split, split_for(first)) == ("client", "test", "test")
    assert (second.speaker, second.split) == ("clinician", None)
