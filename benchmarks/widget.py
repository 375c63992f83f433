"""Widget weight and speed: what a host page pays for the one script tag.

Starts `relaydesk serve` (demo data, a temporary data dir, a free 127.0.0.1 port) and
measures:

- `loader_gzip_bytes`, `bundle_gzip_bytes`: the bytes on the wire as served with
  `Accept-Encoding: gzip` (targets: ≤ 2 KB and ≤ 45 KB);
- `open_ms`: click on the launcher → the message input is visible and focused, in
  headless Debian chromium with a cold cache (a fresh browser context per run, pressing
  the launcher as soon as it appears, so the bundle is usually still to be fetched),
  measured in the page from the press's event timestamp to the first frame painted with
  the input usable; median and spread over several runs (target ≤ 300 ms).
  `open_ms_without_idle_preload` is the same with `requestIdleCallback` disabled, so the
  bundle is fetched and run after the pointer reaches the launcher.

Prints one JSON object on stdout; logs go to stderr.

    python -m benchmarks.widget [--runs 9] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from playwright.async_api import async_playwright

from relaydesk.testing.servers import free_port, wait_for_port

CHROMIUM = os.environ.get("RELAYDESK_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# Installed before the click: the press's own timestamp, then the first frame painted
# after the input became visible, enabled and focused (frames are checked with rAF).
WATCH = """() => new Promise((resolve) => {
  const root = document.querySelector('relaydesk-widget').shadowRoot;
  let pressed = null;
  let preloaded = false;
  root.addEventListener('pointerdown', (e) => {
    pressed = e.timeStamp;
    preloaded = typeof window.Relaydesk.toggle === 'function';
  }, { capture: true, once: true });
  const usable = () => {
    const input = root.querySelector('.composer textarea');
    return !!input && input.offsetParent !== null && !input.disabled
      && root.activeElement === input;
  };
  const frame = () => {
    if (pressed === null || !usable()) return requestAnimationFrame(frame);
    requestAnimationFrame(() => resolve([performance.now() - pressed, preloaded]));
  };
  requestAnimationFrame(frame);
})"""


def gzip_size(base: str, path: str) -> int:
    response = httpx.get(base + path, headers={"Accept-Encoding": "gzip"})
    response.raise_for_status()
    assert response.headers.get("content-encoding") == "gzip", path
    return int(response.headers["content-length"])


async def open_times(base: str, runs: int, *, idle_preload: bool) -> tuple[list[float], int]:
    times: list[float] = []
    fetched_after_press = 0
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            for _ in range(runs + 1):  # the first run warms up the server, not the browser
                context = await browser.new_context(viewport={"width": 1280, "height": 800})
                page = await context.new_page()
                if not idle_preload:
                    # The worst case: the browser never idles before the press.
                    await page.add_init_script("window.requestIdleCallback = () => 0;")
                await page.goto(f"{base}/demo")
                launcher = page.locator("relaydesk-widget button.launcher")
                await launcher.wait_for(state="visible")
                box = await launcher.bounding_box()
                assert box is not None
                opened = asyncio.ensure_future(page.evaluate(WATCH))
                await page.evaluate("() => new Promise(requestAnimationFrame)")
                # A real pointer: it enters the launcher (which may start the bundle's
                # download, as it would for a person) and presses at once.
                await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
                await page.mouse.down()
                await page.mouse.up()
                elapsed, preloaded = await asyncio.wait_for(opened, 10)
                times.append(float(elapsed))
                fetched_after_press += not preloaded
                await context.close()
        finally:
            await browser.close()
    return times[1:], fetched_after_press


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 timed run each")
    args = parser.parse_args()
    if args.quick:
        args.runs = 1  # after the warm-up run that each series drops
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="relaydesk-widget-bench-") as data_dir:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "relaydesk",
                "serve",
                "--port",
                str(port),
                "--data-dir",
                data_dir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=sys.stderr,
        )
        try:
            wait_for_port(port, timeout=120)
            manifest = json.loads(
                (
                    Path(__file__).resolve().parent.parent / "relaydesk/widget/static/manifest.json"
                ).read_text()
            )
            loader = gzip_size(base, "/widget/loader.js")
            bundle = gzip_size(base, f"/widget/{manifest['bundle']}")
            times, cold = asyncio.run(open_times(base, args.runs, idle_preload=True))
            no_idle, no_idle_cold = asyncio.run(open_times(base, args.runs, idle_preload=False))
        finally:
            server.terminate()
            server.wait(timeout=30)
    result = {
        "loader_gzip_bytes": loader,
        "bundle_gzip_bytes": bundle,
        "open_ms": {
            "median": round(statistics.median(times), 1),
            "min": round(min(times), 1),
            "max": round(max(times), 1),
            "runs": len(times),
            "bundle_not_yet_running_at_press": cold,
        },
        "open_ms_without_idle_preload": {
            "median": round(statistics.median(no_idle), 1),
            "min": round(min(no_idle), 1),
            "max": round(max(no_idle), 1),
            "runs": len(no_idle),
            "bundle_not_yet_running_at_press": no_idle_cold,
        },
        "targets": {"loader_gzip_bytes": 2048, "bundle_gzip_bytes": 45 * 1024, "open_ms": 300},
        "within_targets": loader <= 2048
        and bundle <= 45 * 1024
        and max(statistics.median(times), statistics.median(no_idle)) <= 300,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
