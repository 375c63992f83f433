"""Benchmarks that print one JSON object each; run them from the repository root as
`python -m benchmarks.NAME` (see the README)."""
