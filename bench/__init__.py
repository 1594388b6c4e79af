"""Benchmarks: run by `make bench` or `python bench/fanout.py` (see bench/README.md).

A package only so that Daphne can load the reference apps as `bench.refapps.<name>`.
"""
