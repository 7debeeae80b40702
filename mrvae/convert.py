"""Turn an existing VAE into an MR-VAE by swapping its layers for gated ones (Section 3.1)."""

from __future__ import annotations

from typing import Callable, Iterable, Union

from torch import nn

from .gates import BetaRange, gate_function
from .layers import GatedConv2d, GatedConvTranspose2d, GatedLayer, GatedLinear

#: Builds the gated counterpart of a layer, sharing its base parameters.
Builder = Callable[[nn.Module, str, BetaRange], GatedLayer]


def _share_weights(old: nn.Module, new: GatedLayer) -> GatedLayer:
    new.weight = old.weight
    new.bias = old.bias
    return new


def _linear(old: nn.Module, gate: str, beta_range: BetaRange) -> GatedLayer:
    assert isinstance(old, nn.Linear)
    new = GatedLinear(
        old.in_features,
        old.out_features,
        old.bias is not None,
        gate=gate,
        beta_range=beta_range,
        device=old.weight.device,
        dtype=old.weight.dtype,
    )
    return _share_weights(old, new)


def _conv(old: nn.Module, gate: str, beta_range: BetaRange) -> GatedLayer:
    assert isinstance(old, nn.Conv2d)
    new = GatedConv2d(
        old.in_channels,
        old.out_channels,
        old.kernel_size,  # type: ignore[arg-type]
        stride=old.stride,  # type: ignore[arg-type]
        padding=old.padding,  # type: ignore[arg-type]
        dilation=old.dilation,  # type: ignore[arg-type]
        groups=old.groups,
        bias=old.bias is not None,
        padding_mode=old.padding_mode,
        device=old.weight.device,
        dtype=old.weight.dtype,
        gate=gate,
        beta_range=beta_range,
    )
    return _share_weights(old, new)


def _conv_transpose(old: nn.Module, gate: str, beta_range: BetaRange) -> GatedLayer:
    assert isinstance(old, nn.ConvTranspose2d)
    new = GatedConvTranspose2d(
        old.in_channels,
        old.out_channels,
        old.kernel_size,  # type: ignore[arg-type]
        stride=old.stride,  # type: ignore[arg-type]
        padding=old.padding,  # type: ignore[arg-type]
        output_padding=old.output_padding,  # type: ignore[arg-type]
        groups=old.groups,
        bias=old.bias is not None,
        dilation=old.dilation,  # type: ignore[arg-type]
        device=old.weight.device,
        dtype=old.weight.dtype,
        gate=gate,
        beta_range=beta_range,
    )
    return _share_weights(old, new)


#: Plain layer type -> builder of its gated counterpart. Exact types only, so a
#: subclass with custom behaviour is never silently replaced.
GATED_COUNTERPARTS: dict[type, Builder] = {
    nn.Linear: _linear,
    nn.Conv2d: _conv,
    nn.ConvTranspose2d: _conv_transpose,
}

Prefixes = Union[str, Iterable[str]]


def _as_prefixes(value: Prefixes) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _is_under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(p == "" or name == p or name.startswith(p + ".") for p in prefixes)


def _group_of(name: str, encoder: tuple[str, ...], decoder: tuple[str, ...]) -> str | None:
    if _is_under(name, encoder):
        return "encoder"
    if _is_under(name, decoder):
        return "decoder"
    return None


def _check_exclude(model: nn.Module, exclude: tuple[str, ...]) -> None:
    # A misspelt exclusion would silently gate a layer the caller meant to keep plain.
    names = [name for name, _ in model.named_modules()]
    unknown = [p for p in exclude if not any(_is_under(n, (p,)) for n in names)]
    if unknown:
        raise ValueError(
            f"exclude={unknown} matches no submodule of the model; use names from "
            f"model.named_modules(), e.g. exclude=('decoder.out',)"
        )


def convert(
    model: nn.Module,
    beta_range: BetaRange,
    *,
    encoder: Prefixes = "encoder",
    decoder: Prefixes = "decoder",
    encoder_gate: str = "sigmoid",
    decoder_gate: str = "sqrt",
    exclude: Prefixes = (),
) -> nn.Module:
    """Replace every ``Linear``/``Conv2d``/``ConvTranspose2d`` of ``model`` with its gated version.

    The base weights are kept (the same ``Parameter`` objects), so build the
    optimizer *after* converting. Eq. 7's choice is a sigmoid encoder gate and a
    ``sqrt(ReLU(1 - exp(x)))`` decoder gate; Appendix D uses sigmoid for both.

    Args:
        model: the VAE; changed in place and returned.
        beta_range: the training range ``[a, b]``; fixes the gates' input standardisation.
        encoder: name (or names) of the submodules that form the encoder, e.g.
            ``"encoder"`` or ``("enc", "fc_mu", "fc_logvar")``.
        decoder: likewise for the decoder.
        encoder_gate, decoder_gate: ``"sigmoid"`` or ``"sqrt"``.
        exclude: names (or parents' names) of layers to leave plain on purpose, e.g.
            ``("decoder.out",)``; they need not belong to either group. An excluded layer
            ignores β, so the model no longer spans the full response family of Eq. 6.

    Raises:
        ValueError: a convertible layer lies in neither group (and is not excluded), an
            ``exclude`` entry matches no submodule, or a gate name is unknown.
    """
    gates = {"encoder": encoder_gate, "decoder": decoder_gate}
    for gate in gates.values():
        gate_function(gate)
    enc, dec, skip = _as_prefixes(encoder), _as_prefixes(decoder), _as_prefixes(exclude)
    _check_exclude(model, skip)
    targets: list[tuple[str, str]] = []
    ungrouped: list[str] = []
    for name, module in model.named_modules():
        if isinstance(module, GatedLayer) or type(module) not in GATED_COUNTERPARTS:
            continue
        if _is_under(name, skip):
            continue
        group = _group_of(name, enc, dec)
        if group is None:
            ungrouped.append(name)
        else:
            targets.append((name, group))
    if ungrouped:
        raise ValueError(
            f"cannot tell whether layers {ungrouped} belong to the encoder or the decoder; "
            f"add their names (or a parent's) to encoder=... or decoder=... "
            f"(now encoder={list(enc)}, decoder={list(dec)})"
        )
    for name, group in targets:
        parent_name, _, child_name = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        old = getattr(parent, child_name)
        setattr(parent, child_name, GATED_COUNTERPARTS[type(old)](old, gates[group], beta_range))
    return model


def count_parameters(model: nn.Module) -> dict[str, int]:
    """Parameter counts: ``total``, ``hyper`` (the gates' ``w`` and ``c``) and ``base``."""
    total = sum(p.numel() for p in model.parameters())
    hyper = sum(
        layer.hyper_weight.numel() + layer.hyper_bias.numel()
        for layer in model.modules()
        if isinstance(layer, GatedLayer)
    )
    return {"total": total, "hyper": hyper, "base": total - hyper}
