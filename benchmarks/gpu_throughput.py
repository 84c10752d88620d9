"""Passage-model stage on one GPU: the engine end to end vs a per-sentence pipeline, same run.

The engine's CUDA path (token-budget batches, bf16, pinned memory, tokenisation of the next
window overlapped with the model by a prefetch thread) scores ``--passages`` fixture passages
(segmented by the real spaCy pipeline, repeated) from Python strings to NumPy probabilities,
so tokenisation and the copies back are inside the timing; a window model reads each copy of
the fixture sessions as its own sessions. The baseline is ``transformers.pipeline(
"text-classification")`` over the same encoder, called once per sentence on the same device,
on a sample (``--baseline-passages``). Goal (issue 5): >= 100,000 passages/s on one H100-class GPU.

``--device cpu`` runs the same script on a CPU (a dry run of the script itself).

Prints JSON. Usage:
    python benchmarks/gpu_throughput.py [--passages 500000] [--baseline-passages 3000]
        [--device cuda|cpu] [--max-tokens N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from throughput import fixture_passages, hf_pipeline, log, per_sentence  # noqa: E402

from pipeline import steps  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.model.encoder import resolve_encoder_path  # noqa: E402

GOAL_PASSAGES_PER_S = 100_000


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=500_000)
    parser.add_argument("--baseline-passages", type=int, default=3000)
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--max-tokens", type=int, default=None, help="padded tokens per batch")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: run on a GPU machine, or pass --device cpu")

    overrides = [f"encoder.device={args.device}"]
    if args.max_tokens:
        overrides.append(f"encoder.max_batch_tokens={args.max_tokens}")
    config = load_config(None, overrides)
    scorer = steps.load_model(config).scorer
    device = scorer.engine.device
    rows = fixture_passages(config)
    repeat = -(-args.passages // len(rows[0]))
    # Each copy of the fixtures is its own set of sessions (a window model reads them apart).
    texts, contexts, speakers = ((column * repeat)[: args.passages] for column in rows[:3])
    groups = [f"{g}-{i // len(rows[0])}" for i, g in enumerate((rows[3] * repeat)[: args.passages])]

    scorer.predict(texts[:8192], contexts[:8192], speakers[:8192], groups[:8192])  # warm-up
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    _synchronize(device)
    started = time.perf_counter()
    scorer.predict(texts, contexts, speakers, groups)
    _synchronize(device)
    engine_s = time.perf_counter() - started
    log(f"engine: {len(texts) / engine_s:,.0f} passages/s")

    sample = min(args.baseline_passages, len(texts))
    started = time.perf_counter()
    classify = hf_pipeline(resolve_encoder_path(config.encoder), 0 if device.type == "cuda" else -1)
    per_sentence(classify, texts[:sample])
    _synchronize(device)
    baseline_s = time.perf_counter() - started
    engine_rate, baseline_rate = len(texts) / engine_s, sample / baseline_s
    report = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "bf16": bool(scorer.bf16),
        "max_batch_tokens": scorer.engine.max_tokens,
        "passages": len(texts),
        "engine_s": round(engine_s, 2),
        "passages_per_s": {
            "engine": round(engine_rate),
            "pipeline_per_sentence": round(baseline_rate),
        },
        "engine_over_pipeline_per_sentence": round(engine_rate / baseline_rate, 1),
        "goal_passages_per_s": GOAL_PASSAGES_PER_S,
        "goal_met": engine_rate >= GOAL_PASSAGES_PER_S,
    }
    if device.type == "cuda":
        report["peak_gpu_memory_gb"] = round(torch.cuda.max_memory_allocated(device) / 1e9, 2)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
