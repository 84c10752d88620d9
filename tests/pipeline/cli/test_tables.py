"""The session-estimate table of `alliance evaluate --sessions`: model beside the baseline."""

from rich.console import Console

from pipeline.cli.tables import sessions_table


def test_tables_sessions_table_puts_the_baseline_beside_the_model():
    metrics = {
        "model": {
            "overall/annomi": {
                "n": 14, "spearman": 0.15, "spearman_95": [-0.6, 0.79], "auc": 0.61,
                "auc_ci95": [0.0, 1.0], "n_low": 3, "mae": 0.52, "coverage_80": 0.93,
            },
            "bond/note_sessions": {
                "n": 64, "spearman": 0.62, "spearman_95": [0.46, 0.74], "mae": 0.56,
                "coverage_80": 0.98,
            },
        },
        "tfidf_ridge": {
            "overall/annomi": {
                "n": 14, "spearman": 0.63, "spearman_95": [0.31, 0.84], "auc": 0.94,
                "auc_ci95": [0.76, 1.0], "n_low": 3, "mae": 0.4, "coverage_80": 1.0,
            },
        },
    }  # fmt: skip
    console = Console(width=250, record=True)
    console.print(sessions_table(metrics, ("test",)))
    text = console.export_text()
    annomi = next(line for line in text.splitlines() if "overall/annomi" in line)
    assert "0.15 [-0.6, 0.79]" in annomi and "0.63 [0.31, 0.84]" in annomi
    assert "0.61 [0.0, 1.0], 3 low" in annomi and "0.94 [0.76, 1.0], 3 low" in annomi
    notes = next(line for line in text.splitlines() if "bond/note_sessions" in line)
    assert "0.62 [0.46, 0.74]" in notes and notes.count("–") == 3  # no baseline row, no AUC


def test_tables_passage_table_adds_the_plain_finetune_when_given():
    from pipeline.cli.tables import passage_table

    scored = {"macro_f1": 0.61, "macro_f1_95": [0.55, 0.67]}
    rows = [
        {"head": "exploration", "source": "epitome", "n": 300, "model": scored,
         "baseline": scored, "finetune": {"macro_f1": 0.72, "macro_f1_95": [0.66, 0.78]}},
        {"head": "exploration", "source": "all", "n": 900, "model": scored, "baseline": None,
         "finetune": None},
    ]  # fmt: skip
    console = Console(width=200, record=True)
    console.print(passage_table(rows, "heldout"))
    text = console.export_text()
    assert "plain fine-tune" in text and "0.720 [0.66, 0.78]" in text
    assert "0.610 [0.55, 0.67]" in text
    plain = Console(width=200, record=True)
    plain.print(passage_table([{**rows[1]}], "heldout"))
    assert "plain fine-tune" in plain.export_text()  # the key is there, though empty
    bare = Console(width=200, record=True)
    bare.print(passage_table([{k: v for k, v in rows[1].items() if k != "finetune"}], "t"))
    assert "plain fine-tune" not in bare.export_text()
