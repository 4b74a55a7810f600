"""Molecules given as SMILES (or .smi/.mol/.sdf files); depiction and text summary need RDKit.

RDKit is optional (``flexjudge[mol]``).  Without it a :class:`Molecule` still carries its SMILES
string (checked only for being a single non-empty token), while the three views a judge can be
shown — :meth:`Molecule.to_image` (depiction), :meth:`Molecule.describe` (text card) and
:meth:`Molecule.to_graph` (atom/bond tensors) — and :meth:`Molecule.canonical_smiles` raise
:class:`~flexjudge.errors.MissingDependencyError`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from flexjudge._util.optional import available, require
from flexjudge.errors import InputError, MediaError
from flexjudge.media._base64 import media_payload
from flexjudge.media._common import BytesLike, Located, PathLike, Source, to_path
from flexjudge.media._image import Image
from flexjudge.media._molecule_graph import MoleculeGraph, molecule_graph

SMILES_EXTENSIONS = frozenset({".smi", ".smiles", ".txt"})
MOLBLOCK_EXTENSIONS = frozenset({".mol", ".mdl", ".sdf", ".sd"})


def _parse_smiles(smiles: str) -> Any:
    """RDKit ``Mol`` or ``None`` (RDKit's parse errors are not printed)."""
    chem = require("rdkit.Chem", "mol")
    rdbase = require("rdkit.rdBase", "mol")
    with rdbase.BlockLogs():
        return chem.MolFromSmiles(smiles)


class Molecule(Located):
    """A molecule as a SMILES string.

    The SMILES is validated with RDKit when it is installed (invalid → :class:`MediaError`);
    without RDKit only an empty string or embedded whitespace is rejected.
    :meth:`content_hash` hashes RDKit's canonical SMILES, so one molecule written two ways
    (``OCC`` / ``CCO``) has one hash and resumes from a result store; without RDKit it hashes
    the SMILES as given.
    """

    __slots__ = ("_mol", "_smiles", "_src")

    _src: Source
    _smiles: str

    def __init__(
        self,
        smiles: str | Molecule,
        *,
        record: str | None = None,
        field: str | None = None,
        _path: Path | None = None,
    ) -> None:
        if isinstance(smiles, Molecule):
            self._smiles = smiles._smiles
            self._mol: Any = smiles._mol
            self._src = Source(
                path=smiles._src.path,
                record=record if record is not None else smiles._src.record,
                field=field if field is not None else smiles._src.field,
            )
            return
        if not isinstance(smiles, str):
            raise InputError(
                f"a molecule needs a SMILES string, got {type(smiles).__name__}",
                record=record,
                field=field,
            )
        self._src = Source(path=_path, record=record, field=field)
        self._smiles = smiles.strip()
        self._mol = None
        if not self._smiles or any(c.isspace() for c in self._smiles):
            raise self._error(f"invalid SMILES {smiles!r}: empty or contains whitespace")
        if available("rdkit"):
            self._mol = _parse_smiles(self._smiles)
            if self._mol is None:
                raise self._error(f"invalid SMILES {self._smiles!r}: RDKit cannot parse it")

    @classmethod
    def from_smiles(
        cls, smiles: str, *, record: str | None = None, field: str | None = None
    ) -> Molecule:
        """A SMILES string (validated with RDKit when installed)."""
        return cls(smiles, record=record, field=field)

    @classmethod
    def from_path(
        cls, path: PathLike, *, record: str | None = None, field: str | None = None
    ) -> Molecule:
        """A molecule file.

        ``.smi``/``.smiles``/``.txt``: first token of the first non-empty line; ``.mol``/``.sdf``:
        first record (needs RDKit).  Other suffixes, missing or unparsable files raise
        :class:`MediaError`.
        """
        p = to_path(path)
        src = Source(path=p, record=record, field=field)
        suffix = p.suffix.lower()
        if suffix not in SMILES_EXTENSIONS | MOLBLOCK_EXTENSIONS:
            src.check_file("molecule", None)
            src.fail(f"unsupported molecule file extension {suffix!r}")
        data = src.read_bytes("molecule")
        fmt = "mol" if suffix in MOLBLOCK_EXTENSIONS else "smi"
        return cls._from_data(data, fmt, src)

    @classmethod
    def from_bytes(
        cls,
        data: BytesLike,
        *,
        fmt: str = "smi",
        record: str | None = None,
        field: str | None = None,
    ) -> Molecule:
        """UTF-8 text: ``fmt="smi"`` (SMILES) or ``"mol"`` (MDL molblock / SDF; needs RDKit)."""
        return cls._from_data(
            bytes(data), fmt, Source(data=bytes(data), record=record, field=field)
        )

    @classmethod
    def _from_data(cls, data: bytes, fmt: str, src: Source) -> Molecule:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            src.fail("molecule file is not UTF-8 text", exc)
        if fmt == "smi":
            lines = [ln.split()[0] for ln in text.splitlines() if ln.strip()]
            if not lines:
                src.fail("molecule file holds no SMILES")
            smiles = lines[0]
        elif fmt == "mol":
            chem = require("rdkit.Chem", "mol")
            rdbase = require("rdkit.rdBase", "mol")
            with rdbase.BlockLogs():
                mol = chem.MolFromMolBlock(text.split("$$$$")[0])
            if mol is None:
                src.fail("cannot parse molblock/SDF record")
            smiles = chem.MolToSmiles(mol)
        else:
            raise InputError(f"unknown molecule format {fmt!r} (use 'smi' or 'mol')")
        return cls(smiles, record=src.record, field=src.field, _path=src.path)

    @property
    def smiles(self) -> str:
        """The SMILES string as given (stripped)."""
        return self._smiles

    def __repr__(self) -> str:
        return f"Molecule({self._smiles!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Molecule) and other._smiles == self._smiles

    def __hash__(self) -> int:
        return hash(("Molecule", self._smiles))

    def _error(self, message: str) -> MediaError:
        path = str(self._src.path) if self._src.path is not None else None
        return MediaError(message, path=path, record=self._src.record, field=self._src.field)

    def _rdkit_mol(self) -> Any:
        if self._mol is None:
            self._mol = _parse_smiles(self._smiles)  # MissingDependencyError without RDKit
            if self._mol is None:
                raise self._error(f"invalid SMILES {self._smiles!r}: RDKit cannot parse it")
        return self._mol

    def canonical_smiles(self) -> str:
        """RDKit's canonical SMILES (:class:`MissingDependencyError` without RDKit)."""
        chem = require("rdkit.Chem", "mol")
        smiles: str = chem.MolToSmiles(self._rdkit_mol())
        return smiles

    def to_image(self, size: int = 448) -> Image:
        """A ``size × size`` 2-D depiction (``rdkit.Chem.Draw.MolToImage``) as an :class:`Image`.

        Raises :class:`MissingDependencyError` without RDKit and :class:`InputError` for a
        non-positive ``size``.
        """
        if size <= 0:
            raise InputError(f"molecule image size must be positive, got {size}")
        draw = require("rdkit.Chem.Draw", "mol")
        pil = draw.MolToImage(self._rdkit_mol(), size=(size, size))
        return Image.from_pil(pil.convert("RGB"), record=self.record, field=self.field)

    def descriptors(self) -> dict[str, float | int]:
        """The properties the PAMPA judge prompt reasons about, computed with RDKit: molecular
        weight, cLogP (Crippen), TPSA, H-bond donors/acceptors (Lipinski), rotatable bonds,
        formal charge and aromatic ring count."""
        mol = self._rdkit_mol()
        descriptors = require("rdkit.Chem.Descriptors", "mol")
        rdmd = require("rdkit.Chem.rdMolDescriptors", "mol")
        chem = require("rdkit.Chem", "mol")
        return {
            "molecular_weight": round(float(descriptors.MolWt(mol)), 2),
            "clogp": round(float(descriptors.MolLogP(mol)), 2) + 0.0,  # no "-0.00"
            "tpsa": round(float(rdmd.CalcTPSA(mol)), 2),
            "hbd": int(rdmd.CalcNumHBD(mol)),
            "hba": int(rdmd.CalcNumHBA(mol)),
            "rotatable_bonds": int(rdmd.CalcNumRotatableBonds(mol)),
            "formal_charge": int(chem.GetFormalCharge(mol)),
            "aromatic_rings": int(rdmd.CalcNumAromaticRings(mol)),
        }

    def describe(self) -> str:
        """The ``text`` view: canonical SMILES, formula and the :meth:`descriptors` card.

        Raises :class:`MissingDependencyError` without RDKit.
        """
        mol = self._rdkit_mol()
        rdmd = require("rdkit.Chem.rdMolDescriptors", "mol")
        d = self.descriptors()
        return (
            f"SMILES: {self.canonical_smiles()}\n"
            f"Formula: {rdmd.CalcMolFormula(mol)}\n"
            f"Molecular weight: {d['molecular_weight']:.2f} g/mol\n"
            f"Heavy atoms: {mol.GetNumHeavyAtoms()}\n"
            f"cLogP: {d['clogp']:.2f}\n"
            f"TPSA: {d['tpsa']:.2f} A^2\n"
            f"H-bond donors: {d['hbd']}\n"
            f"H-bond acceptors: {d['hba']}\n"
            f"Rotatable bonds: {d['rotatable_bonds']}\n"
            f"Formal charge: {d['formal_charge']}\n"
            f"Aromatic rings: {d['aromatic_rings']}"
        )

    def to_graph(self, *, conformer: bool = False, seed: int = 0) -> MoleculeGraph:
        """The ``graph`` view (:class:`MoleculeGraph`), atoms in canonical-SMILES order:
        atom/bond tensors and, with ``conformer=True``, ETKDG coordinates for ``seed``.  A
        molecule RDKit cannot embed raises :class:`MediaError`; no RDKit raises
        :class:`MissingDependencyError`."""
        # atoms in canonical order: one molecule written two ways (same store key) is one graph
        canonical = _parse_smiles(self.canonical_smiles())
        graph = molecule_graph(canonical, conformer=conformer, seed=seed)
        if conformer and graph.positions is None:
            raise self._error(f"RDKit cannot embed a 3-D conformer of {self._smiles!r}")
        if graph.num_atoms == 0:
            raise self._error(f"molecule {self._smiles!r} has no heavy atoms")
        return graph

    def content_hash(self) -> str:
        """SHA-256 (hex) of the UTF-8 canonical SMILES (the SMILES as given without RDKit)."""
        text = self.canonical_smiles() if available("rdkit") else self._smiles
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def as_molecule(x: Any, *, record: str | None = None, field: str | None = None) -> Molecule:
    """Coerce ``x``: a :class:`Molecule`; a ``PathLike`` file; a ``str`` ending in a molecule
    file suffix (read as a file); any other ``str`` (a SMILES); bytes (SMILES text); or a JSON
    object ``{"smiles": ...}``, ``{"path": ...}`` or ``{"base64": ..., "format": "smi"|"mol"}``.
    Anything else raises :class:`InputError` naming the record and field."""
    if isinstance(x, Molecule):
        return x if record is None and field is None else Molecule(x, record=record, field=field)
    if isinstance(x, dict):
        return _from_dict(x, record=record, field=field)
    if isinstance(x, os.PathLike) or (
        isinstance(x, str)
        and os.path.splitext(x)[1].lower() in SMILES_EXTENSIONS | MOLBLOCK_EXTENSIONS
    ):
        return Molecule.from_path(x, record=record, field=field)
    if isinstance(x, bytes | bytearray | memoryview):
        return Molecule.from_bytes(x, record=record, field=field)
    return Molecule(x, record=record, field=field)


_DICT_KEYS = ("smiles", "path", "base64")


def _from_dict(d: dict[str, Any], *, record: str | None, field: str | None) -> Molecule:
    given = [k for k in _DICT_KEYS if k in d]
    unknown = sorted(set(d) - {*_DICT_KEYS, "format"})
    if len(given) != 1 or unknown:
        detail = f"unknown key(s) {unknown}" if unknown else f"got {sorted(d)}"
        raise InputError(
            f"a molecule object needs exactly one of 'smiles', 'path', 'base64' ({detail})",
            record=record,
            field=field,
        )
    key, value = given[0], d[given[0]]
    if not isinstance(value, str):
        raise InputError(
            f"molecule {key!r} must be a string, got {type(value).__name__}",
            record=record,
            field=field,
        )
    if key == "smiles":
        return Molecule(value, record=record, field=field)
    if key == "path":
        return Molecule.from_path(value, record=record, field=field)
    fmt = d.get("format", "smi")
    if fmt not in ("smi", "mol"):
        raise InputError(
            f"molecule 'format' must be 'smi' or 'mol', got {fmt!r}", record=record, field=field
        )
    raw = media_payload(value, "molecule", record=record, field=field)
    return Molecule.from_bytes(raw, fmt=fmt, record=record, field=field)
