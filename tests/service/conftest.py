"""Fixtures of the service tests: the app, a test client, a real uvicorn server on a free loopback port.

A missing Chromium, chromedriver or Selenium is a test failure when ``CI`` is set (``.ci/run``
installs Debian's ``chromium`` and ``chromium-driver``) and a skip with a reason otherwise.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from npc_kg.service import ServiceConfig, create_app

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "patients"
CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromedriver")


@pytest.fixture()
def client():
    from starlette.testclient import TestClient

    with TestClient(create_app()) as test_client:
        yield test_client


def start_server(config: ServiceConfig | None = None) -> tuple[str, object, threading.Thread]:
    """Start uvicorn with the app on a free 127.0.0.1 port in a thread; return (base URL, server, thread)."""
    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server, thread


@pytest.fixture(scope="session")
def live_server() -> Iterator[str]:
    """A real running server (uvicorn) for the standard-client and browser tests."""
    url, server, thread = start_server()
    yield url
    server.should_exit = True  # type: ignore[attr-defined]
    thread.join(timeout=10)


def need_browser() -> None:
    """Fail under CI, skip locally, if Chromium, chromedriver or Selenium is missing."""
    missing = [path for path in CHROMIUM if not (os.path.exists(path) or shutil.which(Path(path).name))]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    if missing:
        message = f"browser tests need {', '.join(missing)} (.ci/run installs chromium and chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    """Headless Chromium driven by Selenium with Debian's chromedriver; browser console logs kept.

    Its profile goes to a pytest temporary folder (Chromium would leave ``/tmp/org.chromium.*``).
    """
    need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM[0] if os.path.exists(CHROMIUM[0]) else shutil.which("chromium") or ""
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,1600",
                "--no-first-run", "--disable-extensions", f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver_path = CHROMIUM[1] if os.path.exists(CHROMIUM[1]) else shutil.which("chromedriver") or ""
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
