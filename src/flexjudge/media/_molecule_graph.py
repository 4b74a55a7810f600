"""The ``graph`` view of a molecule: categorical atom/bond features and an optional conformer.

Features follow the OGB convention Mol-LLaMA's 2-D encoder (MoleculeSTM's GIN) consumes:
nine categorical atom features and three categorical bond features, every value clamped to a
final "other" index so unusual atoms never fall outside an embedding table.  Edges are listed
in both directions.  The conformer is RDKit ETKDG with a fixed seed (same molecule, same seed →
the same coordinates), hydrogens removed afterwards so positions align with the heavy atoms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from flexjudge._util.optional import require

#: vocabulary size of each atom feature: atomic number, chirality, degree, formal charge
#: (offset by 5), total H count, radical electrons, hybridization, aromatic, in ring
ATOM_FEATURE_SIZES: tuple[int, ...] = (120, 5, 12, 12, 10, 6, 7, 2, 2)
#: bond type, bond stereo, conjugated
BOND_FEATURE_SIZES: tuple[int, ...] = (6, 7, 2)

_CHIRALITY = ("CHI_UNSPECIFIED", "CHI_TETRAHEDRAL_CW", "CHI_TETRAHEDRAL_CCW", "CHI_OTHER")
_HYBRIDIZATION = ("S", "SP", "SP2", "SP3", "SP3D", "SP3D2")
_BOND_TYPES = ("SINGLE", "DOUBLE", "TRIPLE", "AROMATIC", "DATIVE")
_BOND_STEREO = ("STEREONONE", "STEREOZ", "STEREOE", "STEREOCIS", "STEREOTRANS", "STEREOANY")


@dataclass(frozen=True)
class MoleculeGraph:
    """Atom and bond tensors of one molecule (heavy atoms only).

    ``atom_features``: int64 ``(N, 9)``; ``edge_index``: int64 ``(2, E)`` (each bond twice);
    ``edge_features``: int64 ``(E, 3)``; ``positions``: float32 ``(N, 3)`` ETKDG coordinates
    in ångström, or ``None`` without a conformer.
    """

    atom_features: np.ndarray
    edge_index: np.ndarray
    edge_features: np.ndarray
    positions: np.ndarray | None = None

    @property
    def num_atoms(self) -> int:
        return int(self.atom_features.shape[0])


def _index(value: str, names: tuple[str, ...]) -> int:
    return names.index(value) if value in names else len(names)


def _clamp(value: int, size: int) -> int:
    return min(max(value, 0), size - 1)


def _atom_row(atom: Any) -> list[int]:
    s = ATOM_FEATURE_SIZES
    return [
        _clamp(atom.GetAtomicNum() - 1, s[0]),
        _index(str(atom.GetChiralTag()), _CHIRALITY),
        _clamp(atom.GetTotalDegree(), s[2]),
        _clamp(atom.GetFormalCharge() + 5, s[3]),
        _clamp(atom.GetTotalNumHs(), s[4]),
        _clamp(atom.GetNumRadicalElectrons(), s[5]),
        _index(str(atom.GetHybridization()), _HYBRIDIZATION),
        int(atom.GetIsAromatic()),
        int(atom.IsInRing()),
    ]


def _bond_row(bond: Any) -> list[int]:
    return [
        _index(str(bond.GetBondType()), _BOND_TYPES),
        _index(str(bond.GetStereo()), _BOND_STEREO),
        int(bond.GetIsConjugated()),
    ]


def conformer_positions(mol: Any, seed: int) -> np.ndarray | None:
    """Heavy-atom ETKDG coordinates ``(N, 3)`` for ``seed``, or ``None`` when embedding fails."""
    chem = require("rdkit.Chem", "mol")
    all_chem = require("rdkit.Chem.AllChem", "mol")
    with_h = chem.AddHs(mol)
    params = all_chem.ETKDGv3()
    params.randomSeed = int(seed)
    if all_chem.EmbedMolecule(with_h, params) != 0:
        return None
    heavy = chem.RemoveHs(with_h)
    return np.asarray(heavy.GetConformer().GetPositions(), dtype=np.float32)


def molecule_graph(mol: Any, *, conformer: bool = False, seed: int = 0) -> MoleculeGraph:
    """The graph view of an RDKit ``Mol`` (see the module docstring)."""
    atoms = [_atom_row(a) for a in mol.GetAtoms()]
    sources, targets, bonds = [], [], []
    for bond in mol.GetBonds():
        i, j = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        row = _bond_row(bond)
        sources += [i, j]
        targets += [j, i]
        bonds += [row, row]
    return MoleculeGraph(
        atom_features=np.asarray(atoms, dtype=np.int64).reshape(-1, len(ATOM_FEATURE_SIZES)),
        edge_index=np.asarray([sources, targets], dtype=np.int64).reshape(2, -1),
        edge_features=np.asarray(bonds, dtype=np.int64).reshape(-1, len(BOND_FEATURE_SIZES)),
        positions=conformer_positions(mol, seed) if conformer else None,
    )
