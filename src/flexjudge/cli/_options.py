"""Command-line options generated from config dataclasses (the way TRL's parser builds its CLI
from ``SFTConfig``): each field becomes ``--field-name`` with the field's type, default and
help text (``field(metadata={"help": ...})``), so an option is declared once, on its config.

>>> @judge_app.command("run")                                        # doctest: +SKIP
... @config_options(JudgeConfig)
... def run(model: str, options: dict[str, Any]) -> None: ...

The decorated command keeps its own parameters and gains one ``--option`` per field; the
values arrive together as the ``options`` dict (field name → value), ready for
``JudgeConfig(**options)`` or ``Judge.from_pretrained(..., **options)``.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Collection, Mapping
from typing import Annotated, Any, Literal, TypeVar, get_type_hints

import typer

F = TypeVar("F", bound=Callable[..., Any])

#: the parameter through which a decorated command receives the generated options
OPTIONS_PARAM = "options"


def config_fields(
    cls: type, *, exclude: Collection[str] = (), only: Collection[str] | None = None
) -> list[dataclasses.Field[Any]]:
    """The fields of dataclass ``cls`` that belong on a command line (not ``cli=False``)."""
    out = []
    for f in dataclasses.fields(cls):
        if not f.metadata.get("cli", True) or f.name in exclude:
            continue
        if only is not None and f.name not in only:
            continue
        if not f.metadata.get("help"):
            raise TypeError(f"{cls.__name__}.{f.name} has no help text (metadata['help'])")
        out.append(f)
    return out


def config_parameters(
    cls: type,
    *,
    exclude: Collection[str] = (),
    only: Collection[str] | None = None,
    defaults: Mapping[str, Any] | None = None,
    panel: str | None = None,
) -> list[inspect.Parameter]:
    """One keyword-only ``typer.Option`` parameter per CLI field of ``cls``.  ``defaults``
    replaces a field's default on this command only (its help text stays the field's)."""
    hints = get_type_hints(cls)
    params = []
    for f in config_fields(cls, exclude=exclude, only=only):
        if defaults is not None and f.name in defaults:
            default = defaults[f.name]
        elif f.default is not dataclasses.MISSING:
            default = f.default
        else:
            raise TypeError(f"{cls.__name__}.{f.name}: a CLI option needs a plain default")
        option = typer.Option(help=str(f.metadata["help"]), rich_help_panel=panel)
        params.append(
            inspect.Parameter(
                f.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=default,
                annotation=Annotated[_choices(f) or hints[f.name], option],
            )
        )
    return params


def _choices(f: dataclasses.Field[Any]) -> Any:
    """``Literal[...]`` of a field's registered choices (reducer names), read when the CLI is
    built, so a reducer registered before that is offered too; None for other fields."""
    choices = f.metadata.get("choices")
    return Literal.__getitem__(tuple(choices())) if choices is not None else None


def config_options(
    cls: type,
    *,
    exclude: Collection[str] = (),
    only: Collection[str] | None = None,
    defaults: Mapping[str, Any] | None = None,
    panel: str | None = "Judge options",
) -> Callable[[F], F]:
    """Decorate a typer command so it takes ``cls``'s fields as options (see the module
    docstring); the command receives them as its ``options: dict[str, Any]`` parameter."""

    def decorate(command: F) -> F:
        own = inspect.signature(command, eval_str=True)
        if OPTIONS_PARAM not in own.parameters:
            raise TypeError(f"{command.__name__} needs an {OPTIONS_PARAM!r} parameter")
        kept = [p for p in own.parameters.values() if p.name != OPTIONS_PARAM]
        generated = config_parameters(
            cls, exclude=exclude, only=only, defaults=defaults, panel=panel
        )
        clash = {p.name for p in kept} & {p.name for p in generated}
        if clash:
            raise TypeError(f"{command.__name__} declares generated options {sorted(clash)}")
        names = [p.name for p in generated]

        def wrapper(**kwargs: Any) -> Any:
            options = {name: kwargs.pop(name) for name in names}
            return command(**kwargs, **{OPTIONS_PARAM: options})

        params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in kept] + generated
        wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        wrapper.__name__ = command.__name__
        wrapper.__qualname__ = command.__qualname__
        wrapper.__doc__ = command.__doc__
        wrapper.__module__ = command.__module__
        return wrapper  # type: ignore[return-value]

    return decorate
