"""The ``flexjudge`` command line: the root app (:mod:`flexjudge.cli.main`) and one module per
command group (``apps``: bon/pairs/serve, ``bench``, ``curate``, ``train``)."""

from __future__ import annotations

from flexjudge.cli.main import app, main

__all__ = ["app", "main"]
