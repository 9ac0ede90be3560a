"""CLV model fitting speed: BG/NBD, Pareto/NBD and Gamma-Gamma on synthetic customers drawn
from the models themselves (CDNOW-like parameters, per day), and the lifetimes package's
fitters on the same data.

    python -m benchmarks.clv_speed                          # 1M customers, lifetimes at 50k
    python -m benchmarks.clv_speed --customers 100000 --lifetimes-customers 10000

Customers join in weekly cohorts over a year (T = 7, 14, ..., 364 days) and purchase times
are whole days, as real purchase data is: identical summaries are grouped before the fit.
Each fit is also checked against the parameters the data was drawn with.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from touchpath.value import BGNBDModel, GammaGammaModel, Horizon, ParetoNBDModel, predict
from touchpath.value._fit import group
from touchpath.value.simulate import simulate_bgnbd, simulate_paretonbd, simulate_spend

BGNBD_TRUE = {"r": 0.243, "alpha": 4.414 * 7, "a": 0.793, "b": 2.426}
PARETO_TRUE = {"r": 0.553, "alpha": 10.578 * 7, "s": 0.606, "beta": 11.669 * 7}
SPEND_TRUE = {"p": 6.25, "q": 3.74, "gamma": 15.44}


CPU: dict[int, float] = {}
"""CPU seconds of the last timed call (by id of its result): on a shared machine the wall
clock also counts the time other processes held the cores."""


def _timed(fn: Any) -> tuple[Any, float]:
    """``fn()`` and its wall-clock seconds (its CPU seconds go to :data:`CPU`)."""
    start, cpu = time.perf_counter(), time.process_time()
    out = fn()
    CPU[id(out)] = time.process_time() - cpu
    return out, time.perf_counter() - start


def _errors(got: dict[str, float], truth: dict[str, float]) -> dict[str, float]:
    return {k: round(abs(got[k] - v) / v, 4) for k, v in truth.items()}


def _data(n: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    ages = rng.integers(1, 53, n) * 7.0
    bg = simulate_bgnbd(n, T=ages, seed=seed + 1, resolution=1.0, **BGNBD_TRUE)
    pn = simulate_paretonbd(n, T=ages, seed=seed + 2, resolution=1.0, **PARETO_TRUE)
    spend = np.round(simulate_spend(bg["frequency"], seed=seed + 3, **SPEND_TRUE), 2)
    bg["monetary"] = spend
    return {"bgnbd": bg, "paretonbd": pn}


def ours(n: int, seed: int) -> dict[str, Any]:
    data = _data(n, seed)
    bg, pn = data["bgnbd"], data["paretonbd"]
    out: dict[str, Any] = {"customers": n}
    model, seconds = _timed(lambda: BGNBDModel.fit(bg["frequency"], bg["recency"], bg["T"]))
    out["bgnbd"] = {"seconds": round(seconds, 3), "cpu_seconds": round(CPU[id(model)], 3),
                    "params": model.params,
                    "relative_error": _errors(model.params, BGNBD_TRUE),
                    "distinct_summaries": len(group(bg["frequency"], bg["recency"],
                                                    bg["T"]).weights)}
    other, seconds = _timed(lambda: ParetoNBDModel.fit(pn["frequency"], pn["recency"],
                                                       pn["T"]))
    out["paretonbd"] = {"seconds": round(seconds, 3),
                        "cpu_seconds": round(CPU[id(other)], 3), "params": other.params,
                        "relative_error": _errors(other.params, PARETO_TRUE),
                        "distinct_summaries": len(group(pn["frequency"], pn["recency"],
                                                        pn["T"]).weights)}
    buyers = bg["frequency"] > 0
    spend, seconds = _timed(lambda: GammaGammaModel.fit(bg.loc[buyers, "frequency"],
                                                        bg.loc[buyers, "monetary"]))
    out["gammagamma"] = {"seconds": round(seconds, 3),
                         "cpu_seconds": round(CPU[id(spend)], 3), "params": spend.params,
                         "relative_error": _errors(spend.params, SPEND_TRUE),
                         "repeat_buyers": int(buyers.sum())}
    _, seconds = _timed(lambda: predict(model, spend, bg, Horizon(), unit_days=1.0,
                                        holdout_length=0.0))
    out["predict_clv_seconds"] = round(seconds, 3)
    return out


def _pair(lifetimes: Any, name: str, frame: pd.DataFrame) -> tuple[Any, Any]:
    """Our fit and lifetimes' fit of model ``name`` on ``frame``, as two callables."""
    if name == "gammagamma":
        rows = frame[frame["frequency"] > 0]

        def mine() -> Any:
            return GammaGammaModel.fit(rows["frequency"], rows["monetary"])

        def other() -> Any:
            return lifetimes.GammaGammaFitter().fit(rows["frequency"], rows["monetary"])

        return mine, other
    model = BGNBDModel if name == "bgnbd" else ParetoNBDModel
    fitter = lifetimes.BetaGeoFitter if name == "bgnbd" else lifetimes.ParetoNBDFitter

    def mine_counts() -> Any:
        return model.fit(frame["frequency"], frame["recency"], frame["T"])

    def other_counts() -> Any:
        return fitter().fit(frame["frequency"], frame["recency"], frame["T"])

    return mine_counts, other_counts


def theirs(n: int, seed: int, models: list[str]) -> dict[str, Any]:
    """lifetimes' fitters on ``n`` customers (one row per customer, as its documentation
    fits them), and ours on the same rows."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import lifetimes
    data = _data(n, seed)
    out: dict[str, Any] = {"customers": n}
    for name in models:
        mine, other = _pair(lifetimes, name, data["paretonbd" if name == "paretonbd"
                                                  else "bgnbd"])
        ours_fit, mine_s = _timed(mine)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            their_fit, other_s = _timed(other)
        mine_cpu, other_cpu = CPU[id(ours_fit)], CPU[id(their_fit)]
        out[name] = {"touchpath_seconds": round(mine_s, 3),
                     "lifetimes_seconds": round(other_s, 3),
                     "touchpath_cpu_seconds": round(mine_cpu, 3),
                     "lifetimes_cpu_seconds": round(other_cpu, 3),
                     "speedup": round(other_s / mine_s, 1),
                     "cpu_speedup": round(other_cpu / mine_cpu, 1),
                     "touchpath_params": ours_fit.params,
                     "lifetimes_params": {k: float(v) for k, v in their_fit.params_.items()}}
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--lifetimes-customers", type=int, default=50_000,
                        help="size of the side-by-side run with lifetimes (0: skip)")
    parser.add_argument("--lifetimes-models", default="bgnbd,gammagamma,paretonbd")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args(argv)
    report: dict[str, Any] = {"touchpath": ours(args.customers, args.seed)}
    mine = report["touchpath"]
    print(f"touchpath, {args.customers:,} synthetic customers")
    for name in ("bgnbd", "paretonbd", "gammagamma"):
        row = mine[name]
        worst = max(row["relative_error"].values())
        print(f"  {name:<11} fit {row['seconds']:7.2f} s ({row['cpu_seconds']:.2f} s CPU)   "
              "params "
              + ", ".join(f"{k}={v:.4g}" for k, v in row["params"].items())
              + f"   worst relative error vs truth {worst:.2%}"
              + (f"   ({row['distinct_summaries']:,} distinct summaries)"
                 if "distinct_summaries" in row else ""))
    print(f"  predict + CLV (365 days, monthly steps) for all: {mine['predict_clv_seconds']} s")
    print(f"  (load average when done: {', '.join(f'{v:.1f}' for v in os.getloadavg())})")
    if args.lifetimes_customers:
        models = [m for m in args.lifetimes_models.split(",") if m]
        report["lifetimes"] = side = theirs(args.lifetimes_customers, args.seed, models)
        print(f"lifetimes {_version()} side by side, {args.lifetimes_customers:,} customers")
        for name in models:
            row = side[name]
            print(f"  {name:<11} touchpath {row['touchpath_seconds']:7.2f} s "
                  f"({row['touchpath_cpu_seconds']:.2f} CPU)   lifetimes "
                  f"{row['lifetimes_seconds']:7.2f} s ({row['lifetimes_cpu_seconds']:.2f} CPU)"
                  f"   lifetimes/touchpath {row['speedup']}x wall, {row['cpu_speedup']}x CPU")
            print("              touchpath " + _fmt(row["touchpath_params"])
                  + "\n              lifetimes " + _fmt(row["lifetimes_params"]))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=float))


def _fmt(params: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in params.items())


def _version() -> str:
    from importlib.metadata import version

    return version("lifetimes")


if __name__ == "__main__":
    main()
