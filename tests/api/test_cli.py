"""The CLI as an operator uses it: real subprocesses, a real data folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from relaydesk.testing.servers import free_port
from tests.cli import invoke
from tests.waiting import wait_until_serving

CLI = [sys.executable, "-m", "relaydesk"]


def run(
    *args: str, data_dir: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_create_commands_print_json_and_honour_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    site = run(
        "sites",
        "create",
        "--name",
        "Acme",
        "--origin",
        "https://Acme.example/shop",
        "--json",
        data_dir=data_dir,
    )
    assert site.returncode == 0, site.stderr
    created = json.loads(site.stdout)
    assert created["id"] == 1 and created["site_key"].startswith("site_")
    assert created["allowed_origins"] == ["https://acme.example"]
    assert (data_dir / "relaydesk.db").exists()

    # What the commands do, in this process (tests/cli.py); the process itself is proven
    # by the first and last commands here and by the `serve` test below.
    user = invoke(
        "users",
        "create",
        "--email",
        "Lee@Example.com",
        "--password",
        "s3cret-pass",
        "--role",
        "agent",
        "--role",
        "supervisor",
        "--team",
        "1",
        "--json",
        data_dir=data_dir,
    )
    assert user.returncode == 0, user.stderr
    assert json.loads(user.stdout) == {
        "id": 1,
        "email": "lee@example.com",
        "roles": ["agent", "supervisor"],
    }

    again = invoke(
        "users",
        "create",
        "--email",
        "lee@example.com",
        "--password",
        "s3cret-pass",
        "--role",
        "agent",
        data_dir=data_dir,
    )
    assert again.returncode == 2 and "email_taken" in again.stderr
    weak = invoke(
        "users",
        "create",
        "--email",
        "x@example.com",
        "--password",
        "short",
        "--role",
        "agent",
        data_dir=data_dir,
    )
    assert weak.returncode == 2 and "weak_password" in weak.stderr
    bad_role = invoke(
        "users",
        "create",
        "--email",
        "y@example.com",
        "--password",
        "long-enough",
        "--role",
        "god",
        data_dir=data_dir,
    )
    assert bad_role.returncode != 0

    # The same folder through the environment variable instead of the flag.
    env_site = subprocess.run(
        [*CLI, "sites", "create", "--name", "Second", "--any-origin", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "RELAYDESK_DATA_DIR": str(data_dir)},
    )
    assert json.loads(env_site.stdout)["id"] == 2
    upgraded = invoke("db", "upgrade", data_dir=data_dir)
    assert upgraded.returncode == 0 and "up to date" in upgraded.stdout


def test_serve_starts_with_demo_data_and_answers(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "data"
    started = time.monotonic()
    process = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(f"{base}/readyz", process, timeout=180 - (time.monotonic() - started))
        creds = json.loads((data_dir / "demo-credentials.json").read_text())
        assert oct((data_dir / "demo-credentials.json").stat().st_mode & 0o777) == "0o600"
        token = httpx.post(
            f"{base}/api/v1/auth/token",
            data={"username": creds["agent_email"], "password": creds["agent_password"]},
        )
        assert token.status_code == 200
        me = httpx.get(
            f"{base}/api/v1/auth/me",
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        )
        assert me.json()["email"] == creds["agent_email"]
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert creds["agent_password"] in output, "credentials are printed on start"
    assert f"http://127.0.0.1:{port}/console" in output
