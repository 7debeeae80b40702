"""NVAE's building blocks (Vahdat & Kautz, 2020, Section 3.1 and Figure 3).

Every conv is an :class:`WNConv2d` (a plain ``nn.Conv2d`` subclass), every hidden vector map
an ``nn.Linear`` inside :class:`SqueezeExcitation`; an MR-VAE wraps each of them in a
:class:`~mrvae.hyper.layers.Gated` (see :func:`mrvae.models.hierarchical.model.add_gates`),
so the cells call them like any layer and never see β.

Cells return ``skip(x) + 0.1 * body(x)``, as NVAE does, so a deep tower starts close to the
identity.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: NVAE's BatchNorm momentum and epsilon.
BN_MOMENTUM = 0.05
BN_EPS = 1e-5
#: Scale of a cell's residual branch.
RESIDUAL_SCALE = 0.1


def batch_norm(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class WNConv2d(nn.Conv2d):
    """``nn.Conv2d`` with NVAE's weight normalisation: ``w = exp(g) v / ||v||`` per output
    channel, with ``log_weight_norm = g`` of shape ``(C_out, 1, 1, 1)`` learnt in log space.

    With ``weight_norm=False`` it is a plain conv (NVAE's decoder cells) that still exposes
    :meth:`normalized_weight`, so the spectral regulariser treats every conv alike.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, groups: int = 1, bias: bool = True, weight_norm: bool = True) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, groups=groups, bias=bias)
        if weight_norm:
            with torch.no_grad():  # start at w = v, as NVAE (up to its 0.01 offset)
                init = self.weight.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
            self.log_weight_norm: nn.Parameter | None = nn.Parameter(torch.log(init + 1e-2))
        else:
            self.register_parameter("log_weight_norm", None)

    def normalized_weight(self) -> Tensor:
        """The weight the conv applies, ``(C_out, C_in / groups, k, k)``."""
        if self.log_weight_norm is None:
            return self.weight
        norm = self.weight.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
        return self.log_weight_norm.exp() * self.weight / (norm + 1e-5)

    def forward(self, x: Tensor) -> Tensor:
        return self._conv_forward(x, self.normalized_weight(), self.bias)

    def gated_features(self) -> tuple[int, int]:
        """Gateable by :func:`mrvae.convert` (:class:`~mrvae.hyper.convert.Gateable`): a gate
        scales its output channels."""
        return self.out_channels, 1


class SqueezeExcitation(nn.Module):
    """``x * sigmoid(fc2(relu(fc1(mean_hw(x)))))`` with ``max(C // 16, 4)`` hidden units (Hu et
    al., 2018; NVAE Section 3.1). Shapes ``(B, C, H, W) -> (B, C, H, W)``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        hidden = max(channels // 16, 4)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, x: Tensor) -> Tensor:
        scale = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean(dim=(2, 3))))))
        return x * scale[:, :, None, None]


class FactorizedReduce(nn.Module):
    """The skip path of a downsampling cell: Swish, then four stride-2 1x1 convs on the map
    shifted by ``(0|1, 0|1)`` pixels, concatenated: ``(B, C_in, H, W) -> (B, C_out, H/2, W/2)``."""

    def __init__(self, in_channels: int, out_channels: int, weight_norm: bool = True) -> None:
        super().__init__()
        quarter = out_channels // 4
        sizes = [quarter, quarter, quarter, out_channels - 3 * quarter]
        self.convs = nn.ModuleList(WNConv2d(in_channels, c, 1, stride=2, weight_norm=weight_norm)
                                   for c in sizes)

    def forward(self, x: Tensor) -> Tensor:
        h = F.silu(x)
        shifted = (h, h[:, :, 1:, 1:], h[:, :, :, 1:], h[:, :, 1:, :])
        return torch.cat([conv(part) for conv, part in zip(self.convs, shifted, strict=True)], dim=1)


class UpsampleSkip(nn.Module):
    """The skip path of an upsampling cell: bilinear x2 and a 1x1 conv without bias."""

    def __init__(self, in_channels: int, out_channels: int, weight_norm: bool = True) -> None:
        super().__init__()
        self.conv = WNConv2d(in_channels, out_channels, 1, bias=False, weight_norm=weight_norm)

    def forward(self, x: Tensor) -> Tensor:
        # NVAE upsamples first. Both maps are linear, one across pixels and one across channels,
        # so they commute (and so does a per-channel gate on the conv): converting at the low
        # resolution gives the same function for a quarter of the conv's work, and the
        # interpolation then moves C_out instead of C_in channels.
        return F.interpolate(self.conv(x), scale_factor=2, mode="bilinear", align_corners=True)


class ResidualCell(nn.Module):
    """Encoder cell (NVAE Figure 3b, ``res_bnswish`` x2): ``(BN -> Swish -> conv3x3) x 2 -> SE``.

    ``downsample`` halves the resolution (stride-2 first conv) and doubles the channels, with a
    :class:`FactorizedReduce` skip. Shapes ``(B, C_in, H, W) -> (B, C_out, H', W')``.
    """

    def __init__(self, in_channels: int, out_channels: int, *, downsample: bool = False,
                 squeeze_excitation: bool = True, weight_norm: bool = True) -> None:
        super().__init__()
        if not downsample and in_channels != out_channels:
            raise ValueError(f"a ResidualCell keeps its {in_channels} channels unless it downsamples")
        self.skip: nn.Module = (FactorizedReduce(in_channels, out_channels, weight_norm) if downsample
                                else nn.Identity())
        self.bn1 = batch_norm(in_channels)
        self.conv1 = WNConv2d(in_channels, out_channels, 3, stride=2 if downsample else 1, padding=1,
                              weight_norm=weight_norm)
        self.bn2 = batch_norm(out_channels)
        self.conv2 = WNConv2d(out_channels, out_channels, 3, padding=1, weight_norm=weight_norm)
        self.se = SqueezeExcitation(out_channels) if squeeze_excitation else None

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.bn1(x)))
        h = self.conv2(F.silu(self.bn2(h)))
        if self.se is not None:
            h = self.se(h)
        return self.skip(x) + RESIDUAL_SCALE * h


class InvertedResidualCell(nn.Module):
    """Decoder cell (NVAE Figure 3a, MobileNetV2-style ``mconv``): ``BN -> 1x1 expand -> BN ->
    Swish -> depthwise kxk -> BN -> Swish -> 1x1 project -> BN -> SE``.

    The hidden width is ``expansion * C_in``. ``upsample`` doubles the resolution (nearest) and
    halves the channels, with an :class:`UpsampleSkip`. The three convs have no bias and no
    weight normalisation, as in NVAE.
    """

    def __init__(self, in_channels: int, out_channels: int, *, expansion: int, kernel: int = 5,
                 upsample: bool = False, squeeze_excitation: bool = True, weight_norm: bool = True) -> None:
        super().__init__()
        if not upsample and in_channels != out_channels:
            raise ValueError(
                f"an InvertedResidualCell keeps its {in_channels} channels unless it upsamples")
        hidden = in_channels * expansion
        self.upsample = upsample
        self.skip: nn.Module = (UpsampleSkip(in_channels, out_channels, weight_norm) if upsample
                                else nn.Identity())
        self.bn_in = batch_norm(in_channels)
        self.expand = WNConv2d(in_channels, hidden, 1, bias=False, weight_norm=False)
        self.bn_expand = batch_norm(hidden)
        self.depthwise = WNConv2d(hidden, hidden, kernel, padding=kernel // 2, groups=hidden, bias=False,
                                  weight_norm=False)
        self.bn_depthwise = batch_norm(hidden)
        self.project = WNConv2d(hidden, out_channels, 1, bias=False, weight_norm=False)
        self.bn_out = batch_norm(out_channels)
        self.se = SqueezeExcitation(out_channels) if squeeze_excitation else None

    def forward(self, x: Tensor) -> Tensor:
        h = F.silu(self.bn_expand(self.expand(self.bn_in(x))))
        if self.upsample:
            # NVAE upsamples the cell's input. Nearest upsampling repeats every pixel four
            # times, which leaves a BatchNorm's batch mean and variance unchanged and commutes
            # with 1x1 convs, per-channel gates and Swish, so doing it right before the first
            # op that mixes pixels computes the same function at a quarter of the cost. (Only
            # the running variance's n/(n-1) correction sees the smaller n: a relative 1e-4.)
            h = F.interpolate(h, scale_factor=2, mode="nearest")
        h = F.silu(self.bn_depthwise(self.depthwise(h)))
        h = self.bn_out(self.project(h))
        if self.se is not None:
            h = self.se(h)
        return self.skip(x) + RESIDUAL_SCALE * h


class EncoderCombiner(nn.Module):
    """NVAE's encoder combiner: the bottom-up feature plus a 1x1 conv of the top-down state,
    ``(B, C_enc, h, w), (B, C_dec, h, w) -> (B, C_enc, h, w)``; its output feeds the posterior."""

    def __init__(self, encoder_channels: int, decoder_channels: int, weight_norm: bool = True) -> None:
        super().__init__()
        self.conv = WNConv2d(decoder_channels, encoder_channels, 1, weight_norm=weight_norm)

    def forward(self, bottom_up: Tensor, top_down: Tensor) -> Tensor:
        return bottom_up + self.conv(top_down)


class DecoderCombiner(nn.Module):
    """NVAE's decoder combiner: a 1x1 conv of ``[state, z]`` concatenated along channels,
    ``(B, C, h, w), (B, L, h, w) -> (B, C, h, w)``."""

    def __init__(self, channels: int, latent_channels: int, weight_norm: bool = True) -> None:
        super().__init__()
        self.conv = WNConv2d(channels + latent_channels, channels, 1, weight_norm=weight_norm)

    def forward(self, state: Tensor, z: Tensor) -> Tensor:
        return self.conv(torch.cat([state, z], dim=1))


class ELUConv(nn.Module):
    """``ELU -> conv [-> ELU]``: NVAE's prior heads, top encoder layer and output layer."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, *, elu_after: bool = False,
                 weight_norm: bool = True) -> None:
        super().__init__()
        self.conv = WNConv2d(in_channels, out_channels, kernel, padding=kernel // 2,
                             weight_norm=weight_norm)
        self.elu_after = elu_after

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv(F.elu(x))
        return F.elu(h) if self.elu_after else h
