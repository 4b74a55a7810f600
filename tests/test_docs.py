"""The docs run: every ``python`` and ``bash`` block of README.md and docs/*.md is executed or
checked, so the documentation cannot rot.

The nearest ``<!-- docs-test: KIND — why -->`` comment above a block (after the previous
block) says how:

* no marker: run as written (python in-process, bash with ``bash -e``);
* ``mock``: a python block run with the hub checkpoints it names answered by the mock backend
  (the HF hub is unreachable in tests);
* ``after-install``: a bash block run from its first non-``pip install`` command on (the
  packages are installed already);
* ``synopsis``: a usage summary; every ``flexjudge`` command and ``--option`` it names must
  exist on that command;
* ``skip``: not run, the comment's reason is the skip reason (GPU, hub, installs).

Blocks run in a scratch folder holding the example inputs they name (``0.jpg``, ``cat.png``,
``candidates.jsonl``) and a link to the repository's ``examples/``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
from PIL import Image
from typer.core import TyperGroup, TyperOption

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
_MARKER = re.compile(r"<!-- docs-test: (\w[\w-]*)(?: — (.*?))? -->")
#: hub checkpoints named in the docs -> the model family a mock stands in with
HUB_MODELS = {
    "jongwooko/Flex-VL-7B": "qwen2_5_vl",
    "jongwooko/Flex-Omni-7B": "qwen2_5_omni",
}


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int
    lang: str
    code: str
    kind: str | None
    reason: str

    @property
    def name(self) -> str:
        return f"{self.doc.relative_to(REPO)}:{self.line}"


def _blocks() -> list[Block]:
    out = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        previous_end = 0
        for m in _FENCE.finditer(text):
            markers = list(_MARKER.finditer(text, previous_end, m.start()))
            kind, reason = (
                (markers[-1].group(1), markers[-1].group(2) or "") if markers else (None, "")
            )
            previous_end = m.end()
            if m.group(1) not in ("python", "bash"):
                continue
            line = text.count("\n", 0, m.start()) + 1
            out.append(Block(doc, line, m.group(1), m.group(2), kind, reason))
    return out


BLOCKS = _blocks()


def test_docs_have_blocks_and_known_markers() -> None:
    assert len(BLOCKS) >= 10
    for b in BLOCKS:
        assert b.kind in (None, "mock", "after-install", "synopsis", "skip"), b.name
        if b.kind == "skip":
            assert b.reason, f"{b.name}: a skipped block says why"


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    Image.new("RGB", (64, 48), "orange").save(tmp_path / "0.jpg")
    Image.new("RGB", (64, 48), "gray").save(tmp_path / "cat.png")
    rows = [
        {"id": "1", "question": "2+2?", "responses": ["4", "5", "22"], "labels": [1, 0, 0]},
        {
            "id": "2",
            "question": "Capital of France?",
            "responses": ["Paris", "Rome"],
            "labels": [1, 0],
        },
    ]
    (tmp_path / "candidates.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "examples").symlink_to(REPO / "examples")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _mock_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    import flexjudge.judge.judge as judge_module
    from flexjudge import MockBackend

    real = judge_module.load_backend

    def load_backend(name: str, model: str, **kwargs: Any) -> Any:
        if model in HUB_MODELS:
            return MockBackend(model, family=HUB_MODELS[model])  # type: ignore[arg-type]
        return real(name, model, **kwargs)

    monkeypatch.setattr(judge_module, "load_backend", load_backend)


def _flexjudge_shim(folder: Path) -> dict[str, str]:
    """An environment whose ``flexjudge`` runs this checkout's CLI with this interpreter."""
    bin_dir = folder / ".bin"
    bin_dir.mkdir(exist_ok=True)
    shim = bin_dir / "flexjudge"
    shim.write_text(
        f"#!/bin/sh\nexec {sys.executable} -c "
        '\'import sys; sys.argv[0] = "flexjudge"; from flexjudge.cli import main; main()\' "$@"\n'
    )
    shim.chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
    return env


def _after_install(code: str) -> str:
    commands = [c.strip() for c in code.replace("\\\n", " ").split("&&")]
    return " && ".join(c for c in commands if not c.startswith("pip install"))


# ---------------------------------------------------------------- synopsis checks
def _command_tree() -> TyperGroup:
    from flexjudge.cli import app

    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    return root


def _synopsis_lines(code: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", " ", code)
    return [
        ln.split("#")[0].strip() for ln in joined.splitlines() if ln.strip().startswith("flexjudge")
    ]


def _leaves(tokens: list[str], root: TyperGroup) -> tuple[list[Any], int]:
    """The commands a synopsis line names (``a|b`` alternatives expand), and how many of its
    tokens were command words."""
    current: list[Any] = [root]
    used = 0
    i = 0
    while i < len(tokens):
        words = tokens[i].split("|")
        while i + 2 < len(tokens) and tokens[i + 1] == "|":  # "list | show | export"
            words.append(tokens[i + 2])
            i += 2
        if not all(isinstance(c, TyperGroup) for c in current):
            break
        found = [c.get_command(None, w) for c in current for w in words if w]  # type: ignore[arg-type]
        if not found or any(f is None for f in found):
            break
        current, i, used = found, i + 1, i + 1
    return current, used


def check_synopsis(code: str) -> list[str]:
    """Problems of a synopsis block: unknown commands, or options a command lacks."""
    root = _command_tree()
    problems = []
    for line in _synopsis_lines(code):
        tokens = line.split()[1:]
        if tokens and tokens[0] == "--version":
            continue
        commands, used = _leaves(tokens, root)
        if used == 0:
            problems.append(f"{line!r}: no such command")
            continue
        for opt in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", " ".join(tokens[used:])):
            for cmd in commands:
                names = {"--help"}
                for p in cmd.params:
                    if isinstance(p, TyperOption):
                        names |= set(p.opts) | set(p.secondary_opts)
                if opt not in names:
                    problems.append(f"{line!r}: {cmd.name} has no {opt}")
    return problems


def test_synopsis_checker_catches_rot() -> None:
    assert check_synopsis("flexjudge judge run --model M --votes 3") == []
    assert check_synopsis("flexjudge protocols list | export --json") == []
    assert check_synopsis("flexjudge protocols list | export --render") != []
    assert check_synopsis("flexjudge judge run --bogus") != []
    assert check_synopsis("flexjudge nope --model M") != []
    assert check_synopsis("flexjudge judge score|compare|rank --model M --votes 2") == []


# ---------------------------------------------------------------- the blocks
@pytest.mark.parametrize(
    "block",
    [
        pytest.param(b, id=b.name, marks=[pytest.mark.slow] if b.kind == "after-install" else [])
        for b in BLOCKS
    ],
)
def test_doc_block(block: Block, scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if block.kind == "skip":
        pytest.skip(block.reason)
    if block.kind == "synopsis":
        assert check_synopsis(block.code) == [], block.name
        return
    if block.lang == "python":
        if block.kind == "mock":
            _mock_hub(monkeypatch)
        exec(compile(block.code, block.name, "exec"), {"__name__": "__docs__"})
        return
    if block.kind == "after-install":
        code = _after_install(block.code)
        if "tiny-model" in code:
            pytest.importorskip("torch")
    else:
        code = block.code
    proc = subprocess.run(
        ["bash", "-e", "-c", code],
        cwd=scratch,
        env=_flexjudge_shim(scratch),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, f"{block.name}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
