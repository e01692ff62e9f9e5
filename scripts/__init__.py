"""`make demo`: the demo, run as `python -m scripts.demo` from the repository root."""
