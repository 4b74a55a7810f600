"""The Flex-Mol recipe (paper B.4, spec §11.2): a judge trained as a plain LM is re-attached
to a molecular host whose LoRA adapters and encoders stay exactly as they were.

A host folder is a ``mol-llm`` checkpoint: the causal LM's files at the top, the molecular
encoder in ``mol_encoder/`` and, optionally, PEFT LoRA adapters in ``adapter/``.  The
trained judge's base weights replace the host LM's (names matched, the host's extra token
rows such as ``[PAD]``/``<mol>`` kept, see :func:`graft_judge_weights`); ``mol_encoder/`` and
``adapter/`` are copied byte for byte, so the host's adapters now act on the judge's weights
and its encoder still feeds the ``<mol>`` slots.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flexjudge.errors import InputError
from flexjudge.train._save import GraftReport, copy_support_files, graft_judge_weights

#: host sub-folders carried over unchanged
HOST_PARTS = ("mol_encoder", "adapter")


def graft_into_mol_host(
    judge_state: Mapping[str, Any], host: str | Path, out: str | Path, *, dtype: Any = None
) -> GraftReport:
    """Write ``host`` with its LM's base weights taken from ``judge_state`` to ``out``.

    Raises :class:`InputError` when ``host`` is not a local folder with a loadable LM or when
    no judge tensor matches the host LM (a different architecture)."""
    from transformers import AutoModelForCausalLM

    host_dir, out_dir = Path(host), Path(out)
    if not (host_dir / "config.json").is_file():
        raise InputError(f"{str(host_dir)!r} is not a model folder", field="mol_host")
    kwargs = {} if dtype is None else {"dtype": dtype}
    try:
        host_lm = AutoModelForCausalLM.from_pretrained(str(host_dir), **kwargs)
    except (OSError, ValueError) as exc:
        message = f"cannot load the host LM {str(host_dir)!r}: {exc}"
        raise InputError(message, field="mol_host") from exc
    report = graft_judge_weights(judge_state, host_lm)
    if not report.copied:
        raise InputError(
            f"no judge tensor matches the host LM in {str(host_dir)!r} (another architecture?)",
            field="mol_host",
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    host_lm.save_pretrained(str(out_dir))
    copy_support_files(host_dir, out_dir)
    for part in HOST_PARTS:
        if (host_dir / part).is_dir():
            shutil.rmtree(out_dir / part, ignore_errors=True)
            shutil.copytree(host_dir / part, out_dir / part)
    return report
