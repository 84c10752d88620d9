"""ONNX Runtime vs the inference engine: speed on the same passages, accuracy on validation.

Issue 5 allows an ONNX Runtime or int8 path only if it loses at most 0.5 macro-F1 points on
validation. This script measures both sides in one run:

* the merged fp32 model (the engine's inference copy) is exported to ONNX (TorchScript
  exporter, dynamic batch and length), fused with ONNX Runtime's BERT optimizer
  (``ort_fp32``) and quantised to dynamic int8 (``ort_int8``);
* every way scores the same fixture passages in the engine's token-bucketed batches,
  interleaved chunk by chunk (``benchmarks/throughput.py``'s harness), on the same threads;
* with ``--data``, every way scores the validation split of the public corpora, and the
  macro-F1 per head is compared with the engine's.

Needs the ``onnx`` extra (``pip install -e ".[onnx]"``); the product does not.

Prints JSON. Usage:
    python benchmarks/onnx_runtime.py [--passages 2000] [--data ../shared/data]
        [--max-validation 3000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from throughput import fixture_passages, log, machine  # noqa: E402
from torch import nn  # noqa: E402

from pipeline import steps  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.model.engine import (  # noqa: E402
    _head_probabilities,
    inference_copy,
    passage_mean,
    split_table,
    use_matmul_attention,
)

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class PooledHeads(nn.Module):
    """The engine's forward pass as one graph: encoder, passage-token mean pooling, heads;
    returns (rows, head classes + hidden), as :meth:`PassageEngine._forward` does."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, token_type_ids):
        states = self.model.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        pooled = passage_mean(states, attention_mask, token_type_ids)
        return torch.cat([_head_probabilities(self.model, pooled), pooled], dim=-1)


def export_models(scorer, folder: Path) -> dict[str, Path]:
    """fp32 ONNX export, its BERT-fused form and the dynamic-int8 quantisation of that."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    merged = inference_copy(scorer.model, bf16=False)
    use_matmul_attention(merged)
    example = scorer.tokenize(["I felt heard today."], ["How did the week go?"])
    plain = folder / "model.onnx"
    torch.onnx.export(
        PooledHeads(merged).eval(),
        tuple(example[name] for name in INPUTS),
        str(plain),
        input_names=list(INPUTS),
        output_names=["out"],
        dynamic_axes={name: {0: "batch", 1: "length"} for name in INPUTS} | {"out": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    config = merged.encoder.config
    fused = folder / "model-fused.onnx"
    optimize_model(
        str(plain),
        model_type="bert",
        num_heads=config.num_attention_heads,
        hidden_size=config.hidden_size,
    ).save_model_to_file(str(fused))
    int8 = folder / "model-int8.onnx"
    # Fused (contrib-domain) nodes have no shape inference: name the float type explicitly.
    quantize_dynamic(
        str(fused),
        str(int8),
        weight_type=QuantType.QInt8,
        extra_options={"DefaultTensorType": TensorProto.FLOAT},
    )
    return {"ort_fp32": fused, "ort_int8": int8}


class OrtScorer:
    """ONNX Runtime on the engine's batches (same tokenisation, bucketing and padding)."""

    def __init__(self, path: Path, scorer, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.engine = scorer.engine
        self.heads = list(scorer.model.heads)

    def predict(self, texts, contexts):
        table = None
        for rows, inputs, _, _ in self.engine.batches(texts, contexts):
            feed = {name: inputs[name].numpy() for name in INPUTS}
            out = self.session.run(None, feed)[0]
            if table is None:
                table = np.zeros((len(texts), out.shape[1]), dtype=np.float32)
            table[rows] = out
        return split_table(table, self.heads)


def validation_f1(ways: dict, data: Path, limit: int, seed: int = 0) -> dict:
    """Macro-F1 per head of each way on (a seeded sample of) the validation split."""
    from pipeline.training.corpora import read_corpora
    from pipeline.training.evaluate import passage_metrics
    from pipeline.training.labels import load_labels
    from pipeline.training.records import split_for

    passages = [p for p in read_corpora(data, labels=load_labels()) if split_for(p) == "validation"]
    random.Random(seed).shuffle(passages)
    passages = passages[:limit] if limit else passages
    texts, contexts = [p.text for p in passages], [p.context for p in passages]
    scores = {}
    for name, predict in ways.items():
        started = time.perf_counter()
        metrics = passage_metrics(predict(texts, contexts)[0], passages)
        log(f"validation: {name} {time.perf_counter() - started:.0f} s")
        scores[name] = {head: entry["all"] for head, entry in metrics.items()}
    reference = scores["engine"]
    mean = {name: float(np.mean(list(s.values()))) for name, s in scores.items()}
    return {
        "passages": len(passages),
        "macro_f1_by_head": scores,
        "mean_macro_f1": {name: round(value, 4) for name, value in mean.items()},
        "mean_f1_points_lost_vs_engine": {
            name: round(100 * (mean["engine"] - mean[name]), 2) for name in scores
        },
        "worst_head_f1_points_lost_vs_engine": {
            name: round(100 * max(reference[h] - s[h] for h in reference), 2)
            for name, s in scores.items()
        },
    }


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=2000, help="model-stage passages")
    parser.add_argument("--chunk", type=int, default=250, help="passages per interleaved chunk")
    parser.add_argument("--data", type=Path, default=None, help="../shared/data: validation F1")
    parser.add_argument("--max-validation", type=int, default=3000, help="0: the whole split")
    args = parser.parse_args()

    config = load_config()
    scorer = steps.load_model(config).scorer
    if getattr(getattr(scorer, "model", None), "settings", None) is None or (
        scorer.model.settings.context != "pair"
    ):
        raise SystemExit("the ONNX export covers pair-encoding transformer models only")
    threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        paths = export_models(scorer, Path(tmp))
        export_s = time.perf_counter() - started
        sizes = {name: round(path.stat().st_size / 1e6, 1) for name, path in paths.items()}
        ways = {"engine": scorer.predict}
        for name, path in paths.items():
            ways[name] = OrtScorer(path, scorer, threads).predict
        texts, contexts = fixture_passages(config)[:2]
        repeat = -(-args.passages // len(texts))
        texts, contexts = (texts * repeat)[: args.passages], (contexts * repeat)[: args.passages]
        stage = model_stage(ways, texts, contexts, args.chunk)
        seconds, outputs = stage["seconds"], stage["outputs"]
        report = {
            "machine": machine(),
            "export_s": round(export_s, 1),
            "onnx_mb": sizes,
            "model_stage": {
                "passages": len(texts),
                "passages_per_s": {n: round(len(texts) / s, 1) for n, s in seconds.items()},
                "over_engine": {n: round(seconds["engine"] / s, 2) for n, s in seconds.items()},
                "agreement_with_engine": {
                    n: agreement(outputs[n], outputs["engine"]) for n in ways if n != "engine"
                },
            },
        }
        if args.data:
            report["validation"] = validation_f1(ways, args.data, args.max_validation)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
