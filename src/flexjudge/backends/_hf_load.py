"""How a local Hugging Face checkpoint is placed: device, device map and dtype.

Follows ``from_pretrained``'s conventions: ``dtype`` is a ``torch.dtype`` or its name
(``"bfloat16"``, ``"torch.float16"``) or ``"auto"``; ``device_map`` (``"auto"``, a device
string or a module → device dict) is passed to the model as given.
"""

from __future__ import annotations

from typing import Any

from flexjudge.errors import BackendError

_DTYPE_NAMES = ("bfloat16", "float16", "float32", "float64", "half", "float", "double")


def resolve_device(device: str, model_id: str) -> str:
    """``"auto"`` → ``"cuda"`` when CUDA is available, else ``"cpu"``; a CUDA device on a
    machine without CUDA is a :class:`BackendError` naming the model."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise BackendError(f"cannot load {model_id!r} on device {device!r}: CUDA is not available")
    return device


def resolve_dtype(dtype: Any, device: str) -> Any:
    """A ``torch.dtype`` from ``dtype`` (object, name or ``"auto"``: bfloat16 on CUDA,
    float32 elsewhere)."""
    import torch

    if isinstance(dtype, torch.dtype):
        return dtype
    name = str(dtype).removeprefix("torch.")
    if name == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    if name not in _DTYPE_NAMES:
        raise BackendError(f"unknown dtype {dtype!r}; choose auto, {', '.join(_DTYPE_NAMES[:3])}")
    resolved = getattr(torch, name)
    assert isinstance(resolved, torch.dtype)
    return resolved


#: the ``from_pretrained`` loading options each local backend understands
_LOAD_OPTIONS = {
    "transformers": (
        "device",
        "device_map",
        "dtype",
        "revision",
        "trust_remote_code",
        "attn_implementation",
    ),
    "vllm": ("dtype",),  # others: backend_kwargs={"engine_kwargs": {...}}
}


def load_kwargs(backend: str, **options: Any) -> dict[str, Any]:
    """The constructor kwargs of ``backend`` for the HF loading ``options`` that are set;
    one the backend cannot honour is a :class:`BackendError` naming it."""
    # None is "not set"; trust_remote_code=False is every backend's default
    given = {
        k: v
        for k, v in options.items()
        if v is not None and not (k == "trust_remote_code" and v is False)
    }
    supported = _LOAD_OPTIONS.get(backend, ())
    unsupported = sorted(set(given) - set(supported))
    if unsupported:
        hint = (
            f"it takes {', '.join(supported)}; pass others in backend_kwargs"
            if supported
            else "only the transformers and vllm backends load a local checkpoint"
        )
        raise BackendError(f"backend {backend!r} does not take {', '.join(unsupported)} ({hint})")
    if backend == "vllm" and "dtype" in given:
        given["dtype"] = str(given["dtype"]).removeprefix("torch.")
    return given
