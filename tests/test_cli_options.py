"""Typed options and the generated CLI: one declaration per option, on its config field.

``JudgeOptions`` (the ``**options`` TypedDict) must mirror ``JudgeConfig``; every judging
command must carry every ``JudgeConfig`` option with the field's help text and default; and
every option of every command must have help text in ``--help``.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from typing import Any, get_type_hints

import pytest
import typer
from typer.core import TyperGroup, TyperOption
from typer.testing import CliRunner

from flexjudge import Judge, JudgeConfig, MockBackend
from flexjudge.cli import app
from flexjudge.cli._options import config_fields, config_options
from flexjudge.judge.config import JudgeCallOptions, JudgeOptions, option_help

# typer ships its own click: walk its command objects
ROOT = typer.main.get_command(app)
assert isinstance(ROOT, TyperGroup)

#: command path -> JudgeConfig fields deliberately left off it, with the reason
JUDGING_COMMANDS: dict[tuple[str, ...], set[str]] = {
    ("judge", "score"): set(),
    ("judge", "compare"): set(),
    ("judge", "rank"): set(),
    ("judge", "run"): set(),
    ("bench", "run"): set(),
    ("bon",): set(),
    ("pairs",): {"swap", "swap_policy"},  # it judges both orders of every pair itself
    ("serve",): {"batch_size"},  # the server batches by --max-batch
}


def _command(path: tuple[str, ...]) -> Any:
    cmd: Any = ROOT
    for name in path:
        assert isinstance(cmd, TyperGroup)
        cmd = cmd.get_command(None, name)  # type: ignore[arg-type]
        assert cmd is not None, path
    return cmd


def _all_commands(group: TyperGroup, prefix: tuple[str, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for name in group.list_commands(None):  # type: ignore[arg-type]
        cmd = group.get_command(None, name)  # type: ignore[arg-type]
        assert cmd is not None
        if isinstance(cmd, TyperGroup):
            out += _all_commands(cmd, (*prefix, name))
        else:
            out.append(((*prefix, name), cmd))
    return out


def _options(cmd: Any) -> dict[str, TyperOption]:
    return {p.name: p for p in cmd.params if isinstance(p, TyperOption) and p.name}


def test_judge_options_mirror_judge_config() -> None:
    config = get_type_hints(JudgeConfig)
    options = get_type_hints(JudgeOptions)
    assert options == config  # same keys, same types
    assert JudgeOptions.__required_keys__ == frozenset()  # total=False
    call = get_type_hints(JudgeCallOptions)
    assert call == {k: v for k, v in config.items() if k != "protocol"}


def test_every_config_field_has_one_help_text_used_by_the_docstring() -> None:
    for f in dataclasses.fields(JudgeConfig):
        text = f.metadata.get("help")
        assert isinstance(text, str) and len(text) > 10, f.name
        assert option_help(f.name) == text
        assert f"{f.name}: {text}" in (JudgeConfig.__doc__ or "")


def test_judge_methods_take_typed_options() -> None:
    for name in (
        "__init__",
        "from_pretrained",
        "run",
        "score",
        "compare",
        "rank",
        "score_batch",
        "compare_batch",
        "rank_batch",
    ):
        sig = inspect.signature(getattr(Judge, name))
        kwargs = [p for p in sig.parameters.values() if p.kind is p.VAR_KEYWORD]
        assert len(kwargs) == 1, name
        assert re.fullmatch(r"Unpack\[Judge(Call)?Options\]", str(kwargs[0].annotation)), name
    for name in ("score", "compare", "rank"):  # item-level keys stay explicit
        params = inspect.signature(getattr(Judge, name)).parameters
        assert {"id", "images", "videos", "audios", "protocol", "fields"} <= set(params)


def test_typed_options_reach_the_config() -> None:
    judge = Judge(MockBackend(), votes=3, swap=True, score_aggregate="median")
    assert (judge.config.votes, judge.config.swap, judge.config.score_aggregate) == (
        3,
        True,
        "median",
    )
    r = judge.score("q", "a", votes=2, id="x")
    assert r.id == "x" and len(r.samples) == 2
    with pytest.raises(TypeError):
        Judge(MockBackend(), JudgeConfig(), votes=2)


@pytest.mark.parametrize("path", sorted(JUDGING_COMMANDS), ids="-".join)
def test_every_judge_option_is_on_every_judging_command(path: tuple[str, ...]) -> None:
    options = _options(_command(path))
    for f in config_fields(JudgeConfig, exclude=JUDGING_COMMANDS[path]):
        opt = options.get(f.name)
        assert opt is not None, f"{' '.join(path)} lacks --{f.name.replace('_', '-')}"
        assert opt.help == f.metadata["help"], f.name  # the field's text, not a copy
        if not (path == ("bench", "run") and f.name == "mode"):  # bench keeps reference
            assert opt.default == f.default, f.name


def test_batch_size_has_one_default() -> None:
    default = next(f.default for f in dataclasses.fields(JudgeConfig) if f.name == "batch_size")
    for path in JUDGING_COMMANDS:
        opt = _options(_command(path)).get("batch_size")
        if opt is not None:
            assert opt.default == default, path


def test_generated_choices_come_from_the_field_types() -> None:
    args = ["judge", "run", "-m", "x", "-i", "a", "-o", "b"]
    res = CliRunner().invoke(app, [*args, "--pair-aggregate", "nope"])
    assert res.exit_code == 2 and "'majority', 'signed', 'mean'" in res.output
    res = CliRunner().invoke(app, [*args, "--votes", "many"])
    assert res.exit_code == 2 and "--votes" in res.output


@pytest.mark.parametrize("entry", _all_commands(ROOT), ids=lambda e: "-".join(e[0]))
def test_help_describes_every_option(entry: tuple[Any, ...]) -> None:
    path, cmd = entry
    for param in cmd.params:
        if isinstance(param, TyperOption):
            assert param.help and param.help.strip(), f"{' '.join(path)} --{param.name}"
    res = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    text = re.sub(r"\s+", " ", res.output)
    assert cmd.help is None or cmd.help.split("\n")[0][:30] in res.output
    for param in cmd.params:
        if isinstance(param, TyperOption):
            assert param.opts[0] in text, f"{' '.join(path)} --help lacks {param.opts[0]}"


def test_generator_rejects_fields_without_help() -> None:
    @dataclasses.dataclass
    class Bad:
        x: int = 1

    def command(options: dict[str, Any]) -> None: ...

    with pytest.raises(TypeError, match="no help text"):
        config_options(Bad)(command)
