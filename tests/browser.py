"""Real-browser test support: the console served by uvicorn on a free port in a thread, and
the distribution's Chromium driven by Playwright.

Chromium comes from Debian's packages (.ci/browser), never from Playwright's downloads. In
CI a missing browser fails the test; elsewhere it skips, as the database tests do.
"""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn

from tests.conftest import IN_CI

CHROMIUM = "/usr/bin/chromium"


def chromium_path() -> str:
    """The browser's path, or a failure (CI) or skip (elsewhere) naming what is missing."""
    found = shutil.which("chromium") or (CHROMIUM if shutil.which(CHROMIUM) else None)
    if found is None:
        message = "Chromium is required for the browser tests: run `bash .ci/browser`"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve the ASGI `app` on 127.0.0.1 and a free port until the block ends; yields its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        ready = threading.Event()
        for _ in range(500):  # up to 5 s for the socket to listen
            if server.started:
                ready.set()
                break
            ready.wait(0.01)
        if not ready.is_set():
            pytest.fail("the console did not start listening within 5 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def browser() -> Iterator[Any]:
    """A headless Chromium (the distribution's), closed at the end of the block."""
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=path, args=["--no-sandbox"], headless=True)
        try:
            yield chromium
        finally:
            chromium.close()
