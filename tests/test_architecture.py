"""The dependency rules of docs/architecture.md, checked on the source with ``ast``.

Every ``import`` counts: module level, inside functions, and under ``TYPE_CHECKING``.  An edge
goes from a module to the deepest flexjudge module it names (``from flexjudge.media import
Image`` is an edge to ``flexjudge.media``, ``from flexjudge.protocol import _catalog`` one to
``flexjudge.protocol._catalog``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

import flexjudge
from flexjudge.families import PLACEHOLDERS

SRC = Path(flexjudge.__file__).resolve().parent
MAX_LINES = 400
#: modules merged over the limit, to be split; the test fails if one grows or another joins
OVER_LIMIT: dict[str, int] = {}
#: modules whose string constants are hostile test data that imitate placeholders on purpose
PLACEHOLDER_DATA = {"flexjudge.testing._hostile"}

#: layer of each top-level part; a module may import its own part and lower layers only
LAYERS: dict[str, int] = {
    "errors": 0,
    "families": 0,
    "_util": 1,
    "media": 2,
    "protocol": 3,
    "backends": 4,
    "store": 4,
    "judge": 5,
    "runner": 6,
    "apps": 6,
    "curate": 6,
    "train": 6,
    "bench": 6,
    "testing": 6,
    "serve": 7,
    "view": 8,  # the results viewer reads media with the server's safe file reader
    "cli": 9,
    "": 9,  # flexjudge/__init__.py: the public re-exports
}

#: the parts allowed to import backends, and why
BACKEND_USERS = {
    "judge": "the judge drives a backend",
    "curate": "teacher generation runs a backend directly (no verdicts to parse)",
    "serve": "the OpenAI-compatible router fronts a backend",
    "cli": "turns --backend/--model flags into a backend",
    "testing": "a tiny mol-llm checkpoint saves the molecular encoder its backend defines",
    "": "the package root re-exports the public backend names",
}

#: upward edges that are deliberate, with the reason
ALLOWED_UPWARD = {
    ("flexjudge.cli.main", "flexjudge"): "`flexjudge --version` reads flexjudge.__version__",
    ("flexjudge.apps", "flexjudge.serve"): (
        "flexjudge.apps.ServerConfig/create_app stay importable: a lazy __getattr__ re-export"
    ),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _resolve(name: str) -> str | None:
    modules = _modules()
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _imported_names(module: str, path: Path) -> Iterator[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                kept = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*kept, base] if base else kept)
            for alias in node.names:
                yield f"{base}.{alias.name}"


@cache
def _edges() -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    for module, path in _modules().items():
        targets = {
            target
            for name in _imported_names(module, path)
            if name.split(".")[0] == "flexjudge"
            for target in [_resolve(name)]
            if target is not None and target != module
        }
        out[module] = frozenset(targets)
    return out


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    edges = _edges()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in edges:
        if v not in index:
            visit(v)
    return found


def test_walker_sees_every_kind_of_import() -> None:
    edges = _edges()
    # function-level import
    assert "flexjudge.backends._transformers" in edges["flexjudge.backends"]
    # relative-free "from package import submodule"
    assert "flexjudge.protocol._catalog" in edges["flexjudge.protocol"]
    # TYPE_CHECKING import
    assert "flexjudge.judge" in edges["flexjudge.apps._bon"]
    assert set(LAYERS) >= {_part(m) for m in _modules()}, "a new top-level part needs a layer"


def test_no_import_cycles() -> None:
    assert _cycles() == []


def test_dependencies_point_downward() -> None:
    bad = [
        f"{a} -> {b}"
        for a, targets in _edges().items()
        for b in sorted(targets)
        if LAYERS[_part(b)] > LAYERS[_part(a)]
        or (LAYERS[_part(b)] == LAYERS[_part(a)] and _part(a) != _part(b))
        if (a, _part_module(b)) not in ALLOWED_UPWARD
    ]
    assert bad == []


def _part_module(module: str) -> str:
    return ".".join(module.split(".")[:2])


@pytest.mark.parametrize(
    ("importer", "why"),
    [
        ("protocol", "protocols render text and never run a model"),
        ("media", "media inputs are decoded without a model"),
        ("store", "the store keeps results, whoever made them"),
        ("apps", "apps compose the Judge"),
        ("bench", "benchmarks compose the Judge"),
        ("runner", "file runs compose the Judge"),
        ("train", "training loads checkpoints itself"),
    ],
)
def test_forbidden_backend_edges(importer: str, why: str) -> None:
    assert importer not in BACKEND_USERS, why
    bad = [
        f"{a} -> {b}"
        for a, targets in _edges().items()
        if _part(a) == importer
        for b in sorted(targets)
        if _part(b) == "backends"
    ]
    assert bad == [], why


def test_only_named_parts_import_backends() -> None:
    users = {
        _part(a) for a, targets in _edges().items() if any(_part(b) == "backends" for b in targets)
    }
    assert users - {"backends"} <= set(BACKEND_USERS)


def test_store_never_imports_the_judge() -> None:
    bad = [
        f"{a} -> {b}"
        for a, targets in _edges().items()
        if _part(a) == "store"
        for b in targets
        if _part(b) == "judge"
    ]
    assert bad == []


def test_no_module_over_the_line_limit() -> None:
    long = {
        name: n
        for name, path in _modules().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines()))
        > max(MAX_LINES, OVER_LIMIT.get(name, 0))
    }
    assert long == {}


def _docstrings(tree: ast.AST) -> set[int]:
    scopes = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, scopes)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def test_placeholders_are_written_only_in_families() -> None:
    placeholders = {p for table in PLACEHOLDERS.values() for p in table.values()}
    trees = {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in _modules().items()}
    where = sorted(
        name
        for name, tree in trees.items()
        if name != "flexjudge.families" and name not in PLACEHOLDER_DATA
        for docs in [_docstrings(tree)]
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and id(node) not in docs
        and isinstance(node.value, str)
        and any(p in node.value for p in placeholders)
    )
    assert where == []


def test_base64_is_decoded_only_by_the_media_codec() -> None:
    where = sorted(
        name
        for name, path in _modules().items()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute)
        and node.attr in ("b64decode", "urlsafe_b64decode", "standard_b64decode")
    )
    assert where == ["flexjudge.media._base64"]
