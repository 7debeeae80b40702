"""Turn an existing VAE into an MR-VAE by putting β gates on its layers (Section 3.1).

Which layers get a gate, by default as in the authors' code (``pomonam/mr-vae``):

* every ``Linear``, ``Conv{1,2,3}d`` and ``ConvTranspose{1,2,3}d`` of the encoder and decoder,
  except
* the encoder's heads (the final layer, or the final layers that read the same features,
  such as separate ``mu`` and ``logvar`` layers), the decoder's first layer (its input is
  ``z``) and the decoder's output layer. The options ``gate_encoder_heads``,
  ``gate_decoder_input`` and ``gate_decoder_output`` gate them as well, as Eq. 6 does for
  every layer (the linear VAE of Theorem 1 needs them).

Where a norm layer (BatchNorm, GroupNorm, LayerNorm, InstanceNorm) directly follows a gated
layer in its parent's module order and normalises the same number of features, the gate
goes after the norm instead: ``Conv -> BN -> gate -> ReLU`` (Appendix B.2). A gate before a
BatchNorm would be divided out whenever a batch shares one β.

Where a gated module's next sibling in an ``nn.Sequential`` is an ``nn.ReLU`` (used nowhere
else), the gate and the ReLU fuse into one in-place operation: the ReLU becomes
``nn.Identity`` and the :class:`~mrvae.hyper.layers.Gated` layer applies
``relu(x * g) = relu(x) * g`` (gates are ``>= 0``). The function is the same; the gate then
costs no extra memory (``fuse_relu=False`` turns this off).

Besides the built-in layers of :data:`GATEABLE`, a module of your own is gateable when its
class defines ``gated_features()`` (:class:`Gateable`). The set never changes at run time:
importing a module cannot change what :func:`convert` gates. A gateable module followed by a
ReLU must return a fresh tensor, as ``Linear`` and ``Conv`` do, because a fused gate
overwrites it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Protocol, runtime_checkable

from torch import nn

from mrvae._validate import check_flag, describe

from .gates import BetaRange, gate_function
from .layers import (
    DEFAULT_GATE_INIT,
    DEFAULT_HYPER_HIDDEN,
    BetaGate,
    BetaTrunk,
    Gated,
    GateInit,
    Hypernetwork,
    check_hypernetwork,
    hyper_parameters,
)

#: Built-in layer type -> (number of gated features, feature dim of its output). Read-only:
#: other modules are gateable through :class:`Gateable`, never by changing this table.
GATEABLE: Mapping[type, Callable[[nn.Module], tuple[int, int]]] = MappingProxyType({
    nn.Linear: lambda m: (m.out_features, -1),
    **{cls: (lambda m: (m.out_channels, 1)) for cls in (
        nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)},
})


@runtime_checkable
class Gateable(Protocol):
    """A module of your own that can carry a β gate, like the linear VAE's diagonal variance.

    ``gated_features()`` returns ``(features, dim)``: how many features its output has and
    along which dimension (``-1`` for ``(B, F)`` outputs, ``1`` for feature maps).
    """

    def gated_features(self) -> tuple[int, int]: ...


def gate_spec(module: nn.Module) -> tuple[int, int] | None:
    """``(features, dim)`` of a module :func:`convert` can gate (a :data:`GATEABLE` layer or a
    :class:`Gateable` module), else ``None``."""
    spec = GATEABLE.get(type(module))
    if spec is not None:
        return spec(module)
    if isinstance(module, nn.Module) and isinstance(module, Gateable):
        return module.gated_features()
    return None

#: Norm type -> (number of normalised features, feature dim).
NORMS: dict[type, Callable[[nn.Module], tuple[int, int]]] = {
    **{cls: (lambda m: (m.num_features, 1)) for cls in (
        nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.InstanceNorm1d, nn.InstanceNorm2d,
        nn.InstanceNorm3d)},
    nn.GroupNorm: lambda m: (m.num_channels, 1),
    nn.LayerNorm: lambda m: (m.normalized_shape[-1], -1),
}

Prefixes = str | Iterable[str]


def _as_prefixes(value: Prefixes) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _is_under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(p == "" or name == p or name.startswith(p + ".") for p in prefixes)


def _check_names(model: nn.Module, prefixes: tuple[str, ...], argument: str, example: str) -> None:
    # A misspelt name would silently leave layers plain (or gate one the caller meant to keep plain).
    names = [name for name, _ in model.named_modules()]
    unknown = [p for p in prefixes if not any(_is_under(n, (p,)) for n in names)]
    if unknown:
        children = [name for name, _ in model.named_children()]
        raise ValueError(
            f"{argument}={unknown} matches no submodule of the model (its top-level modules: {children}); use "
            f"names from model.named_modules(), e.g. {argument}={example}"
        )


def _check_exclude(model: nn.Module, exclude: tuple[str, ...]) -> None:
    _check_names(model, exclude, "exclude", "('decoder.out',)")


def _check_conversion(model: object, beta_range: object, encoder: Prefixes, decoder: Prefixes) -> None:
    """What :func:`convert` refuses before it changes anything: a model that is not a VAE, a
    range that is not a :class:`BetaRange` or differs from that of the model's gates, and
    encoder or decoder names that match nothing."""
    from mrvae.models.base import VAE

    if not isinstance(model, VAE):
        what = f"an {type(model).__name__}" if isinstance(model, nn.Module) else describe(model)
        raise TypeError(f"convert() turns a mrvae.VAE into an MR-VAE, got {what}; subclass mrvae.VAE (encode, "
                        f"decode and a likelihood) and convert that")
    if not isinstance(beta_range, BetaRange):
        hint = (f"mrvae.BetaRange({beta_range[0]!r}, {beta_range[1]!r})"
                if isinstance(beta_range, (tuple, list)) and len(beta_range) == 2 else "mrvae.BetaRange(0.01, 10)")
        raise TypeError(f"beta_range must be a mrvae.BetaRange, got {describe(beta_range)}; pass {hint}")
    for argument, value in (("encoder", encoder), ("decoder", decoder)):
        if not isinstance(value, str) and not (isinstance(value, (tuple, list)) and
                                               all(isinstance(v, str) for v in value)):
            raise TypeError(f"{argument} must be a module name or a tuple of names, got {describe(value)}")
        _check_names(model, _as_prefixes(value), argument, f"'{argument}'")
    for gate in (m for m in model.modules() if isinstance(m, BetaGate)):
        existing = gate.beta_range
        if not existing.matches(beta_range):
            raise ValueError(f"this model was converted with BetaRange({existing.low:.3g}, {existing.high:.3g}); "
                             f"converting it again with {beta_range} would leave gates of two ranges. Convert a "
                             f"fresh copy of the plain model with the new range")


def _gateable_layers(model: nn.Module) -> list[str]:
    """Names of the layers that can carry a gate, in module order, already gated ones included
    (as ``<wrapper>.inner``), so that converting twice picks the same heads and ends. Layers
    of the hypernetwork itself (an MLP gate's, the shared trunk's) are not candidates."""
    hyper = [n for n, m in model.named_modules() if isinstance(m, (BetaGate, BetaTrunk))]
    return [n for n, m in model.named_modules()
            if gate_spec(m) is not None and n != "" and not _is_under(n, tuple(hyper))]


def _parent_and_child(model: nn.Module, name: str) -> tuple[nn.Module, str, str]:
    parent_name, _, child = name.rpartition(".")
    return (model.get_submodule(parent_name) if parent_name else model), parent_name, child


def _target_of(model: nn.Module, name: str, after_norm: bool = True) -> str | None:
    """Where the gate of layer ``name`` goes: the layer, the norm right after it in its
    parent (if it normalises the layer's features and ``after_norm``), or None if it is
    gated already."""
    parent, parent_name, child = _parent_and_child(model, name)
    if isinstance(parent, Gated):
        return None
    if not after_norm:
        return name
    children = list(parent.named_children())
    position = [n for n, _ in children].index(child)
    if position + 1 < len(children):
        next_name, following = children[position + 1]
        norm = following.inner if isinstance(following, Gated) else following
        layer = parent.get_submodule(child)
        spec = gate_spec(layer)
        if type(norm) in NORMS and spec is not None and NORMS[type(norm)](norm)[0] == spec[0]:
            if isinstance(following, Gated):
                return None
            return f"{parent_name}.{next_name}" if parent_name else next_name
    return name


def _heads(layers: list[str], model: nn.Module) -> list[str]:
    """The encoder's final layer, and the layers registered right before it with the same
    type and shape (a ``mu`` and ``logvar`` pair): nothing may sit between them."""
    if not layers:
        return []
    order = [name for name, _ in model.named_modules()]

    def signature(name: str) -> tuple[object, ...]:
        m = model.get_submodule(name)
        return (type(m), getattr(m, "in_features", getattr(m, "in_channels", None)),
                getattr(m, "out_features", getattr(m, "out_channels", None)))

    heads = [layers[-1]]
    for name in reversed(layers[:-1]):
        adjacent = order.index(heads[-1]) - order.index(name) == 1
        if not adjacent or signature(name) != signature(heads[0]):
            break
        heads.append(name)
    return heads


def gate_targets(
    model: nn.Module,
    *,
    encoder: Prefixes = "encoder",
    decoder: Prefixes = "decoder",
    exclude: Prefixes = (),
    gate_encoder_heads: bool = False,
    gate_decoder_input: bool = False,
    gate_decoder_output: bool = False,
    gate_after_norm: bool = True,
) -> list[tuple[str, str]]:
    """``(module name, "encoder" | "decoder")`` of every module :func:`convert` would gate.

    The name is the layer's, or the norm's that follows it. See :func:`convert` for the args.
    """
    enc, dec, skip = _as_prefixes(encoder), _as_prefixes(decoder), _as_prefixes(exclude)
    _check_exclude(model, skip)
    groups: dict[str, list[str]] = {"encoder": [], "decoder": []}
    ungrouped: list[str] = []
    for name in _gateable_layers(model):
        if _is_under(name, skip):
            continue
        if _is_under(name, enc):
            groups["encoder"].append(name)
        elif _is_under(name, dec):
            groups["decoder"].append(name)
        elif not isinstance(_parent_and_child(model, name)[0], Gated):  # gated ones need no group
            ungrouped.append(name)
    if ungrouped:
        raise ValueError(
            f"cannot tell whether layers {ungrouped} belong to the encoder or the decoder; "
            f"add their names (or a parent's) to encoder=... or decoder=..., or exclude=... them "
            f"(now encoder={list(enc)}, decoder={list(dec)})"
        )
    plain: set[str] = set()
    if not gate_encoder_heads:
        plain.update(_heads(groups["encoder"], model))
    if groups["decoder"] and not gate_decoder_input:
        plain.add(groups["decoder"][0])
    if groups["decoder"] and not gate_decoder_output:
        plain.add(groups["decoder"][-1])
    targets = []
    for group, names in groups.items():
        for name in names:
            target = None if name in plain else _target_of(model, name, gate_after_norm)
            if target is not None:
                targets.append((target, group))
    return targets


def convert(
    model: nn.Module,
    beta_range: BetaRange,
    *,
    encoder: Prefixes = "encoder",
    decoder: Prefixes = "decoder",
    encoder_gate: str = "sigmoid",
    decoder_gate: str = "sqrt",
    init: GateInit = DEFAULT_GATE_INIT,
    exclude: Prefixes = (),
    gate_encoder_heads: bool = False,
    gate_decoder_input: bool = False,
    gate_decoder_output: bool = False,
    gate_after_norm: bool = True,
    fuse_relu: bool = True,
    hypernetwork: Hypernetwork = "linear",
    hyper_hidden: int = DEFAULT_HYPER_HIDDEN,
) -> nn.Module:
    """Put a :class:`~mrvae.hyper.layers.BetaGate` on the layers of ``model`` (see the module doc).

    Each target module is replaced by :class:`~mrvae.hyper.layers.Gated` around it; its base
    parameters stay the same ``Parameter`` objects, so build the optimizer *after*
    converting. Eq. 7's choice is a sigmoid encoder gate and a ``sqrt(ReLU(1 - exp(x)))``
    decoder gate; Appendix D uses sigmoid for both. Converting twice changes nothing.

    Args:
        model: the VAE; changed in place and returned.
        beta_range: the training range ``[a, b]``; fixes the gates' input standardisation.
        encoder: name (or names) of the submodules that form the encoder, e.g.
            ``"encoder"`` or ``("enc", "fc_mu", "fc_logvar")``. Module order matters: the
            encoder's heads are its last layers.
        decoder: likewise for the decoder; its first and last layers are its input and output.
        encoder_gate, decoder_gate: ``"sigmoid"`` or ``"sqrt"`` (Eq. 7), or ``"film"`` (a
            scale and a shift, Appendix D).
        init: ``"authors"`` (their ``U(-1, 1)``), ``"uniform"`` (the same, ``sqrt`` gates shifted
            open) or ``"open"``; see :data:`~mrvae.hyper.layers.GateInit`.
        exclude: names (or parents' names) of layers to leave plain on purpose, e.g.
            ``("decoder.out",)``; they need not belong to either group.
        gate_encoder_heads, gate_decoder_input, gate_decoder_output: also gate these layers
            (the authors leave them plain).
        gate_after_norm: put the gate of a layer that a norm follows after the norm (see the
            module doc); ``False`` keeps every gate on its layer's output, as the authors' NVAE
            fork does (:mod:`mrvae.models.hierarchical.gating`).
        fuse_relu: fuse each gate with the ``nn.ReLU`` right after it in an ``nn.Sequential``
            (see the module doc); same function, less time and memory.
        hypernetwork, hyper_hidden: the form of the map from ``nu(beta)`` to each gate's
            pre-activation and its hidden width (:data:`~mrvae.hyper.layers.Hypernetwork`;
            Appendix D); ``"mlp_shared"`` adds the shared first layer as ``model.beta_trunk``.

    Raises:
        ValueError: a gateable layer lies in neither group (and is not excluded), an
            ``exclude`` entry matches no submodule, or a gate or init name is unknown.
    """
    _check_conversion(model, beta_range, encoder, decoder)
    gates = {"encoder": encoder_gate, "decoder": decoder_gate}
    for gate in gates.values():
        gate_function(gate)
    check_hypernetwork(hypernetwork, hyper_hidden)
    flags = {"gate_encoder_heads": gate_encoder_heads, "gate_decoder_input": gate_decoder_input,
             "gate_decoder_output": gate_decoder_output, "gate_after_norm": gate_after_norm, "fuse_relu": fuse_relu}
    for name, value in flags.items():
        check_flag(value, name)
    targets = gate_targets(model, encoder=encoder, decoder=decoder, exclude=exclude,
                           gate_encoder_heads=gate_encoder_heads, gate_decoder_input=gate_decoder_input,
                           gate_decoder_output=gate_decoder_output, gate_after_norm=gate_after_norm)
    if not targets and not any(isinstance(m, BetaGate) for m in model.modules()):
        raise ValueError(
            f"{type(model).__name__} has no layer to gate under encoder={encoder!r} and decoder={decoder!r} "
            f"(gateable: {sorted(t.__name__ for t in GATEABLE)} and modules that define gated_features(); the "
            f"encoder's heads and the decoder's first "
            f"and last layers stay plain unless gate_encoder_heads=True, gate_decoder_input=True or "
            f"gate_decoder_output=True)"
        )
    for name, group in targets:
        parent_name, _, child_name = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        old = getattr(parent, child_name)
        features, dim = NORMS[type(old)](old) if type(old) in NORMS else gate_spec(old)
        reference = next(old.parameters(), None)
        factory = {} if reference is None else {"device": reference.device, "dtype": reference.dtype}
        gate = BetaGate(features, gates[group], beta_range, init=init, dim=dim, hypernetwork=hypernetwork,
                        hidden=hyper_hidden, **factory)
        relu = _fusable_relu(model, parent, child_name) if fuse_relu else None
        setattr(parent, child_name, Gated(old, gate, relu=relu is not None))
        if relu is not None:
            setattr(parent, relu, nn.Identity())
    if hypernetwork == "mlp_shared" and targets and not any(isinstance(m, BetaTrunk) for m in model.modules()):
        reference = next(model.parameters())
        model.beta_trunk = BetaTrunk(hyper_hidden, device=reference.device, dtype=reference.dtype)
    return model


def _fusable_relu(model: nn.Module, parent: nn.Module, child: str) -> str | None:
    """The name of the ``nn.ReLU`` that runs right after ``parent.child``, if that is certain:
    ``parent`` is an ``nn.Sequential`` (whose order is its call order) and the ReLU appears
    once in the model (a shared instance may run elsewhere too)."""
    if not isinstance(parent, nn.Sequential):
        return None
    names = [name for name, _ in parent.named_children()]
    position = names.index(child)
    if position + 1 == len(names):
        return None
    following = getattr(parent, names[position + 1])
    if type(following) is not nn.ReLU:
        return None
    uses = sum(m is following for _, m in model.named_modules(remove_duplicate=False))
    return names[position + 1] if uses == 1 else None


def count_parameters(model: nn.Module) -> dict[str, int]:
    """Parameter counts: ``total``, ``hyper`` (the hypernetwork: gates' ``w`` and ``c``, any MLP
    layers and shared trunk) and ``base``."""
    total = sum(p.numel() for p in model.parameters())
    hyper = sum(p.numel() for p in hyper_parameters(model))
    return {"total": total, "hyper": hyper, "base": total - hyper}
