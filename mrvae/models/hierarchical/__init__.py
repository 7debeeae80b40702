"""An NVAE-style hierarchical VAE (Vahdat & Kautz, 2020), the paper's third image architecture.

* :mod:`.config`: :class:`HierarchicalConfig` (``.paper()``, ``.quick()``) and the authors'
  training recipe :data:`PAPER_TRAINING`;
* :mod:`.cells`: residual encoder cells, inverted-residual decoder cells, squeeze-and-excitation,
  combiners, weight-normalised convs;
* :mod:`.model`: :class:`HierarchicalVAE`, :func:`build_hierarchical_vae`,
  :func:`build_hierarchical_mr_vae` and the gate placement.

Parameter counts of the paper's MNIST/Omniglot network (tested): 8,853,246 for the β-VAE and
8,950,118 for the MR-VAE (+96,872 gate parameters). The paper's Table 1 prints
88.68 x 10^5 and 89.50 x 10^5: the MR-VAE matches to four digits, so for this row the powers
of ten are right. The β-VAE figure equals the MR-VAE's less only the gates of the cells' and
combiners' convs (8,950,118 - 2 x 41,040 = 8,868,038), i.e. the gates on the stem, the top
encoder layer, the posterior and prior heads, the skip paths and the SE layers (14,792
parameters) were counted as base parameters; those are exactly the gates the authors' fork
added after its first version (``hyper_operations.py`` at 0bdc077 gates only the cells and
combiners).
"""

from .cells import (
    DecoderCombiner,
    EncoderCombiner,
    FactorizedReduce,
    InvertedResidualCell,
    ResidualCell,
    SqueezeExcitation,
    WNConv2d,
)
from .config import PAPER_TRAINING, HierarchicalConfig, PaperTraining
from .gating import (
    OUTPUT_LAYER,
    PAPER_PLACEMENT,
    add_gates,
    build_hierarchical_mr_vae,
)
from .model import GroupState, HierarchicalVAE, build_hierarchical_vae, gaussian_kl_terms

__all__ = [
    "OUTPUT_LAYER", "PAPER_PLACEMENT", "PAPER_TRAINING", "DecoderCombiner", "EncoderCombiner",
    "FactorizedReduce", "GroupState", "HierarchicalConfig", "HierarchicalVAE", "InvertedResidualCell",
    "PaperTraining", "ResidualCell", "SqueezeExcitation", "WNConv2d", "add_gates",
    "build_hierarchical_mr_vae", "build_hierarchical_vae", "gaussian_kl_terms",
]
