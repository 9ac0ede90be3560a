"""The CDNOW sample (2,357 customers of the CDNOW panel, Jan 1997 - Jun 1998) as the lifetimes
package ships it (MIT licence for the code; the data has no stated licence, so it is read
from the installed package, never copied here: lifetimes is a development dependency).

* ``CDNOW_sample.txt``: raw transactions (master id, sample id, yyyymmdd, CDs, dollars);
* ``cdnow_customers_summary.csv``: x, t_x, T in weeks for the 39-week calibration period
  1997-01-01 .. 1997-09-30 (FHL 2005's data);
* ``cdnow_customers_summary_with_transactions.csv``: the same with ``zbar``, the mean value of
  the calibration-period repeat transactions (Fader & Hardie's Gamma-Gamma note).
"""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

CALIBRATION_END = date(1997, 9, 30)
OBSERVATION_END = date(1998, 6, 30)


def data_dir() -> Path:
    spec = importlib.util.find_spec("lifetimes")  # finds the files without importing it
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the lifetimes package (a dev dependency holding the CDNOW data) is missing")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets"


def summary() -> pd.DataFrame:
    """ID, frequency, recency, T (weeks)."""
    return pd.read_csv(data_dir() / "cdnow_customers_summary.csv")


def summary_with_spend() -> pd.DataFrame:
    """ID, x, t_x, T, zbar."""
    return pd.read_csv(data_dir() / "cdnow_customers_summary_with_transactions.csv")


def transactions() -> pd.DataFrame:
    """customer (master id), id (1..2357), date, cds, value: one row per order line."""
    raw = pd.read_csv(data_dir() / "CDNOW_sample.txt", sep=r"\s+", header=None,
                      names=["customer", "id", "date", "cds", "value"], dtype={"date": str})
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return raw
