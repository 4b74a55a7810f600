"""Exception hierarchy.

Every error that comes from bad input names the record and the field it came from, so that a
long batch run can record the failure against that item and carry on.
"""

from __future__ import annotations


class FlexJudgeError(Exception):
    """Base class of every error raised on purpose by flexjudge."""


class InputError(FlexJudgeError, ValueError):
    """Bad user input: a wrong schema, a missing field, an out-of-range value.

    ``record`` is the item id (or ``file:line``) and ``field`` the offending field, when known.
    """

    def __init__(self, message: str, *, record: str | None = None, field: str | None = None):
        self.record = record
        self.field = field
        self.message = message
        where = []
        if record is not None:
            where.append(f"record {record!r}")
        if field is not None:
            where.append(f"field {field!r}")
        prefix = (", ".join(where) + ": ") if where else ""
        super().__init__(prefix + message)

    @classmethod
    def formatted(cls, text: str, *, record: str | None, field: str | None) -> InputError:
        """An error whose ``text`` already names its record and field: not prefixed again
        (e.g. re-raising a batch's error row from a single call)."""
        err = cls.__new__(cls)
        err.record, err.field, err.message = record, field, text
        Exception.__init__(err, text)
        return err

    def with_context(self, *, record: str | None = None, field: str | None = None) -> InputError:
        """Return a copy of this error with ``record``/``field`` filled in where still unknown."""
        err = type(self).__new__(type(self))
        InputError.__init__(
            err,
            self.message,
            record=self.record if self.record is not None else record,
            field=self.field if self.field is not None else field,
        )
        for key, value in vars(self).items():
            if key not in {"record", "field", "message"}:
                setattr(err, key, value)
        return err


class MediaError(InputError):
    """A media file is missing, corrupt, or in an unsupported format. ``path`` names the file."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        record: str | None = None,
        field: str | None = None,
    ):
        self.path = path
        text = f"{message} ({path})" if path is not None else message
        super().__init__(text, record=record, field=field)


class ProtocolError(FlexJudgeError, KeyError):
    """Unknown protocol, or a protocol used with inputs it cannot take."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class BackendError(FlexJudgeError, RuntimeError):
    """The inference backend failed (model load, generation, remote server)."""


class MissingDependencyError(FlexJudgeError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: str):
        self.package = package
        self.extra = extra
        super().__init__(
            f"{package!r} is required for this feature: pip install 'flexjudge[{extra}]'"
        )
