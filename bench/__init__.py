"""Benchmarks that print their figures (``make bench``); not run by CI."""
