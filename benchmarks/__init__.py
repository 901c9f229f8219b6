"""Benchmarks: run each as a module, e.g. ``python -m benchmarks.insights`` (see README.md)."""
