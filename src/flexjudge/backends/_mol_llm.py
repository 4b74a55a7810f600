"""A molecular-encoder judge: any Hugging Face causal LM plus a molecule encoder whose
embeddings replace the ``<mol>`` placeholder tokens' input embeddings (Mol-LLaMA style).

The checkpoint folder is a normal causal-LM folder (config, weights, a tokenizer that has a
``<mol>`` token) with the encoder in ``mol_encoder/`` (see
:mod:`flexjudge.backends._mol_encoder`).  Requests carry the graph view of each molecule
(``GenerationRequest.molecules``); the prompt must hold exactly ``num_query_tokens``
``<mol>`` tokens per molecule, in order.  Everything else — sampling semantics, batching,
stop strings, failures per request — is the transformers backend's.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flexjudge.backends._base import GenerationRequest
from flexjudge.backends._mol_encoder import MoleculeEncoder, load_encoder
from flexjudge.backends._transformers import TransformersBackend
from flexjudge.errors import BackendError
from flexjudge.families import MOLECULE_PLACEHOLDER

MOL_TOKEN = MOLECULE_PLACEHOLDER


class MolLLMBackend(TransformersBackend):
    """``model``: a causal-LM folder with ``mol_encoder/`` (and optionally PEFT LoRA
    adapters in ``adapter/``, merged at load); ``encoder``: another folder holding the
    encoder (default: the model folder).  Extra keyword arguments go to
    :class:`TransformersBackend` (device, dtype, max_batch_size…)."""

    name = "mol-llm"
    molecule_view = "graph"

    def __init__(self, model: str | Path, *, encoder: str | Path | None = None, **kwargs: Any):
        super().__init__(model, **kwargs)
        adapter = Path(model) / "adapter"
        if adapter.is_dir():  # a host's LoRA adapters (Flex-Mol recipe), merged for inference
            from peft import PeftModel

            self.model = PeftModel.from_pretrained(self.model, str(adapter)).merge_and_unload()
            self.model.eval()
        if self.processor is not None:
            raise BackendError(f"{self.model_id!r}: the molecular-encoder backend takes a text LM")
        self.encoder: MoleculeEncoder = load_encoder(
            encoder if encoder is not None else model, device=self.device, dtype=self.dtype
        )
        token_id = self.tokenizer.convert_tokens_to_ids(MOL_TOKEN)
        if token_id is None or token_id == self.tokenizer.unk_token_id:
            raise BackendError(f"the tokenizer of {self.model_id!r} has no {MOL_TOKEN} token")
        self.mol_token_id = int(token_id)
        hidden = self.model.get_input_embeddings().embedding_dim
        if self.encoder.config.llm_hidden_size != hidden:
            raise BackendError(
                f"encoder projects to {self.encoder.config.llm_hidden_size} dims, "
                f"the LM embeds in {hidden}"
            )

    @property
    def num_query_tokens(self) -> int:
        return self.encoder.config.num_query_tokens

    def _check_media(self, request: GenerationRequest) -> str | None:
        if any(request.media_counts()):
            return "the molecular-encoder backend takes molecules only (no image/video/audio)"
        found = request.prompt.count(MOL_TOKEN)
        want = self.num_query_tokens * len(request.molecules)
        if found != want:
            return (
                f"prompt has {found} {MOL_TOKEN} token(s) but {len(request.molecules)} "
                f"molecule(s) need {want} ({self.num_query_tokens} each)"
            )
        return None

    def _model_inputs(self, enc: Any, batch: list[GenerationRequest]) -> tuple[Any, int]:
        input_ids = enc["input_ids"]
        slots = input_ids == self.mol_token_id
        graphs = [g for request in batch for g in request.molecules]
        if not graphs:
            return enc, int(input_ids.shape[1])
        embeds = self.embed(input_ids, slots, graphs)
        return {"inputs_embeds": embeds, "attention_mask": enc["attention_mask"]}, 0

    def embed(self, input_ids: Any, slots: Any, graphs: Sequence[Any]) -> Any:
        """Input embeddings with each ``<mol>`` slot (row-major: request, then position)
        overwritten by its molecule's query embeddings, in order."""
        embeds = self.model.get_input_embeddings()(input_ids)
        molecule_embeds = self.encoder(graphs).to(embeds.dtype)
        flat = molecule_embeds.reshape(-1, molecule_embeds.shape[-1])
        if int(slots.sum()) != flat.shape[0]:
            raise BackendError(
                f"{int(slots.sum())} {MOL_TOKEN} tokens for {len(graphs)} molecule(s) "
                f"of {self.num_query_tokens} embeddings"
            )
        embeds = embeds.clone()
        embeds[slots] = flat
        return embeds

    def next_token_logits(self, request: GenerationRequest) -> Any:
        """Logits of the first generated token for ``request`` (diagnostics and tests)."""
        import torch

        problem = self._check_media(request)
        if problem is not None:
            raise BackendError(problem)
        enc = self._encode([request])
        with torch.inference_mode():
            inputs, _ = self._model_inputs(enc, [request])
            return self.model(**inputs).logits[0, -1].float()

    def fingerprint(self) -> str:
        """The LM's transformers fingerprint plus hashes of the encoder's weights and of any
        ``adapter/`` files."""
        import hashlib

        digest = hashlib.sha256(super().fingerprint().encode())
        adapter = Path(self.model_id) / "adapter"
        if adapter.is_dir():
            for path in sorted(adapter.iterdir()):
                digest.update(path.name.encode() + path.read_bytes())
        for name, tensor in sorted(self.encoder.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().float().cpu().numpy().tobytes())
        return digest.hexdigest()[:16]
