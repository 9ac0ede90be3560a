"""Peers of the analytics benchmark: the same analyses written another way, run from the same
Parquet file (see ``benchmarks/analytics_speed.py``)."""
