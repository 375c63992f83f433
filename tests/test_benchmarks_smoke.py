"""Every benchmark still runs: each in its `--quick` mode (seconds, not minutes, of
measuring), printing one JSON object with its figures. Benchmarks are only run by hand
otherwise, and one that no longer starts would go unnoticed (it happened to the console
benchmark when the messages benchmark was split).

Run from the repository root as the README shows, `python -m benchmarks.NAME`; the figures
themselves are not judged here (a smoke run on a busy machine measures nothing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent

# Benchmark -> keys its JSON must have.
BENCHMARKS: dict[str, set[str]] = {
    "analytics": {"benchmark", "days", "sqlite"},
    "messages": {"benchmark", "config", "targets", "target_met"},
    "console": {"benchmark", "config", "targets"},
    "widget": {"loader_gzip_bytes", "bundle_gzip_bytes", "open_ms"},
    "retrieval": {"banking77-faq", "bq-faq", "banking77-faq-open", "latency"},
    "bot": {"decisions", "first_token_ms"},
    "encryption": {"benchmark", "plan_batch_us_per_message", "pieces_us"},
    "event_cost": {"benchmark", "cpu_us_per_message_on", "cpu_us_per_message_off"},
}


def test_every_benchmark_is_smoke_tested() -> None:
    scripts = {p.stem for p in (REPO / "benchmarks").glob("*.py") if not p.stem.startswith("_")}
    assert scripts == set(BENCHMARKS)


def _run(name: str, *extra: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{name}", "--quick", *extra],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        # From the repository root, as the README shows: the folder must be on sys.path
        # (scripts/test sets PYTHONSAFEPATH for pytest itself, to import the installed wheel).
        env={
            **{k: v for k, v in os.environ.items() if k != "PYTHONSAFEPATH"},
            "PYTHONUNBUFFERED": "1",
        },
    )
    # A benchmark exits 1 when a figure misses its target: not a failure of the smoke run.
    assert done.returncode in (0, 1), done.stderr[-3000:]
    try:
        output = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"{name} printed no JSON object:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    assert isinstance(output, dict)
    return output


@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_benchmark_quick_mode_prints_its_figures(name: str) -> None:
    output = _run(name)
    assert BENCHMARKS[name] <= set(output), sorted(output)
    for target, figures in output.get("targets", {}).items():
        if isinstance(figures, dict):
            assert "failed" not in figures, (target, figures["failed"])


@pytest.mark.timeout(900)
def test_concurrent_search_mode_prints_its_figures() -> None:
    """`retrieval --concurrent`: a real server, searched over HTTP by 1 and N clients."""
    output = _run("retrieval", "--concurrent", "2", "--runs", "1")
    assert output["server_log_tracebacks"] == 0
    for task in ("banking77-faq", "bq-faq"):
        assert {"clients_1", "clients_2"} <= set(output[task]), sorted(output[task])
