"""Opening local media under the server's media root, safely.

The path is opened component by component from a descriptor of the root (``openat``-style,
no component followed blindly), so no directory-symlink swap can lead outside.  A symlink is
followed only when its target, read as text, stays inside the root.  Only regular files are
opened (``O_NONBLOCK`` first, so a FIFO cannot block a worker), and a file with several hard
links is refused unless allowed: one of them may live outside the root.  A path outside the
root gets the same 403 whether or not the file exists.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

_MAX_SYMLINKS = 40
_OUTSIDE = "path is outside the media root"


class RequestRejected(Exception):
    """A request the server refuses; becomes a JSON error with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _lexical_parts(raw: str, root: Path, where: str) -> list[str]:
    """The components of ``raw`` below ``root``; 403 when it names anything outside."""
    if "\x00" in raw or not raw:
        raise RequestRejected(422, f"{where}: invalid path")
    given = Path(raw)
    if ".." in given.parts:
        raise RequestRejected(403, f"{where}: '..' is not allowed in media paths")
    if not given.is_absolute():
        return [p for p in given.parts if p not in ("", ".")]
    for base in (root, root.resolve()):
        normal = Path(os.path.normpath(given))
        if normal.is_relative_to(base):
            return list(normal.relative_to(base).parts)
    raise RequestRejected(403, f"{where}: {_OUTSIDE}")


def open_under_root(raw: str, root: Path, where: str) -> int:
    """A read-only descriptor of the regular file ``raw`` names under ``root``.

    Walks the path from a descriptor of ``root`` with ``O_NOFOLLOW`` at every step.  A
    symlink's target is read and walked the same way, and refused (403) when it leaves the
    root.  Missing files get 422, FIFOs, devices, folders and files with several hard links
    (unless allowed) 422/403, all without blocking."""
    pending = _lexical_parts(raw, root, where)
    base = root.resolve()
    nonblock = getattr(os, "O_NONBLOCK", 0)
    nofollow = getattr(os, "O_NOFOLLOW", 0)
    cloexec = getattr(os, "O_CLOEXEC", 0)
    directory = getattr(os, "O_DIRECTORY", 0)
    try:
        root_fd = os.open(base, os.O_RDONLY | directory | cloexec)
    except OSError:
        raise RequestRejected(422, f"{where}: the media root cannot be opened") from None
    dirs = [root_fd]  # dirs[-1] is the folder the next component is looked up in
    hops = 0
    try:
        while pending:
            name = pending.pop(0)
            if name in ("", "."):
                continue
            if name == "..":  # only from a symlink's target
                if len(dirs) == 1:
                    raise RequestRejected(403, f"{where}: {_OUTSIDE}")
                os.close(dirs.pop())
                continue
            last = not pending
            flags = os.O_RDONLY | nofollow | nonblock | cloexec | (0 if last else directory)
            try:
                fd = os.open(name, flags, dir_fd=dirs[-1])
            except OSError as exc:
                target = _symlink_target(name, dirs[-1], exc)
                if target is None:
                    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                        raise RequestRejected(
                            422, f"{where}: no such file under the media root"
                        ) from None
                    raise RequestRejected(422, f"{where}: file cannot be opened") from None
                hops += 1
                if hops > _MAX_SYMLINKS:
                    raise RequestRejected(422, f"{where}: too many symlinks") from None
                if os.path.isabs(target):
                    normal = Path(os.path.normpath(target))
                    if not normal.is_relative_to(base):
                        raise RequestRejected(403, f"{where}: {_OUTSIDE}") from None
                    for d in dirs[1:]:
                        os.close(d)
                    del dirs[1:]
                    pending = list(normal.relative_to(base).parts) + pending
                else:
                    pending = [p for p in Path(target).parts if p not in ("", ".")] + pending
                continue
            if not last:
                dirs.append(fd)
                continue
            return fd
        raise RequestRejected(422, f"{where}: not a regular file")
    finally:
        for d in dirs:
            os.close(d)


def _symlink_target(name: str, dir_fd: int, exc: OSError) -> str | None:
    if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
        return None
    try:
        return os.readlink(name, dir_fd=dir_fd)
    except OSError:
        return None


def read_under_root(
    raw: str, root: Path, max_bytes: int, where: str, *, allow_hard_links: bool = False
) -> bytes:
    """Bytes of ``raw`` (relative to ``root``, or absolute inside it); see
    :func:`open_under_root`.  Files over ``max_bytes`` get 413."""
    fd = open_under_root(raw, root, where)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise RequestRejected(422, f"{where}: not a regular file")
        if info.st_nlink > 1 and not allow_hard_links:
            raise RequestRejected(
                403, f"{where}: files with several hard links are refused (one may be outside)"
            )
        if info.st_size > max_bytes:
            raise RequestRejected(413, f"{where}: file is over {max_bytes} bytes")
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:
            raise RequestRejected(413, f"{where}: file is over {max_bytes} bytes")
        return b"".join(chunks)
    except OSError:
        raise RequestRejected(422, f"{where}: file cannot be read") from None
    finally:
        os.close(fd)
