"""How fast ``flexjudge view`` shows the first page of a big result store.

Builds a store of N judged items (default 100K, each with 3 samples of ~1 KB reasoning, as
``judge run --votes 3`` writes them), then times, in one run:

* baseline: reading every record back with ``ResultStore`` iteration (what any tool that
  decodes the whole store pays);
* the viewer: ``load_source`` (heads only) + the server's first ``/api/meta`` and
  ``/api/items`` responses, i.e. everything the page needs before it draws its first rows;
* with ``--browser``: headless Chromium from navigation until the first table row exists.

Prints JSON with the machine, the load average and the ratios.  Not a test: numbers depend on
the machine.  Usage: ``python benchmarks/view_open.py [--items 100000] [--browser]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import threading
import time
import urllib.request
from pathlib import Path


def build_store(path: Path, n: int) -> None:
    from flexjudge.store import ResultStore

    reasoning = "The first response names the right city and explains why. " * 16
    with ResultStore(path) as store:
        batch = []
        for i in range(n):
            samples = [
                {
                    "text": f"<think>{reasoning}</think><answer>{7 + k % 2}</answer>",
                    "verdict": {
                        "status": "ok",
                        "scores": [7.0 + k % 2],
                        "preference": None,
                        "ranking": None,
                        "option": None,
                        "reasoning": reasoning,
                        "answer": "7",
                        "error": None,
                        "raw": None,
                    },
                    "order": [0],
                    "finish_reason": "stop",
                    "num_tokens": 240,
                    "seed": k,
                }
                for k in range(3)
            ]
            record = {
                "id": f"item-{i}",
                "task": "score",
                "protocol": "score-10",
                "mode": "clean",
                "status": "ok" if i % 7 else "no_answer",
                "scores": [7.3],
                "preference": None,
                "ranking": None,
                "option": None,
                "votes": {"7": 2, "8": 1},
                "agreement": 0.667,
                "n_failed": 0,
                "sampling": {"n": 3},
                "prompt_sha256": ["0" * 64],
                "seconds": 0.1,
                "num_tokens": 720,
                "error": None,
                "samples": samples,
            }
            batch.append((f"key-{i}", record))
            if len(batch) == 5000:
                store.put_many(batch)
                batch = []
        store.put_many(batch)


def first_page_seconds(path: Path) -> tuple[float, float, int]:
    from flexjudge.view import load_source, make_server

    start = time.perf_counter()
    server = make_server(load_source(path))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = "http://{}:{}".format(*server.server_address[:2])
    with urllib.request.urlopen(base + "/api/meta") as res:
        meta = json.loads(res.read())
    first = "" if meta["complete"] else "?first=100"  # what the page asks for first
    with urllib.request.urlopen(base + "/api/items" + first) as res:
        res.read()
    elapsed = time.perf_counter() - start
    with urllib.request.urlopen(base + "/api/items") as res:
        size = len(res.read())
    all_rows = time.perf_counter() - start
    server.shutdown()
    server.server_close()
    return elapsed, all_rows, size


def browser_seconds(path: Path) -> float | None:
    try:
        from selenium import webdriver
        from selenium.webdriver.support.ui import WebDriverWait
    except ImportError:
        return None
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if binary is None or driver is None:
        return None
    from flexjudge.view import load_source, make_server

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    browser = webdriver.Chrome(options=options, service=webdriver.ChromeService(driver))
    try:
        start = time.perf_counter()
        server = make_server(load_source(path))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        browser.get("http://{}:{}/#/".format(*server.server_address[:2]))
        WebDriverWait(browser, 60).until(
            lambda b: b.execute_script("return document.querySelector('#items tbody tr')")
        )
        elapsed = time.perf_counter() - start
        server.shutdown()
        server.server_close()
        return elapsed
    finally:
        browser.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--browser", action="store_true")
    args = parser.parse_args()
    from flexjudge.store import ResultStore

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.sqlite"
        t0 = time.perf_counter()
        build_store(path, args.items)
        build = time.perf_counter() - t0
        t0 = time.perf_counter()
        with ResultStore(path) as store:
            n = sum(1 for _ in store)
        full_read = time.perf_counter() - t0
        viewer, all_rows, size = first_page_seconds(path)
        browser = browser_seconds(path) if args.browser else None
    print(
        json.dumps(
            {
                "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                f"Python {platform.python_version()}",
                "load_average": os.getloadavg(),
                "items": n,
                "build_seconds": round(build, 2),
                "baseline_full_read_seconds": round(full_read, 3),
                "viewer_first_page_seconds": round(viewer, 3),
                "viewer_all_rows_seconds": round(all_rows, 3),
                "viewer_items_json_mb": round(size / 1e6, 2),
                "ratio_viewer_to_full_read": round(viewer / full_read, 3),
                "browser_first_row_seconds": None if browser is None else round(browser, 3),
                "goal": "first page < 2 s",
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
