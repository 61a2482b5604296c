"""Timing scripts, run with ``python -m benchmarks.<name>`` (``make bench``)."""
