"""Benchmarks run from the checkout (``python -m bench.<name>``); not part of the package."""
