"""Timing helpers shared by the benchmark scripts."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def best_time(fn: Callable[[], object], repeats: int = 7, min_time: float = 0.2) -> float:
    """Median over ``repeats`` rounds of the mean time per call (each round >= min_time/repeats)."""
    fn()
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    inner = max(1, int(min_time / repeats / once))
    rounds = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        rounds.append((time.perf_counter() - t0) / inner)
    return float(np.median(rounds))


def gemm_ceiling(n: int = 2048) -> float:
    """float64 GEMM rate of numpy's BLAS at n x n (GFLOP/s): the machine's measured peak."""
    a = np.random.default_rng(0).standard_normal((n, n))
    b = np.random.default_rng(1).standard_normal((n, n))
    return 2 * n**3 / best_time(lambda: a @ b, repeats=5, min_time=1.0) / 1e9


def torch_or_none():
    try:
        import torch
    except ImportError:
        print("# torch is not installed: PyTorch columns skipped (pip install torch==2.13.0)")
        return None
    torch.set_num_threads(2)
    return torch


def report(name: str, rows: list[dict]) -> None:
    """Print rows as a table and write them with the machine description to NAME.json."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    widths = {k: max(len(k), *(len(_fmt(r.get(k))) for r in rows)) for k in keys}
    print("  ".join(k.ljust(widths[k]) for k in keys))
    for r in rows:
        print("  ".join(_fmt(r.get(k)).ljust(widths[k]) for k in keys))
    out = Path(__file__).with_name(f"{name}.json")
    meta = {"machine": platform.processor() or platform.machine(), "python": platform.python_version()}
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)
