"""Configuration of the NVAE-style hierarchical VAE, and the paper's training recipe.

The paper (Section 5.2, Appendix C.2) trains NVAE (Vahdat & Kautz, 2020) on binary MNIST,
Omniglot and CelebA64 "using the same experimental set-up from Vahdat & Kautz (2020)".
:meth:`HierarchicalConfig.paper` is the authors' MNIST/Omniglot network, read from their
sweep script (``pomonam/mr-vae``, ``alternative_experiments/nvae/scripts/
generate_hyper_sweep.py``): NVAE's ``res_mbconv`` cells, 16 channels, 2 latent scales with
``[10, 5]`` groups of 20 latent channels, 2 pre- and 2 post-processing blocks of 3 cells, 2
cells per conditional, squeeze-and-excitation, residual-normal posteriors, no flows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

DataShape = tuple[int, int, int]

#: Channel multiplier between consecutive resolutions (NVAE's ``CHANNEL_MULT``).
CHANNEL_MULT = 2


@dataclass(frozen=True)
class PaperTraining:
    """The authors' NVAE training recipe for binary MNIST/Omniglot (a record; the trainer is
    :func:`mrvae.train`, whose :class:`~mrvae.TrainConfig` takes ``optimizer="adamax"``,
    ``lr_warmup_epochs``, ``cosine_decay`` and ``weight_decay``).

    Sources: Appendix C.2 (Adamax, 400 epochs, batch 256, cosine decay) and the authors'
    ``alternative_experiments/nvae/hyper_train.py`` and sweep script (the rest).
    """

    optimizer: str = "adamax"
    #: Adamax's epsilon in the authors' code (PyTorch's default is 1e-8).
    adamax_eps: float = 1e-3
    epochs: int = 400
    batch_size: int = 256
    #: Learning rates the authors swept; the one they kept is not recorded.
    lr_grid: tuple[float, ...] = (0.03, 0.01, 0.003)
    lr_min: float = 1e-4
    lr_warmup_epochs: int = 5
    cosine_decay: bool = True
    weight_decay: float = 3e-4
    #: λ of NVAE's spectral regulariser and of its BatchNorm-scale penalty (one coefficient
    #: for both, ``--weight_decay_norm``); see :class:`HierarchicalConfig`.
    regularization: float = 1e-2
    beta_low: float = 0.01
    beta_high: float = 10.0


PAPER_TRAINING = PaperTraining()


@dataclass(frozen=True)
class HierarchicalConfig:
    """Which hierarchical VAE to build (defaults: :meth:`paper`, the authors' MNIST network).

    Names follow NVAE's command-line options where they exist.

    Args:
        data_shape: ``(C, H, W)``. Inputs are zero-padded to a multiple of the total
            downsampling ``2 ** (preprocess_blocks + len(groups_per_scale) - 1)`` (28 -> 32
            for the paper's network, as NVAE pads MNIST) and the output is cropped back.
        encoder_channels, decoder_channels: channels at the input resolution
            (``num_channels_enc``/``dec``); they double at every downsampling.
        latent_channels: channels of each latent group (``num_latent_per_group``).
        groups_per_scale: latent groups per scale, finest scale first (NVAE's order:
            ``num_groups_per_scale`` with ``ada_groups`` halving it per scale gives ``(10, 5)``).
        preprocess_blocks, preprocess_cells: encoder blocks before the latent scales, each of
            ``preprocess_cells`` residual cells, the last of which halves the resolution.
        postprocess_blocks, postprocess_cells: the decoder's mirror image (the first cell of
            a block doubles the resolution); ``postprocess_blocks`` must equal
            ``preprocess_blocks`` so that the output has the input's resolution.
        encoder_cells_per_group, decoder_cells_per_group: cells between two latent groups
            (``num_cell_per_cond_enc``/``dec``).
        squeeze_excitation: end every cell with squeeze-and-excitation (``use_se``).
        decoder_expansion, postprocess_expansion: expansion of the decoder's inverted
            residual cells in the latent scales (``mconv_e6k5g0``) and after them (``e3``).
        depthwise_kernel: kernel of their depthwise conv (5).
        weight_norm: weight normalisation on every conv NVAE normalises (all but the three
            convs inside a decoder cell).
        residual_posterior: NVAE's residual-normal posterior (Section 3.2): ``q`` is the
            prior shifted and scaled by what the encoder adds; else ``q`` is read off directly.
        spectral_regularization: coefficient λ of NVAE's spectral regulariser (Section 3.3),
            ``λ Σ_i σ_max(W_i)`` over all convs, added to each example's loss in training.
        batchnorm_regularization: coefficient of NVAE's BatchNorm penalty ``Σ_l max_c |γ_lc|``,
            added the same way (the authors use one λ for both, :data:`PAPER_TRAINING`).
        power_iterations: power-iteration steps per forward pass for the spectral norms.
    """

    data_shape: DataShape = (1, 28, 28)
    encoder_channels: int = 16
    decoder_channels: int = 16
    latent_channels: int = 20
    groups_per_scale: tuple[int, ...] = (10, 5)
    preprocess_blocks: int = 2
    preprocess_cells: int = 3
    postprocess_blocks: int = 2
    postprocess_cells: int = 3
    encoder_cells_per_group: int = 2
    decoder_cells_per_group: int = 2
    squeeze_excitation: bool = True
    decoder_expansion: int = 6
    postprocess_expansion: int = 3
    depthwise_kernel: int = 5
    weight_norm: bool = True
    residual_posterior: bool = True
    spectral_regularization: float = PAPER_TRAINING.regularization
    batchnorm_regularization: float = PAPER_TRAINING.regularization
    power_iterations: int = 4

    def __post_init__(self) -> None:
        shape = tuple(self.data_shape)
        if len(shape) != 3 or not all(_is_int(d) and d >= 1 for d in shape):
            raise ValueError(f"data_shape must be (C, H, W) of positive ints, got {self.data_shape!r}")
        object.__setattr__(self, "data_shape", tuple(int(d) for d in shape))
        groups = self.groups_per_scale
        if isinstance(groups, int) or not groups or not all(_is_int(g) and g >= 1 for g in groups):
            raise ValueError(
                f"groups_per_scale must be a non-empty tuple of ints >= 1 (finest scale first), got "
                f"{groups!r}; e.g. groups_per_scale=(10, 5)"
            )
        object.__setattr__(self, "groups_per_scale", tuple(int(g) for g in groups))
        positive = ("encoder_channels", "decoder_channels", "latent_channels", "preprocess_cells",
                    "postprocess_cells", "encoder_cells_per_group", "decoder_expansion",
                    "postprocess_expansion", "depthwise_kernel", "power_iterations")
        for name in positive:
            if not (_is_int(getattr(self, name)) and getattr(self, name) >= 1):
                raise ValueError(f"HierarchicalConfig.{name} must be an int >= 1, "
                                 f"got {getattr(self, name)!r}")
        for name in ("preprocess_blocks", "postprocess_blocks", "decoder_cells_per_group"):
            if not (_is_int(getattr(self, name)) and getattr(self, name) >= 0):
                raise ValueError(f"HierarchicalConfig.{name} must be an int >= 0, "
                                 f"got {getattr(self, name)!r}")
        if self.postprocess_blocks != self.preprocess_blocks:
            raise ValueError(
                f"postprocess_blocks={self.postprocess_blocks} must equal preprocess_blocks="
                f"{self.preprocess_blocks}: each pre-processing block halves the resolution and each "
                f"post-processing block doubles it back"
            )
        if self.depthwise_kernel % 2 == 0:
            raise ValueError(f"depthwise_kernel must be odd (same padding), got {self.depthwise_kernel}")
        for name in ("spectral_regularization", "batchnorm_regularization"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"HierarchicalConfig.{name} must be a finite number >= 0, got {value!r}")

    @classmethod
    def paper(cls, data_shape: DataShape = (1, 28, 28), **changes: Any) -> HierarchicalConfig:
        """The authors' MNIST/Omniglot network (the defaults), for ``data_shape``."""
        return replace(cls(), data_shape=data_shape, **changes)

    @classmethod
    def quick(cls, data_shape: DataShape = (1, 28, 28), **changes: Any) -> HierarchicalConfig:
        """A narrow, shallow network of the same structure that trains in seconds on a CPU:
        8 channels, one pre- and one post-processing cell, one cell per group, two scales of
        two 4-channel groups (14x14 and 7x7 for 28x28 data), expansions 2 and 1 with 3x3
        depthwise convs (a 5x5 depthwise backward at 28x28 alone costs a CPU more than the
        rest of the network), no regularisers."""
        base = cls(
            data_shape=data_shape, encoder_channels=8, decoder_channels=8, latent_channels=4,
            groups_per_scale=(2, 2), preprocess_blocks=1, preprocess_cells=1, postprocess_blocks=1,
            postprocess_cells=1, encoder_cells_per_group=1, decoder_cells_per_group=1,
            decoder_expansion=2, postprocess_expansion=1, depthwise_kernel=3,
            spectral_regularization=0.0, batchnorm_regularization=0.0,
        )
        return replace(base, **changes)

    # --- derived sizes ---------------------------------------------------------------------

    @property
    def num_scales(self) -> int:
        return len(self.groups_per_scale)

    @property
    def num_groups(self) -> int:
        return sum(self.groups_per_scale)

    @property
    def downsampling(self) -> int:
        """Total downsampling from the (padded) input to the coarsest latent scale."""
        return CHANNEL_MULT ** (self.preprocess_blocks + self.num_scales - 1)

    @property
    def padded_size(self) -> tuple[int, int]:
        """``(H, W)`` after padding to a multiple of :attr:`downsampling`."""
        f = self.downsampling
        return tuple(-(-side // f) * f for side in self.data_shape[1:])  # type: ignore[return-value]

    def latent_shapes(self) -> list[tuple[int, int, int]]:
        """``(C, h, w)`` of every latent group in decoder (top-down) order."""
        top_h, top_w = (side // self.downsampling for side in self.padded_size)
        shapes = []
        for scale in range(self.num_scales):  # coarsest first
            for _ in range(self.groups_per_scale[self.num_scales - 1 - scale]):
                shapes.append((self.latent_channels, top_h * 2 ** scale, top_w * 2 ** scale))
        return shapes

    @property
    def latent_dim(self) -> int:
        """Total number of latent variables (the length of the flat ``z``)."""
        return sum(c * h * w for c, h, w in self.latent_shapes())


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
