"""Rich tables of the researcher's commands (kept out of the command modules, which stay thin)."""

from __future__ import annotations


def _auc_text(entry: dict | None) -> str:
    if not entry or "auc" not in entry:
        return "–"
    low, high = entry["auc_ci95"]
    return f"{entry['auc']} [{low}, {high}], {entry['n_low']} low"


def _rho_text(entry: dict) -> str:
    if entry.get("spearman") is None:
        return "–"
    low, high = entry.get("spearman_95", (None, None))
    return f"{entry['spearman']} [{low}, {high}]"


def sessions_table(metrics: dict, splits: tuple[str, ...]):
    """The session estimates beside the TF-IDF + ridge baseline, per target and source."""
    from rich.table import Table

    view = Table(title=f"session estimates ({', '.join(splits)}) beside TF-IDF + ridge")
    columns = (
        "target/source",
        "n",
        "Spearman",
        "TF-IDF Spearman",
        "AUC [95% CI], n low",
        "TF-IDF AUC",
        "MAE",
        "80% coverage",
    )
    for column in columns:
        view.add_column(column)
    for key, entry in metrics["model"].items():
        baseline = metrics["tfidf_ridge"].get(key, {})
        view.add_row(
            key,
            str(entry["n"]),
            _rho_text(entry),
            _rho_text(baseline),
            _auc_text(entry),
            _auc_text(baseline),
            str(entry["mae"]),
            str(entry["coverage_80"]),
        )
    return view


def rupture_table(report: dict):
    """The rupture model's and the TF-IDF baseline's figures on the test clients."""
    from rich.table import Table

    view = Table(title="rupture: test clients (never trained or tuned on)")
    columns = (
        "model",
        "AUC [95%]",
        "precision",
        "recall",
        "flag rate",
        "caseload flag rate",
        "hard neg. flagged",
    )
    for column in columns:
        view.add_column(column)
    for name, entry in (("rupture model", report["test"]), ("TF-IDF", report["tfidf_test"])):
        view.add_row(
            name,
            f"{entry['auc']} {entry['auc_95']}",
            str(entry["precision"]),
            str(entry["recall"]),
            str(entry["flag_rate"]),
            str(entry["caseload_flag_rate"]),
            str(entry["hard_negatives_flagged"]),
        )
    dev = report.get("dev_estimate_spearman")
    if dev:
        view.caption = (
            f"dev clients, cross-validated: rupture AUC {report['fit']['cv_auc']}; estimates "
            "out of fold, Spearman with the labels: "
            + ", ".join(f"{target} {value}" for target, value in dev.items())
        )
    return view


def passage_table(rows: list[dict], title: str):
    """Per head and source: the model, the TF-IDF baseline and (when given) the plain
    fine-tune, each as macro-F1 [95% interval]."""
    from rich.table import Table

    from pipeline.training.evaluate import f1_text

    view = Table(title=title)
    finetune = any("finetune" in row for row in rows)
    columns = ["head", "source", "n", "model macro-F1 [95%]", "TF-IDF [95%]"]
    for column in columns + (["plain fine-tune [95%]"] if finetune else []):
        view.add_column(column)
    for row in rows:
        cells = [row["head"], row["source"], str(row["n"]), f1_text(row["model"])]
        cells.append(f1_text(row["baseline"]))
        if finetune:
            cells.append(f1_text(row.get("finetune")))
        view.add_row(*cells)
    return view
