"""Verbatim reference prompts P-01 … P-32 of the Flex-Judge reference protocol, read from the
package data files ``prompts/reference/P-NN.txt`` (bytes exactly as the authors' code has them).

Every text is byte-identical to the authors' code, typos included: the published checkpoints
were trained and evaluated on exactly these bytes.  Do not "fix" anything in those files;
clean-mode variants live in :mod:`flexjudge.protocol._clean`.  ``prompts/index.json`` holds
each prompt's title and its SHA-256 from the spec's Appendix A; loading checks every text
against its hash, so an edited file fails at import, not in a published number.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources

_PROMPTS = resources.files("flexjudge.protocol") / "prompts"


def _load() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    index = json.loads((_PROMPTS / "index.json").read_text(encoding="utf-8"))
    prompts, titles, hashes = {}, {}, {}
    for pid, meta in index.items():
        raw = (_PROMPTS / "reference" / f"{pid}.txt").read_bytes()
        if hashlib.sha256(raw).hexdigest() != meta["sha256"]:
            raise RuntimeError(f"prompt file {pid}.txt does not match its SHA-256 in index.json")
        prompts[pid] = raw.decode("utf-8")
        titles[pid] = meta["title"]
        hashes[pid] = meta["sha256"]
    return prompts, titles, hashes


SPEC_PROMPTS, SPEC_TITLES, SPEC_SHA256 = _load()
