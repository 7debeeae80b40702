"""The paper's convolutional and ResNet VAEs for 28×28×1, 32×32×3 and 64×64×3 images.

The networks are the authors' (``pomonam/mr-vae``: ``experiments/binary_image`` and
``experiments/image``), which adapt the benchmark networks of Chadebec et al. (2022),
"Pythae" (arXiv:2206.08309); the code is our own. At ``width=1`` the plain β-VAEs have the
parameter counts of the paper's Appendix Table 1 (tested): 17.53M / 40.46M / 34.59M (conv)
and 1.881M / 7.896M / 2.771M (ResNet; the table prints 2.770M for the 64×64 ResNet, see
``book/`` for why we cannot match its fourth digit). Latent sizes (:data:`PAPER_LATENT_DIMS`):
32 for 28×28×1, 256 for 32×32×3 (the authors use 32 for SVHN), 64 for 64×64×3.

Shapes at ``width=1`` (``C`` = data channels; ``k/s/p[/op]`` = kernel, stride, padding,
output padding; ``res`` = ``[block, ReLU, block, ReLU]`` with
``block(x) = x + conv3x3(relu(conv3x3(x)))`` at the stage's channels)::

    conv   28: enc 128,256,512,1024 (4/2/1 each) -> 1x1  | dec fc 1024x4x4, T512 3/2/1,
               T256 3/2/1/1, T_C 3/2/1/1
    conv   32: enc as above -> 2x2                       | dec fc 1024x8x8, T512 4/2/1,
               T256 4/2/1/1, T_C 4/1/2
    conv   64: enc as above -> 4x4                       | dec fc 1024x8x8, T512 5/2/2,
               T256 5/2/1, T128 5/2/2/1, T_C 5/1/1
    resnet 28: enc 64 4/2/1, 128 4/2/1, 128 3/2/1, res   | dec fc 128x4x4, T128 3/2/1, res,
               T64 3/2/1/1, T_C 3/2/1/1
    resnet 32: enc 64 4/2/1, 128 4/2/1, 128 3/1/1, res   | dec fc 128x8x8, res, T64 4/2/1,
               T_C 3/2/1/1
    resnet 64: enc 64 4/2/1, 128 4/2/1, 128 3/2/1,       | dec fc 128x4x4, T128 3/2/1, res,
               128 3/2/1, res                            |     T128 5/2/1, T64 5/2/1/1, T_C 4/2/1

As in the authors' code:

* the conv nets have a BatchNorm after every hidden conv (``Conv -> BN -> ReLU``); the
  ResNets have none;
* the encoder ends in two linear heads, ``encoder.mu`` and ``encoder.logvar``; the decoder
  starts with ``decoder.fc`` (no activation after it) and ends with ``decoder.out``;
* :func:`build_mr_vae` gates after the BatchNorm (``Conv -> BN -> gate -> ReLU``), gates both
  convs of every residual block, and leaves the heads, ``decoder.fc`` and ``decoder.out``
  plain (see :func:`mrvae.convert`).

Our choices:

* **In-place ReLUs**, in the β-VAEs and MR-VAEs alike: the same function with one fewer
  feature map in memory per layer. In an MR-VAE each gate fuses with the ReLU after it
  (:func:`mrvae.convert`), which is why the residual block keeps its convs in a ``Sequential``.

* **Width multiplier.** Every hidden channel count ``c`` becomes ``max(1, round(c * width))``;
  the data channels and the latent size do not change.
* **Decoder output.** ``decoder.out`` has no activation. For ``Likelihood("bernoulli")`` it
  returns logits (the likelihood applies the sigmoid, which is the authors' sigmoid + BCE).
  For ``Likelihood("gaussian")`` the mean is unconstrained by default, which keeps the
  distortion quadratic in the last layer; ``output_sigmoid=True`` squashes it into
  ``[0, 1]`` as the authors' decoders do.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Literal

from torch import Tensor, nn

from mrvae.hyper.convert import convert
from mrvae.hyper.gates import BetaRange, gate_function
from mrvae.hyper.layers import (
    DEFAULT_GATE_INIT,
    DEFAULT_HYPER_HIDDEN,
    GATE_INITS,
    Gated,
    GateInit,
    Hypernetwork,
    check_hypernetwork,
)
from mrvae.models.base import VAE
from mrvae.models.objective import Likelihood

DataShape = tuple[int, int, int]
Kind = Literal["conv", "resnet"]

#: The data shapes the benchmark architectures are defined for.
SUPPORTED_SHAPES: tuple[DataShape, ...] = ((1, 28, 28), (3, 32, 32), (3, 64, 64))

#: Latent sizes of Chadebec et al. (2022), used when ``ArchitectureConfig.latent_dim`` is None.
PAPER_LATENT_DIMS: dict[DataShape, int] = {(1, 28, 28): 32, (3, 32, 32): 256, (3, 64, 64): 64}

#: Residual blocks per residual stage.
RESIDUAL_BLOCKS = 2


@dataclass(frozen=True)
class ArchitectureConfig:
    """Which benchmark network to build.

    Args:
        kind: ``"conv"`` or ``"resnet"``.
        data_shape: ``(C, H, W)``, one of :data:`SUPPORTED_SHAPES`.
        latent_dim: latent size; ``None`` picks :data:`PAPER_LATENT_DIMS` for ``data_shape``.
        width: hidden-channel multiplier, ``> 0``; ``1.0`` is the paper's network.
        batch_norm: BatchNorm after every hidden conv; ``None`` (default) follows the paper:
            on for ``"conv"``, off for ``"resnet"``.
        output_sigmoid: squash a Gaussian decoder's mean into ``[0, 1]``; invalid with Bernoulli.
    """

    kind: Kind
    data_shape: DataShape
    latent_dim: int | None = None
    width: float = 1.0
    batch_norm: bool | None = None
    output_sigmoid: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ("conv", "resnet"):
            raise ValueError(
                f"ArchitectureConfig.kind must be 'conv' or 'resnet', got {self.kind!r}"
            )
        shape = tuple(int(d) for d in self.data_shape)
        if shape not in SUPPORTED_SHAPES:
            raise ValueError(
                f"no benchmark architecture for data_shape={tuple(self.data_shape)}; use one of "
                f"{list(SUPPORTED_SHAPES)} (channels first), or write your own mrvae.VAE subclass"
            )
        object.__setattr__(self, "data_shape", shape)
        latent = self.latent_dim
        if latent is not None and (not isinstance(latent, int) or isinstance(latent, bool)
                                   or latent < 1):
            raise ValueError(f"latent_dim must be a positive int or None, got {self.latent_dim!r}")
        width = self.width
        if not (isinstance(width, (int, float)) and math.isfinite(width) and width > 0):
            raise ValueError(f"width must be a finite number > 0 (1.0 = paper size), got {width!r}")

    @property
    def latent(self) -> int:
        """The latent size in use: ``latent_dim`` or the paper's for this data shape."""
        if self.latent_dim is not None:
            return self.latent_dim
        return PAPER_LATENT_DIMS[self.data_shape]

    @property
    def uses_batch_norm(self) -> bool:
        """Whether hidden convs are followed by a BatchNorm (see ``batch_norm``)."""
        return self.kind == "conv" if self.batch_norm is None else self.batch_norm

    def channels(self, base: int) -> int:
        """Hidden channel count for ``base`` channels at ``width=1``."""
        return max(1, round(base * self.width))


# --- Layer tables at width 1 ---------------------------------------------------------------


@dataclass(frozen=True)
class _Conv:
    """One (transposed) conv layer; ``out=None`` means the data's channel count."""

    out: int | None
    kernel: int
    stride: int
    padding: int
    output_padding: int = 0


class _Residual:
    """Marker for a residual stage of :data:`RESIDUAL_BLOCKS` blocks."""


RES = _Residual()
_Layer = _Conv | _Residual

_CONV_ENCODER: list[_Layer] = [_Conv(128, 4, 2, 1), _Conv(256, 4, 2, 1), _Conv(512, 4, 2, 1),
                               _Conv(1024, 4, 2, 1)]
_ENCODERS: dict[tuple[str, int], list[_Layer]] = {
    ("conv", 28): _CONV_ENCODER,
    ("conv", 32): _CONV_ENCODER,
    ("conv", 64): _CONV_ENCODER,
    ("resnet", 28): [_Conv(64, 4, 2, 1), _Conv(128, 4, 2, 1), _Conv(128, 3, 2, 1), RES],
    ("resnet", 32): [_Conv(64, 4, 2, 1), _Conv(128, 4, 2, 1), _Conv(128, 3, 1, 1), RES],
    ("resnet", 64): [_Conv(64, 4, 2, 1), _Conv(128, 4, 2, 1), _Conv(128, 3, 2, 1),
                     _Conv(128, 3, 2, 1), RES],
}
#: ``(channels, side)`` of the decoder's first feature map, then its layers.
_DECODERS: dict[tuple[str, int], tuple[int, int, list[_Layer]]] = {
    ("conv", 28): (1024, 4, [_Conv(512, 3, 2, 1), _Conv(256, 3, 2, 1, 1), _Conv(None, 3, 2, 1, 1)]),
    ("conv", 32): (1024, 8, [_Conv(512, 4, 2, 1), _Conv(256, 4, 2, 1, 1), _Conv(None, 4, 1, 2)]),
    ("conv", 64): (1024, 8, [_Conv(512, 5, 2, 2), _Conv(256, 5, 2, 1), _Conv(128, 5, 2, 2, 1),
                             _Conv(None, 5, 1, 1)]),
    ("resnet", 28): (128, 4, [_Conv(128, 3, 2, 1), RES, _Conv(64, 3, 2, 1, 1),
                              _Conv(None, 3, 2, 1, 1)]),
    ("resnet", 32): (128, 8, [RES, _Conv(64, 4, 2, 1), _Conv(None, 3, 2, 1, 1)]),
    ("resnet", 64): (128, 4, [_Conv(128, 3, 2, 1), RES, _Conv(128, 5, 2, 1), _Conv(64, 5, 2, 1, 1),
                              _Conv(None, 4, 2, 1)]),
}


class ResidualBlock(nn.Module):
    """``x + conv2(relu(conv1(x)))`` with two 3x3 convs; shapes ``(B, C, H, W) -> (B, C, H, W)``.

    An MR-VAE gates both convs (``conv -> gate -> ReLU -> conv -> gate``, then the skip).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(OrderedDict(
            conv1=nn.Conv2d(channels, channels, 3, padding=1),
            act=nn.ReLU(inplace=True),
            conv2=nn.Conv2d(channels, channels, 3, padding=1),
        ))

    def forward(self, x: Tensor) -> Tensor:
        *head, last = self.body
        if not isinstance(last, Gated):
            return x + self.body(x)
        h = x  # an MR-VAE's block: the last gate adds the skip in its own pass
        for layer in head:
            h = layer(h)
        return last(h, residual=x)


def _residual_stage(channels: int) -> nn.Sequential:
    """``[block, ReLU] * RESIDUAL_BLOCKS``."""
    parts: list[nn.Module] = []
    for _ in range(RESIDUAL_BLOCKS):
        parts += [ResidualBlock(channels), nn.ReLU(inplace=True)]
    return nn.Sequential(*parts)


def _conv_side(side: int, layer: _Conv, transposed: bool) -> int:
    if transposed:
        return (side - 1) * layer.stride - 2 * layer.padding + layer.kernel + layer.output_padding
    return (side + 2 * layer.padding - layer.kernel) // layer.stride + 1


def _encoder_body(config: ArchitectureConfig) -> tuple[nn.Sequential, int]:
    """Conv stack and its flattened output size: ``(B, C, H, W) -> (B, features)``."""
    channels, side = config.data_shape[0], config.data_shape[1]
    parts: OrderedDict[str, nn.Module] = OrderedDict()
    for i, layer in enumerate(_ENCODERS[(config.kind, side)], start=1):
        if isinstance(layer, _Residual):
            parts["res"] = _residual_stage(channels)
            continue
        out = config.channels(layer.out)  # type: ignore[arg-type]
        parts[f"conv{i}"] = nn.Conv2d(channels, out, layer.kernel, layer.stride, layer.padding)
        if config.uses_batch_norm:
            parts[f"bn{i}"] = nn.BatchNorm2d(out)
        parts[f"act{i}"] = nn.ReLU(inplace=True)
        channels, side = out, _conv_side(side, layer, transposed=False)
    parts["flatten"] = nn.Flatten()
    return nn.Sequential(parts), channels * side * side


def _decoder(config: ArchitectureConfig) -> nn.Sequential:
    """``z (B, latent) -> (B, C, H, W)`` logits or mean; the last layer is named ``out``."""
    data_channels, data_side = config.data_shape[0], config.data_shape[1]
    base, side, layers = _DECODERS[(config.kind, data_side)]
    channels = config.channels(base)
    parts: OrderedDict[str, nn.Module] = OrderedDict(
        fc=nn.Linear(config.latent, channels * side * side),
        unflatten=nn.Unflatten(1, (channels, side, side)),
    )
    for i, layer in enumerate(layers, start=1):
        if isinstance(layer, _Residual):
            parts["res"] = _residual_stage(channels)
            continue
        last = layer.out is None
        out = data_channels if last else config.channels(layer.out)  # type: ignore[arg-type]
        conv = nn.ConvTranspose2d(channels, out, layer.kernel, layer.stride, layer.padding,
                                  layer.output_padding)
        side = _conv_side(side, layer, transposed=True)
        channels = out
        if last:
            parts["out"] = conv
            break
        parts[f"up{i}"] = conv
        if config.uses_batch_norm:
            parts[f"bn{i}"] = nn.BatchNorm2d(out)
        parts[f"act{i}"] = nn.ReLU(inplace=True)
    if config.output_sigmoid:
        parts["sigmoid"] = nn.Sigmoid()
    # The tables are fixed; a mismatch here is a bug in them, not a user error.
    assert side == data_side, f"decoder table {config.kind} {config.data_shape} gives side {side}"
    return nn.Sequential(parts)


class Encoder(nn.Module):
    """``x (B, C, H, W) -> mu, logvar (B, latent)`` via ``body`` and two linear heads."""

    def __init__(self, config: ArchitectureConfig) -> None:
        super().__init__()
        self.body, features = _encoder_body(config)
        self.mu = nn.Linear(features, config.latent)
        self.logvar = nn.Linear(features, config.latent)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.body(x)
        return self.mu(h), self.logvar(h)


class BenchmarkVAE(VAE):
    """A benchmark conv or ResNet VAE: build one with :func:`build_vae` or a subclass.

    Submodules ``encoder`` (:class:`Encoder`) and ``decoder`` (``nn.Sequential`` ending in
    ``out``) are the names :func:`mrvae.convert` groups by.
    """

    kind: Kind

    def __init__(self, config: ArchitectureConfig, likelihood: Likelihood | None = None) -> None:
        if config.kind != self.kind:
            raise ValueError(
                f"{type(self).__name__} builds kind={self.kind!r} but the config says "
                f"kind={config.kind!r}; use build_vae(config, likelihood) to pick the class"
            )
        super().__init__(likelihood)
        if config.output_sigmoid and self.likelihood.name == "bernoulli":
            raise ValueError(
                "output_sigmoid=True is for a Gaussian mean; a Bernoulli decoder must return "
                "logits (Likelihood applies the sigmoid). Set output_sigmoid=False."
            )
        self.config = config
        self.data_shape = config.data_shape
        self.latent_dim = config.latent
        self.encoder = Encoder(config)
        self.decoder = _decoder(config)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``x (B, C, H, W) -> mu, logvar (B, latent)``."""
        if x.dim() != 4 or tuple(x.shape[1:]) != self.data_shape:
            expected = ", ".join(map(str, self.data_shape))
            raise ValueError(
                f"{type(self).__name__} expects input of shape (B, {expected}), got "
                f"{tuple(x.shape)}; build it with data_shape={tuple(x.shape[1:])} or reshape x"
            )
        return self.encoder(x)

    def decode(self, z: Tensor) -> Tensor:
        """``z (B, latent) -> (B, C, H, W)``: logits (Bernoulli) or mean (Gaussian)."""
        return self.decoder(z)


class ConvVAE(BenchmarkVAE):
    """The benchmark's convolutional VAE (strided convs, transposed-conv decoder)."""

    kind: Kind = "conv"


class ResNetVAE(BenchmarkVAE):
    """The benchmark's ResNet VAE (strided convs plus residual blocks)."""

    kind: Kind = "resnet"


def build_vae(config: ArchitectureConfig, likelihood: Likelihood | None = None) -> BenchmarkVAE:
    """A plain (β-)VAE for ``config``; ``likelihood`` defaults to Bernoulli."""
    cls = ConvVAE if config.kind == "conv" else ResNetVAE
    return cls(config, likelihood)


@dataclass(frozen=True)
class GatePlacement:
    """Where :func:`build_mr_vae` puts β gates.

    Args:
        encoder_gate, decoder_gate: gate function per group (Eq. 7: ``"sigmoid"``/``"sqrt"``;
            Appendix D: sigmoid for both works as well).
        layers: ``"all"`` gates encoder and decoder; ``"encoder"`` or ``"decoder"`` gate one
            side and leave the other plain (ablations).
        exclude: module names (or parents' names) left plain, e.g. ``("decoder.out",)``.
        init: gate initialisation, ``"open"``, ``"uniform"`` or ``"authors"`` (:data:`mrvae.hyper.layers.GateInit`).
        hypernetwork, hyper_hidden: the map from ``nu(beta)`` to the gates' pre-activations
            and its hidden width (:data:`mrvae.hyper.layers.Hypernetwork`; Appendix D).
    """

    encoder_gate: str = "sigmoid"
    decoder_gate: str = "sqrt"
    layers: Literal["all", "encoder", "decoder"] = "all"
    exclude: tuple[str, ...] = ()
    init: GateInit = DEFAULT_GATE_INIT
    hypernetwork: Hypernetwork = "linear"
    hyper_hidden: int = DEFAULT_HYPER_HIDDEN

    def __post_init__(self) -> None:
        gate_function(self.encoder_gate)
        gate_function(self.decoder_gate)
        check_hypernetwork(self.hypernetwork, self.hyper_hidden)
        if self.init not in GATE_INITS:
            raise ValueError(f"GatePlacement.init must be one of {list(GATE_INITS)}, got {self.init!r}")
        if self.layers not in ("all", "encoder", "decoder"):
            raise ValueError(
                f"GatePlacement.layers must be 'all', 'encoder' or 'decoder', got {self.layers!r}"
            )
        if isinstance(self.exclude, str) or not all(isinstance(p, str) for p in self.exclude):
            raise ValueError(
                f"GatePlacement.exclude must be a tuple of module names, got {self.exclude!r}; "
                f"write exclude=('decoder.out',), not exclude='decoder.out'"
            )

    def excluded(self) -> tuple[str, ...]:
        """Prefixes to leave plain: ``exclude`` plus the side ``layers`` leaves out."""
        side = {"all": (), "encoder": ("decoder",), "decoder": ("encoder",)}[self.layers]
        return side + tuple(self.exclude)

    def convert_options(self, *, also_exclude: tuple[str, ...] = ()) -> dict[str, Any]:
        """The keyword arguments of :func:`mrvae.convert` this placement stands for (with
        ``also_exclude`` left plain too)."""
        return {"encoder_gate": self.encoder_gate, "decoder_gate": self.decoder_gate, "init": self.init,
                "exclude": (*self.excluded(), *also_exclude), "hypernetwork": self.hypernetwork,
                "hyper_hidden": self.hyper_hidden}


def build_mr_vae(
    config: ArchitectureConfig,
    likelihood: Likelihood | None,
    beta_range: BetaRange,
    placement: GatePlacement | None = None,
) -> BenchmarkVAE:
    """An MR-VAE: :func:`build_vae` with β gates placed by ``placement`` (default: the authors').

    Adds ``2 * features`` parameters per gate (Eq. 6). Build the optimizer afterwards.
    """
    placement = placement or GatePlacement()
    model = build_vae(config, likelihood)
    convert(model, beta_range, encoder="encoder", decoder="decoder", **placement.convert_options())
    return model
