"""Passage-model throughput: the inference engine vs the code a user writes first, same run.

Model stage: the shipped model (``models/default`` on the pinned encoder) scores the same
passages (``data/fixtures/sessions.jsonl`` segmented by the real spaCy pipeline, repeated to
``--passages``) three ways, interleaved chunk by chunk so the load of a shared machine falls
on every way alike:

* ``engine``: ``model.scorer.predict`` exactly as :func:`pipeline.steps.score_step` calls it
  (token-bucketed batches, merged LoRA, bf16 where the CPU has it);
* ``engine_fp32``: the same engine with bf16 off;
* ``naive``: the first attempt: the same :class:`~pipeline.model.network.MultiTaskModel` called
  on one (passage, context) pair at a time, fp32, under ``torch.no_grad()`` (no batching, no
  sorting). A ``transformers.pipeline("feature-extraction")`` over the encoder folder would
  miss the LoRA adapters (other scores), and feeding it our adapted encoder adds pre/post
  processing to the same one-row forward pass, so this is the faster (fairer) first attempt.
* ``previous`` (``--previous``): ``predict_pairs`` as it was before the engine.

End to end: ``alliance score``-equivalent work through the plain functions (ingest, segment,
score, estimate, flag, export on a temporary SQLite store), once with the engine and once with
the naive scorer swapped into the loaded model, the engine run repeated after the naive one.
Prefect's fixed overhead is measured by ``benchmarks/score_fixtures.py`` and left out.

Prints JSON: the machine, passages/s of each way, ratios, and how closely the ways agree.

Usage: python benchmarks/throughput.py [--passages 2000] [--chunk 250] [--e2e-copies 3]
       [--threads N] [--previous] [--skip-e2e]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from pipeline import steps  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.ingest import ingest_paths  # noqa: E402
from pipeline.model.classify import contexts_for  # noqa: E402
from pipeline.model.engine import PassageEngine  # noqa: E402
from pipeline.model.heads import HEAD_BY_NAME  # noqa: E402
from pipeline.model.network import probabilities  # noqa: E402
from pipeline.nlp.factory import cached_nlp  # noqa: E402
from pipeline.nlp.segment import segment_sessions  # noqa: E402
from pipeline.store.core import Store, default_url  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "data" / "fixtures" / "sessions.jsonl"


class NaiveScorer:
    """The first attempt: the model on one pair at a time, fp32, no batching or sorting, on
    the device the model is on."""

    def __init__(self, model, tokenize):
        self.model = model
        self.tokenize = tokenize

    def predict(self, texts, contexts):
        self.model.eval()
        device = next(self.model.parameters()).device
        out = {name: [] for name in self.model.heads}
        vectors = []
        with torch.no_grad():
            for text, context in zip(texts, contexts):
                encoded = {k: v.to(device) for k, v in self.tokenize([text], [context]).items()}
                pooled = self.model.pool(**encoded)
                for name, value in probabilities(self.model(**encoded, pooled=pooled)).items():
                    out[name].append(value[0])
                vectors.append(pooled[0].float().cpu().numpy())
        return {k: np.array(v) for k, v in out.items()}, np.array(vectors, dtype=np.float32)

    def predict_proba(self, texts, contexts):
        return self.predict(texts, contexts)[0]


def previous_predict(model, tokenize, texts, contexts, batch_size=64, bf16=False):
    """``predict_pairs`` before the engine: sorted by characters, tokenised per batch,
    LoRA unmerged, autocast casting the weights on every call."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]) + len(contexts[i]))
    out = {name: np.zeros((len(texts), len(HEAD_BY_NAME[name].classes))) for name in model.heads}
    vectors = np.zeros((len(texts), model.encoder.config.hidden_size), dtype=np.float32)
    model.eval()
    with torch.inference_mode():
        for begin in range(0, len(order), batch_size):
            rows = order[begin : begin + batch_size]
            encoded = tokenize([texts[i] for i in rows], [contexts[i] for i in rows])
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                pooled = model.pool(**encoded)
                logits = model(**encoded, pooled=pooled)
            vectors[rows] = pooled.float().numpy()
            for name, value in probabilities(logits).items():
                out[name][rows] = value
    return out, vectors


def machine(scorer) -> dict:
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
        "cpu_cores": os.cpu_count(),
        "cores_available": len(os.sched_getaffinity(0)),
        "torch_threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "bf16": bool(scorer.bf16),
        "device": str(scorer.engine.device),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def fixture_passages(config) -> tuple[list[str], list[str]]:
    """Texts and contexts of the fixture sessions, segmented by the real spaCy pipeline."""
    sessions = [session for _, session in ingest_paths([FIXTURES], config.ingest).sessions]
    nlp = cached_nlp(Path(config.nlp.sections_file), config.nlp.default_section)
    passages = [p for _, items in segment_sessions(sessions, nlp) for p in items]
    return [p.text for p in passages], contexts_for(passages)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def model_stage(ways: dict, texts: list[str], contexts: list[str], chunk: int) -> dict:
    """Every way on every chunk, the order rotated per chunk; seconds and outputs per way."""
    for predict in ways.values():  # warm-up: inference copies, kernels for small shapes
        predict(texts[:32], contexts[:32])
    names = list(ways)
    seconds = dict.fromkeys(names, 0.0)
    per_chunk = {name: [] for name in names}
    outputs = {name: [] for name in names}
    starts = list(range(0, len(texts), chunk))
    for k, begin in enumerate(starts):
        rotated = names[k % len(names) :] + names[: k % len(names)]
        for name in rotated:
            start = time.perf_counter()
            result = ways[name](texts[begin : begin + chunk], contexts[begin : begin + chunk])
            elapsed = time.perf_counter() - start
            seconds[name] += elapsed
            per_chunk[name].append(elapsed)
            outputs[name].append(result)
        log(f"model stage: chunk {k + 1}/{len(starts)} " + _rates(per_chunk, texts, chunk, k))
    merged = {}
    for name, parts in outputs.items():
        probs = {h: np.concatenate([p[0][h] for p in parts]) for h in parts[0][0]}
        merged[name] = (probs, np.concatenate([p[1] for p in parts]))
    return {"seconds": seconds, "per_chunk": per_chunk, "outputs": merged}


def _rates(per_chunk, texts, chunk, k) -> str:
    size = min(chunk, len(texts) - k * chunk)
    return ", ".join(f"{n} {size / t[-1]:.0f}/s" for n, t in per_chunk.items())


def agreement(result, reference) -> dict:
    """Largest probability / vector difference and argmax agreement against ``reference``."""
    probs, vectors = result
    ref_probs, ref_vectors = reference
    return {
        "max_abs_prob_diff": round(
            max(float(np.abs(probs[h] - ref_probs[h]).max()) for h in ref_probs), 5
        ),
        "max_abs_vector_diff": round(float(np.abs(vectors - ref_vectors).max()), 5),
        "argmax_agreement": round(
            float(np.mean([(probs[h].argmax(1) == ref_probs[h].argmax(1)).mean() for h in probs])),
            5,
        ),
    }


def copies_file(folder: Path, copies: int) -> Path:
    """The fixture sessions ``copies`` times, with new session and client ids per copy."""
    lines = FIXTURES.read_text(encoding="utf-8").splitlines()
    out = folder / "sessions.jsonl"
    with out.open("w", encoding="utf-8") as handle:
        for k in range(copies):
            for line in lines:
                if line.strip():
                    record = json.loads(line)
                    record["session_id"] = f"{record['session_id']}-c{k}"
                    record["client_id"] = f"{record['client_id']}-c{k}"
                    handle.write(json.dumps(record) + "\n")
    return out


def end_to_end(inputs: Path, config, out: Path) -> dict:
    """The steps of ``alliance score`` called directly (as benchmarks/score_fixtures.py)."""
    store = Store(default_url(out))
    started = time.perf_counter()
    result = steps.run_steps([inputs], config, store, out)
    scored, timings = result["scored"], result["timings_s"]
    total = time.perf_counter() - started
    estimates = {e.session_id: e.overall for e in store.estimates()}
    store.engine.dispose()
    return {
        "seconds": round(total, 3),
        "passages": scored["passages"],
        "sessions": scored["sessions"],
        "stage_s": {k: round(v, 3) for k, v in timings.items()},
        "overall": estimates,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=2000, help="model-stage passages")
    parser.add_argument("--chunk", type=int, default=250, help="passages per interleaved chunk")
    parser.add_argument("--e2e-copies", type=int, default=3, help="copies of the fixtures")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: "
                        "encoder.threads, else torch's default)")  # fmt: skip
    parser.add_argument("--previous", action="store_true", help="also time the old code")
    parser.add_argument("--skip-e2e", action="store_true")
    args = parser.parse_args()

    config = load_config()
    started = time.perf_counter()
    model = steps.load_model(config)
    load_s = time.perf_counter() - started
    if args.threads:
        torch.set_num_threads(args.threads)
    scorer = model.scorer
    if not hasattr(scorer, "engine"):
        raise SystemExit(f"{config.model_dir} is not a transformer model: nothing to benchmark")

    texts, contexts = fixture_passages(config)
    fixture_count = len(texts)
    repeat = -(-args.passages // len(texts))
    texts, contexts = (texts * repeat)[: args.passages], (contexts * repeat)[: args.passages]
    naive = NaiveScorer(scorer.model, scorer.tokenize)
    fp32 = PassageEngine(
        scorer.model, scorer.tokenize, scorer.batch_size, max_tokens=scorer.max_tokens
    )
    ways = {"engine": scorer.predict, "engine_fp32": lambda t, c: fp32.predict(t, c, True)}
    if args.previous:
        ways["previous"] = lambda t, c: previous_predict(
            scorer.model, scorer.tokenize, t, c, scorer.batch_size, scorer.bf16
        )
    ways["naive"] = naive.predict
    info = machine(scorer)
    stage = model_stage(ways, texts, contexts, args.chunk)
    seconds, per_chunk, outputs = stage["seconds"], stage["per_chunk"], stage["outputs"]
    chunk_ratios = np.array(per_chunk["naive"]) / np.array(per_chunk["engine"])
    report = {
        "machine": info,
        "model": {
            "dir": str(config.model_dir),
            "version": model.version,
            "load_s": round(load_s, 2),
        },
        "model_stage": {
            "passages": len(texts),
            "fixture_passages": fixture_count,
            "chunks": len(per_chunk["engine"]),
            "chunk_size": args.chunk,
            "passages_per_s": {n: round(len(texts) / s, 1) for n, s in seconds.items()},
            "seconds": {n: round(s, 2) for n, s in seconds.items()},
            "engine_over_naive": round(seconds["naive"] / seconds["engine"], 2),
            "engine_over_naive_per_chunk": {
                "median": round(float(np.median(chunk_ratios)), 2),
                "min": round(float(chunk_ratios.min()), 2),
                "max": round(float(chunk_ratios.max()), 2),
            },
            "engine_bf16_over_fp32": round(seconds["engine_fp32"] / seconds["engine"], 2),
            "agreement_with_naive": {
                n: agreement(outputs[n], outputs["naive"]) for n in ways if n != "naive"
            },
        },
    }
    if args.previous:
        report["model_stage"]["engine_over_previous"] = round(
            seconds["previous"] / seconds["engine"], 2
        )
    if not args.skip_e2e:
        runs = {}
        with tempfile.TemporaryDirectory() as tmp:
            inputs = copies_file(Path(tmp), args.e2e_copies)
            for k, way in enumerate(("engine", "naive", "engine")):
                model.scorer = naive if way == "naive" else scorer
                try:
                    out = Path(tmp) / f"run{k}"
                    out.mkdir()
                    runs.setdefault(way, []).append(end_to_end(inputs, config, out))
                finally:
                    model.scorer = scorer
                log(f"end to end: {way} {runs[way][-1]['seconds']} s")
        engine_s = float(np.mean([r["seconds"] for r in runs["engine"]]))
        naive_run = runs["naive"][0]
        shared = set(naive_run["overall"]) & set(runs["engine"][0]["overall"])
        report["end_to_end"] = {
            "sessions": naive_run["sessions"],
            "passages": naive_run["passages"],
            "seconds": {
                "engine": [r["seconds"] for r in runs["engine"]],
                "naive": naive_run["seconds"],
            },
            "passages_per_s": {
                "engine": round(naive_run["passages"] / engine_s, 1),
                "naive": round(naive_run["passages"] / naive_run["seconds"], 1),
            },
            "engine_over_naive": round(naive_run["seconds"] / engine_s, 2),
            "stage_s": {"engine": runs["engine"][-1]["stage_s"], "naive": naive_run["stage_s"]},
            "max_abs_overall_estimate_diff": round(
                max(abs(naive_run["overall"][s] - runs["engine"][0]["overall"][s]) for s in shared),
                4,
            )
            if shared
            else None,
        }
    report["machine"]["load_average_1min_after"] = round(os.getloadavg()[0], 2)
    cores = report["machine"]["cores_available"]
    if max(info["load_average_1min"], report["machine"]["load_average_1min_after"]) > cores:
        # Other processes competing for the cores hit the one-pair-at-a-time baseline
        # hardest (each small op waits for both OpenMP threads), inflating the ratios.
        report["warning"] = (
            f"machine busy (load above {cores} cores): ratios are unreliable; rerun when idle"
        )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
