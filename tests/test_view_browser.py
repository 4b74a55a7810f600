"""``flexjudge view`` in a real browser: headless Chromium (Debian's package) via Selenium.

Skips with the reason when Selenium, Chromium or its driver is missing (``.ci/run``
installs them when it can); the data-API tests in ``test_view.py`` run either way.  The
screenshot lands in ``$FLEXJUDGE_ARTIFACTS`` (default ``test-artifacts/``).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flexjudge.view import load_source, make_server
from test_view import HOSTILE, judge_run, write_items

pytestmark = pytest.mark.slow
ARTIFACTS = Path(
    os.environ.get("FLEXJUDGE_ARTIFACTS", Path(__file__).parent.parent / "test-artifacts")
)


def _browser() -> Any:
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if binary is None or driver is None:
        pytest.skip(
            "Chromium or chromedriver is not installed (apt-get install chromium chromium-driver)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1300,1000",
        "--autoplay-policy=no-user-gesture-required",
    ):
        options.add_argument(arg)
    try:
        return webdriver.Chrome(options=options, service=webdriver.ChromeService(driver))
    except Exception as exc:
        pytest.skip(f"headless Chromium did not start: {exc}")


@pytest.fixture()
def page(tiny_omni: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    items = write_items(tmp_path / "data")
    monkeypatch.chdir(items.parent)
    out = tmp_path / "results.jsonl"
    judge_run(items, out, "--max-tokens", "8", model=str(tiny_omni), backend="transformers")
    server = make_server(load_source(out, inputs=items))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    browser = _browser()
    browser.base = "http://{}:{}".format(*server.server_address[:2])
    yield browser
    browser.quit()
    server.shutdown()
    server.server_close()


def _wait(browser: Any, script: str, timeout: float = 15.0) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout).until(lambda b: b.execute_script(script))


def test_list_filters_item_page_media_and_refusals(page: Any) -> None:
    page.get(page.base + "/#/")
    assert _wait(page, "return document.querySelectorAll('#items tbody tr').length") == 6
    rows = page.execute_script(
        "return [...document.querySelectorAll('#items tbody tr')]"
        ".map(r => [r.dataset.idx, r.cells[0].textContent, r.cells[1].textContent])"
    )
    idx = {name: i for i, name, _ in rows}
    statuses = [status for _, _, status in rows]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.save_screenshot(str(ARTIFACTS / "view-list.png"))
    page.get(page.base + "/#/?q=sydney")
    one = "const n = document.querySelectorAll('#items tbody tr').length; return n === 1 ? n : null"
    assert _wait(page, one) == 1
    page.get(f"{page.base}/#/?status={statuses[0]}")
    count = f"{statuses.count(statuses[0])} items"
    assert _wait(
        page, f"return document.getElementById('count')?.textContent.startsWith('{count}')"
    )
    for name, selector in (("img", "figure.image img"), ("mol", "figure.molecule img")):
        page.get(f"{page.base}/#/item/{idx[name]}")
        loaded = _wait(
            page,
            f"const i = document.querySelector('{selector}');"
            "return i && i.complete && i.naturalWidth > 0 ? i.naturalWidth : null",
        )
        assert loaded > 0, name
        page.save_screenshot(str(ARTIFACTS / f"view-{name}.png"))
    page.get(f"{page.base}/#/item/{idx['aud']}")
    assert _wait(page, "return document.querySelector('figure.audio audio')?.src")
    assert _wait(page, "return document.querySelector('#samples .sample') !== null")
    assert page.find_element("css selector", "#samples").text.count("Sample") >= 1
    page.save_screenshot(str(ARTIFACTS / "view-audio.png"))
    page.get(f"{page.base}/#/item/{idx['hostile']}")
    _wait(page, "return document.querySelector('#verdict') !== null")
    assert page.title == "flexjudge view" and HOSTILE in page.find_element("tag name", "main").text
    statuses = page.execute_async_script(
        "const done = arguments[0];"
        "Promise.all(['/static/%2e%2e/%2e%2e/etc/passwd', '/media/999', '/etc/passwd']"
        ".map(u => fetch(u).then(r => r.status))).then(done)"
    )
    assert statuses == [404, 404, 404]
