"""`make bench`: the benchmarks, run as `python -m bench.<name>` from the repository root."""
