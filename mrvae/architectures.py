"""Convolutional and ResNet VAEs for 28×28×1, 32×32×3 and 64×64×3 images, plain or multi-rate.

The paper's image experiments (Section 5.2) follow the set-up of Chadebec et al. (2022),
"Pythae: Unifying Generative Autoencoders in Python" (arXiv:2206.08309). The layer shapes
here (kernel sizes, strides, paddings, channel counts at ``width=1``) follow that benchmark's
networks, ``pythae.models.nn.benchmarks.{mnist,cifar,celeba}.{convnets,resnets}`` in
github.com/clementchadebec/benchmark_VAE; the code is our own. Default latent sizes are the
benchmark's: 16 for 28×28×1, 256 for 32×32×3 and 64 for 64×64×3 (:data:`PAPER_LATENT_DIMS`).

Shapes at ``width=1`` (``C`` = data channels, ``L`` = latent size, ``k/s/p[/op]`` = kernel,
stride, padding, output padding; ``res`` = two residual blocks
``x + conv1x1(relu(conv3x3(relu(x))))`` with 32 hidden channels)::

    conv   28: enc 128,256,512,1024 (4/2/1 each) -> 1x1  | dec fc 1024x4x4, T512 3/2/1,
               T256 3/2/1/1, T_C 3/2/1/1
    conv   32: enc as above -> 2x2                       | dec fc 1024x8x8, T512 4/2/1,
               T256 4/2/1/1, T_C 4/1/2
    conv   64: enc as above -> 4x4                       | dec fc 1024x8x8, T512 5/2/2,
               T256 5/2/1, T128 5/2/2/1, T_C 5/1/1
    resnet 28: enc 64 4/2/1, 128 4/2/1, 128 3/2/1, res   | dec fc 128x4x4, T128 3/2/1, res,
               T64 3/2/1/1, T_C 3/2/1/1
    resnet 32: enc 64 4/2/1, 128 4/2/1, 128 3/1/1, res   | dec fc 128x8x8, res, T64 4/2/1,
               T_C 4/2/1
    resnet 64: enc 64 4/2/1, 128 4/2/1, 128 3/2/1,       | dec fc 128x4x4, T128 3/2/1, res,
               128 3/2/1, res                            |     T128 5/2/1, T64 5/2/1/1, T_C 4/2/1

The encoder ends in two linear heads, ``encoder.mu`` and ``encoder.logvar``; the decoder's
last layer is ``decoder.out``.

Decisions (where we depart from, or pin down, the benchmark):

* **Width multiplier.** Every hidden channel count ``c`` becomes ``max(1, round(c * width))``;
  the data channels and the latent size do not change. Parameters of layers between two
  hidden layers scale as ``width**2``, so ``width=1/8`` is ~64× cheaper (the quick profile).
* **Nonlinearities.** Every hidden conv/linear layer is followed by a ReLU, including the
  decoder's first linear layer and the encoder's strided convs in the ResNets, where the
  benchmark has none (so its stacks collapse to one linear map) or a sigmoid in mid-network
  (64×64 ResNet decoder). The tensor shapes are unchanged.
* **BatchNorm is off by default** (``batch_norm=False``). An MR-VAE gate multiplies channel
  ``c`` of example ``i`` by ``g_c(β_i)`` right after the layer (Eq. 8). A BatchNorm that
  follows normalises each channel over the batch, so with one β per batch (Algorithm 1) it
  divides the gate out exactly — those layers stop responding to β — and with one β per
  example the output for one example depends on the other examples' β, while eval-mode
  running statistics average over the whole β range. ``batch_norm=True`` restores the
  benchmark's BatchNorm after every hidden conv of the conv nets and after the strided
  convs of the ResNets, for plain β-VAE baselines.
* **Decoder output.** ``decoder.out`` has no activation. For ``Likelihood("bernoulli")`` it
  returns logits (the likelihood applies the sigmoid). For ``Likelihood("gaussian")`` it
  returns the mean unconstrained by default, which keeps the distortion quadratic in the
  last layer and its gradient alive at saturated pixels; ``output_sigmoid=True`` squashes the
  Gaussian mean into ``[0, 1]`` as the benchmark's decoders do.
* **Gates.** :func:`build_mr_vae` gates every conv, transposed conv and linear layer, heads
  included (Section 3.1, Appendix B): sigmoid in the encoder and ``sqrt(ReLU(1 - exp(x)))``
  in the decoder (Eq. 7) unless :class:`GatePlacement` says otherwise.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal, Union

from torch import Tensor, nn

from .convert import convert
from .gates import BetaRange, gate_function
from .model import VAE
from .objective import Likelihood

DataShape = tuple[int, int, int]
Kind = Literal["conv", "resnet"]

#: The data shapes the benchmark architectures are defined for.
SUPPORTED_SHAPES: tuple[DataShape, ...] = ((1, 28, 28), (3, 32, 32), (3, 64, 64))

#: Latent sizes of Chadebec et al. (2022), used when ``ArchitectureConfig.latent_dim`` is None.
PAPER_LATENT_DIMS: dict[DataShape, int] = {(1, 28, 28): 16, (3, 32, 32): 256, (3, 64, 64): 64}

#: Channels of the residual blocks' hidden 3x3 conv at ``width=1``.
RESIDUAL_HIDDEN = 32
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
        batch_norm: BatchNorm after hidden convs (see the module docstring for why it is off).
        output_sigmoid: squash a Gaussian decoder's mean into ``[0, 1]``; invalid with Bernoulli.
    """

    kind: Kind
    data_shape: DataShape
    latent_dim: int | None = None
    width: float = 1.0
    batch_norm: bool = False
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
_Layer = Union[_Conv, _Residual]

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
    ("resnet", 32): (128, 8, [RES, _Conv(64, 4, 2, 1), _Conv(None, 4, 2, 1)]),
    ("resnet", 64): (128, 4, [_Conv(128, 3, 2, 1), RES, _Conv(128, 5, 2, 1), _Conv(64, 5, 2, 1, 1),
                              _Conv(None, 4, 2, 1)]),
}


class ResidualBlock(nn.Module):
    """``x + conv1x1(relu(conv3x3(relu(x))))``; shapes ``(B, C, H, W) -> (B, C, H, W)``."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.conv3x3 = nn.Conv2d(channels, hidden, 3, padding=1)
        self.conv1x1 = nn.Conv2d(hidden, channels, 1)
        self.act = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv1x1(self.act(self.conv3x3(self.act(x))))


def _residual_stage(config: ArchitectureConfig, channels: int) -> nn.Sequential:
    hidden = config.channels(RESIDUAL_HIDDEN)
    return nn.Sequential(*(ResidualBlock(channels, hidden) for _ in range(RESIDUAL_BLOCKS)))


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
            parts["res"] = _residual_stage(config, channels)
            parts["act_res"] = nn.ReLU()
            continue
        out = config.channels(layer.out)  # type: ignore[arg-type]
        parts[f"conv{i}"] = nn.Conv2d(channels, out, layer.kernel, layer.stride, layer.padding)
        if config.batch_norm:
            parts[f"bn{i}"] = nn.BatchNorm2d(out)
        parts[f"act{i}"] = nn.ReLU()
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
        act0=nn.ReLU(),
        unflatten=nn.Unflatten(1, (channels, side, side)),
    )
    for i, layer in enumerate(layers, start=1):
        if isinstance(layer, _Residual):
            parts["res"] = _residual_stage(config, channels)
            parts["act_res"] = nn.ReLU()
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
        if config.batch_norm:
            parts[f"bn{i}"] = nn.BatchNorm2d(out)
        parts[f"act{i}"] = nn.ReLU()
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
    """

    encoder_gate: str = "sigmoid"
    decoder_gate: str = "sqrt"
    layers: Literal["all", "encoder", "decoder"] = "all"
    exclude: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        gate_function(self.encoder_gate)
        gate_function(self.decoder_gate)
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


def build_mr_vae(
    config: ArchitectureConfig,
    likelihood: Likelihood | None,
    beta_range: BetaRange,
    placement: GatePlacement | None = None,
) -> BenchmarkVAE:
    """An MR-VAE: :func:`build_vae` with gated layers placed by ``placement`` (default: all).

    Adds ``2 * out`` parameters per gated layer (Eq. 6). Build the optimizer afterwards.
    """
    placement = placement or GatePlacement()
    model = build_vae(config, likelihood)
    convert(model, beta_range, encoder="encoder", decoder="decoder",
            encoder_gate=placement.encoder_gate, decoder_gate=placement.decoder_gate,
            exclude=placement.excluded())
    return model
