"""QTL interval mapping by EM (Lander & Botstein 1989) in backcrosses and
intercrosses: crosses in R/qtl's formats, genotype probabilities along each
chromosome, genome scans by EM or Haley-Knott regression, permutation
thresholds, support intervals and genotype effects with standard errors."""

from .cross import Chromosome, Cross, make_cross, read_cross_csv
from .genoprob import ChromosomeProbabilities, genotype_probabilities
from .model import IntervalMappingModel, PositionData, QTLParams
from .scan import IntervalMapping
from .simulate import simulate_cross

__all__ = [
    "IntervalMapping",
    "Cross",
    "Chromosome",
    "read_cross_csv",
    "make_cross",
    "genotype_probabilities",
    "ChromosomeProbabilities",
    "simulate_cross",
    "IntervalMappingModel",
    "PositionData",
    "QTLParams",
]
