"""Time `alliance score` on the fixtures: the Prefect flow vs the same steps called directly.

Prints JSON: per-stage seconds of each way, passages per second, and the flow/direct ratio
(Prefect's fixed overhead). Both use the same model, encoder and fixtures in the same process.

Usage: python benchmarks/score_fixtures.py [--repeat N] [--input FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

from pipeline import steps  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.store.core import Store, default_url  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def direct(inputs: list[Path], config, out: Path) -> dict:
    """The pipeline's plain steps in order, no Prefect."""
    result = steps.run_steps(inputs, config, Store(default_url(out)), out)
    return {"timings_s": result["timings_s"], "passages": result["scored"]["passages"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--input", type=Path, default=ROOT / "data/fixtures/sessions.jsonl")
    args = parser.parse_args()
    config = load_config()
    steps.load_model(config)  # load once: both ways share the warm model

    from pipeline.flows import score_flow

    direct_runs, flow_runs = [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            result = direct([args.input], config, Path(tmp))
            direct_runs.append((time.perf_counter() - start, result))
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            score_flow(
                inputs=[str(args.input)],
                out_dir=tmp,
                config=config.model_dump(mode="json"),
                store_url=default_url(Path(tmp)),
            )
            flow_runs.append(time.perf_counter() - start)
    best_direct = min(t for t, _ in direct_runs)
    best_flow = min(flow_runs)
    passages = direct_runs[0][1]["passages"]
    print(
        json.dumps(
            {
                "input": str(args.input),
                "passages": passages,
                "repeat": args.repeat,
                "direct_s": round(best_direct, 3),
                "flow_s": round(best_flow, 3),
                "flow_over_direct": round(best_flow / best_direct, 3),
                "prefect_overhead_s": round(best_flow - best_direct, 3),
                "passages_per_s_direct": round(passages / best_direct, 1),
                "direct_stage_s": {
                    k: round(v, 3) for k, v in direct_runs[0][1]["timings_s"].items()
                },
                "cpu_threads": os.cpu_count(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
