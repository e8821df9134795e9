"""Phylogenetics by EM: DNA alignments (FASTA, PHYLIP), reversible
substitution models (JC69, K80, HKY85, GTR), trees (Newick through DendroPy:
``pip install latentlab[phylo]``), maximum-likelihood branch lengths on a fixed
tree (:class:`BranchLengthEM`), JC69 distances and neighbour-joining trees,
and simulation of random trees and of alignments."""

from .alignment import Alignment, read_alignment
from .branch_lengths import BranchFreqParams, BranchLengthEM, BranchLengthModel, BranchParams
from .distance import jc_distances, neighbour_joining
from .simulate import random_tree, simulate_alignment
from .structural_em import StructuralEM
from .substitution import GTR, HKY85, JC69, K80, SubstitutionModel, substitution_model
from .tree import Tree, robinson_foulds

__all__ = [
    "Alignment",
    "read_alignment",
    "SubstitutionModel",
    "JC69",
    "K80",
    "HKY85",
    "GTR",
    "substitution_model",
    "Tree",
    "robinson_foulds",
    "BranchLengthEM",
    "BranchLengthModel",
    "BranchParams",
    "BranchFreqParams",
    "StructuralEM",
    "simulate_alignment",
    "random_tree",
    "jc_distances",
    "neighbour_joining",
]
