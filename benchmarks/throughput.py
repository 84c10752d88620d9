"""Passage-model throughput in one run: window engine vs pair engine vs the code a user writes
first, and ``alliance score`` end to end against a per-sentence transformers pipeline.

Model stage, on the same passages (the labeled note sessions, ``data/fixtures/
note_sessions.jsonl``, segmented by the real spaCy pipeline and repeated under new session ids
to ``--passages``), interleaved session-aligned chunk by chunk so a shared machine's load falls
on every way alike:

* ``window`` (``--window-model``): a window-encoding model through the engine, exactly as the
  scoring step calls it: each session read once, in windows;
* ``pair``: a pair model (``--pair-model``; the shipped ``ft-v3-kind-rupture-2`` from git:
  ``git archive f3a448b models/default | tar -x -C /tmp/pair``) through the same engine: every
  passage with its previous passage, so every sentence is read twice;
* ``alone`` (``--alone-model``): a model that reads each passage on its own the same way;
* ``naive``: ``transformers.pipeline("text-classification")`` over the pinned encoder with a
  linear head, called once per sentence, fp32: the first attempt (it reads the passage alone,
  fewer tokens than either engine).

End to end: ``alliance score`` as a subprocess on ``--notes`` synthetic notes (the labeled note
sessions repeated under new ids), with the window model and with the pair model, beside the
per-sentence pipeline on the same sentences (the passages the scoring step reads), its model
load included. ``alliance score`` starts Prefect's temporary server, loads the model and builds
the identifier guard in parallel; its ``run.json`` gives each one's seconds.

Prints JSON: the machine, passages/s of each way and the three ratios (window over pair in the
model stage, goal >= 1.6; window over naive; end to end ``alliance score`` over the pipeline,
goal >= 3, stretch 6).

Usage: python benchmarks/throughput.py --pair-model /tmp/pair/models/default
       [--alone-model models/default] [--window-model DIR] [--passages 4000] [--chunk-sessions 40]
       [--notes 600] [--skip-e2e] [--out benchmarks/results/throughput.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from crash_trials import write_batch  # noqa: E402

from pipeline.config import load_config  # noqa: E402
from pipeline.ingest import ingest_paths  # noqa: E402
from pipeline.model.classify import contexts_for  # noqa: E402
from pipeline.model.encoder import resolve_encoder_path  # noqa: E402
from pipeline.nlp.factory import cached_nlp  # noqa: E402
from pipeline.nlp.segment import segment_sessions  # noqa: E402
from pipeline.sessions.alliance_model import AllianceModel  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTE_SESSIONS = ROOT / "data" / "fixtures" / "note_sessions.jsonl"
FIXTURES = ROOT / "data" / "fixtures" / "sessions.jsonl"
GOALS = {"window_over_pair": 1.6, "end_to_end_over_pipeline": 3.0}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def machine() -> dict:
    model_name = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="ascii", errors="ignore").splitlines():
            if line.startswith("model name"):
                model_name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import transformers

    return {
        "cpu": model_name or platform.processor(),
        "cores_available": len(os.sched_getaffinity(0)),
        "torch_threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def session_passages(config, path: Path = NOTE_SESSIONS) -> list[list]:
    """Each session's passages (``pipeline.schemas.Passage``), segmented by the real pipeline."""
    sessions = [session for _, session in ingest_paths([path], config.ingest).sessions]
    nlp = cached_nlp(Path(config.nlp.sections_file), config.nlp.default_section)
    return [items for _, items in segment_sessions(sessions, nlp) if items]


def rows_of(sessions: list[list], copy: int = 0) -> tuple[list, list, list, list]:
    """(texts, contexts, speakers, groups) of whole sessions, as the scoring step passes them."""
    passages = [p for items in sessions for p in items]
    return (
        [p.text for p in passages],
        contexts_for(passages),
        [p.speaker for p in passages],
        [f"{p.session_id}-c{copy}" for p in passages],
    )


def fixture_passages(config) -> tuple[list[str], list[str], list[str], list[str]]:
    """Rows of the fixture sessions (``data/fixtures/sessions.jsonl``)."""
    return rows_of(session_passages(config, FIXTURES))


def hf_pipeline(encoder_dir: Path, device: int = -1):
    """The first attempt: a text-classification pipeline over the encoder with a linear head
    (``device``: -1 CPU, else the CUDA device index)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    model = AutoModelForSequenceClassification.from_pretrained(
        encoder_dir, num_labels=2, local_files_only=True, use_safetensors=True
    )
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir, local_files_only=True)
    return pipeline("text-classification", model=model, tokenizer=tokenizer, device=device)


def per_sentence(classify, texts: list[str]) -> list:
    """The pipeline called once per sentence (the way its documentation's examples call it)."""
    return [classify(text, truncation=True)[0] for text in texts]


def model_stage(ways: dict, sessions: list[list], chunk_sessions: int) -> dict:
    """Every way on every chunk of whole sessions, the order rotated per chunk."""
    warm = rows_of(sessions[:3])
    for predict in ways.values():  # warm-up: inference copies, kernels for small shapes
        predict(*warm)
    names = list(ways)
    seconds = dict.fromkeys(names, 0.0)
    starts = list(range(0, len(sessions), chunk_sessions))
    for k, begin in enumerate(starts):
        rows = rows_of(sessions[begin : begin + chunk_sessions], k)
        rotated = names[k % len(names) :] + names[: k % len(names)]
        rates = []
        for name in rotated:
            start = time.perf_counter()
            ways[name](*rows)
            elapsed = time.perf_counter() - start
            seconds[name] += elapsed
            rates.append(f"{name} {len(rows[0]) / elapsed:.0f}/s")
        log(f"model stage: chunk {k + 1}/{len(starts)}: " + ", ".join(rates))
    return seconds


# The model-stage ratios reported, for the ways given: (faster way, way it is compared with).
RATIOS = (
    ("window", "pair"),
    ("alone", "pair"),
    ("window", "naive"),
    ("pair", "naive"),
    ("alone", "naive"),
)


def notes_file(folder: Path, count: int) -> Path:
    """``count`` notes: the labeled note sessions repeated under new session and client ids."""
    write_batch(folder / "notes.jsonl", count, NOTE_SESSIONS)
    return folder / "notes.jsonl"


def alliance_score(notes: Path, model: Path, out: Path) -> dict:
    """``alliance score`` as a user runs it, timed from outside; its run.json's start-up parts."""
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    command = [sys.executable, "-m", "pipeline", "score", str(notes), "--out", str(out)]
    command += ["--model", str(model)]
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, capture_output=True)
    seconds = time.perf_counter() - started
    run = json.loads((out / "run.json").read_text())
    return {
        "seconds": round(seconds, 2),
        "passages": run.get("counts", {}).get("passages"),
        "startup_s": run.get("startup_s"),
        "stage_s": run.get("timings_s"),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window-model", type=Path, help="a window-encoding model")
    parser.add_argument("--pair-model", type=Path, required=True)
    parser.add_argument(
        "--alone-model", type=Path, help="also a model that reads each passage alone"
    )
    parser.add_argument("--passages", type=int, default=4000, help="model-stage passages")
    parser.add_argument("--chunk-sessions", type=int, default=40, help="sessions per chunk")
    parser.add_argument("--notes", type=int, default=600, help="end-to-end notes")
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)

    config = load_config()
    paths = {"window": args.window_model, "pair": args.pair_model, "alone": args.alone_model}
    models = {
        name: AllianceModel.load(path, config.encoder) for name, path in paths.items() if path
    }
    for name, model in models.items():
        context = getattr(getattr(model.scorer, "model", None), "settings", None)
        expected = name
        if context is None or context.context != expected:
            raise SystemExit(f"--{name}-model must be a {expected}-encoding transformer model")
    classify = hf_pipeline(resolve_encoder_path(config.encoder))
    sessions = session_passages(config)
    per_copy = sum(len(items) for items in sessions)
    sessions = sessions * -(-args.passages // per_copy)
    total, kept = 0, []
    for items in sessions:
        if total >= args.passages:
            break
        kept.append(items)
        total += len(items)
    ways = {name: model.scorer.predict for name, model in models.items()}
    ways["naive"] = lambda t, c, s, g: per_sentence(classify, t)
    info = machine()
    seconds = model_stage(ways, kept, args.chunk_sessions)
    rate = {name: round(total / s, 1) for name, s in seconds.items()}
    report = {
        "machine": info,
        "models": {name: model.version for name, model in models.items()},
        "model_stage": {
            "passages": total,
            "sessions": len(kept),
            "passages_per_s": rate,
            "seconds": {n: round(s, 2) for n, s in seconds.items()},
            **{
                f"{fast}_over_{slow}": round(seconds[slow] / seconds[fast], 2)
                for fast, slow in RATIOS
                if fast in seconds and slow in seconds
            },
        },
        "goals": GOALS,
    }
    if not args.skip_e2e:
        with tempfile.TemporaryDirectory() as tmp:
            notes = notes_file(Path(tmp), args.notes)
            runs = {}
            for name in models:
                runs[name] = alliance_score(notes, models[name].folder, Path(tmp) / name)
                log(f"end to end: alliance score ({name}) {runs[name]['seconds']} s")
            texts = [p.text for items in session_passages(config, notes) for p in items]
            started = time.perf_counter()
            per_sentence(hf_pipeline(resolve_encoder_path(config.encoder)), texts)
            pipeline_s = time.perf_counter() - started
            log(f"end to end: pipeline per sentence {pipeline_s:.1f} s")
        report["end_to_end"] = {
            "notes": args.notes,
            "sentences": len(texts),
            "alliance_score": runs,
            "pipeline_per_sentence_s": round(pipeline_s, 2),
            "alliance_score_over_pipeline": {
                name: round(pipeline_s / run["seconds"], 2) for name, run in runs.items()
            },
        }
    report["gpu"] = (
        "measured by benchmarks/gpu_throughput.py"
        if torch.cuda.is_available()
        else "unmeasured: no GPU on this machine (benchmarks/gpu_throughput.py on one)"
    )
    report["machine"]["load_average_1min_after"] = round(os.getloadavg()[0], 2)
    cores = info["cores_available"]
    if max(info["load_average_1min"], report["machine"]["load_average_1min_after"]) > cores:
        report["warning"] = f"machine busy (load above {cores} cores): rerun when idle"
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return report


if __name__ == "__main__":
    main()
