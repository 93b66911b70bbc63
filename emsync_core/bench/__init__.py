"""Benchmarks behind `emsync bench`."""
