"""The β gate as a module, and layers that carry one (paper Eq. 6–8, Appendix B).

A :class:`BetaGate` holds one gate per feature (unit or channel) and multiplies its input
by ``g(w * nu(beta) + c)``: ``2 * features`` parameters, ``w`` (``weight``) and ``c``
(``bias``). It can follow any layer. The paper puts it on a layer's pre-activation; the
authors' networks put it after the BatchNorm that follows a conv (``Conv -> BN -> gate ->
ReLU``, Appendix B.2), because a per-batch gate placed before a BatchNorm is divided out.

:class:`Gated` wraps any module with a gate on its output; :class:`GatedLinear`,
:class:`GatedConv2d` and :class:`GatedConvTranspose2d` are the common cases.

β reaches a gate either explicitly, ``gated(x, beta)``, or through :func:`beta_context`,
which computes ``nu(beta)`` once for the whole model and hands it to every gate, so that a
converted model whose ``forward`` knows nothing of β still gets it.

Cost. An MR-VAE should train at the speed of one β-VAE (Appendix C: within 5%). The gates'
values are ``(B, features)``, tiny next to the feature maps they scale, so what costs time is
touching the maps: every full-size temporary is a memory pass plus, on a CPU, page faults for
a fresh allocation. Hence :func:`beta_context` computes the values of all gates of a kind in
one batched expression, a gate and the ReLU after it run as one in-place operation (see
:func:`mrvae.convert`), and, on a CPU, the gate's backward sums ``grad * x`` in one pass with no
temporary (:func:`_fused_feature_sums`; ``scripts/benchmark_overhead.py`` measures each network).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import torch
from torch import Tensor, nn

from mrvae._validate import check_integer, describe

from .gates import OPEN_GATE_BIAS, SCALE_AND_SHIFT, BetaLike, BetaRange, as_beta_batch, gate_function
from .product import _broadcastable, _GateProduct

#: The range used when a gate is built without one; models should pass their own.
DEFAULT_BETA_RANGE = BetaRange(0.01, 10.0)

#: ``"open"``: ``w = 0`` and ``c`` = :data:`~mrvae.hyper.gates.OPEN_GATE_BIAS` (every gate
#: starts at the same value for every β). ``"authors"``: ``w, c ~ U(-1, 1)``, exactly the
#: default initialisation of the authors' ``nn.Linear(1, features)`` gates, so the network
#: responds to β from the first step; about half of the ``sqrt`` gates then start closed at
#: any β, and some at every β of the range (a closed ``sqrt`` gate gets no gradient).
#: ``"uniform"``: the same, but the ``sqrt`` gates' ``c`` shifted down by ``1 + sqrt(3)``
#: so that none starts closed.
GateInit = Literal["open", "uniform", "authors"]
GATE_INITS: tuple[str, ...] = ("open", "uniform", "authors")
#: Chosen by measurement: see the book's "Learning the β response" study.
DEFAULT_GATE_INIT: GateInit = "open"
#: ``|nu| <= sqrt(3)`` on the training range.
_NU_BOUND = math.sqrt(3.0)

#: The map from ``nu`` to a gate's pre-activation (the paper's Appendix D, Figure 9, left):
#: ``"linear"``: ``w * nu + c``, the paper's (Eq. 8); ``"mlp"``: a 2-layer MLP per gate;
#: ``"mlp_shared"``: a 2-layer MLP whose first layer (a :class:`BetaTrunk`) all gates share;
#: ``"mlp5"``: a 5-layer MLP per gate. Hidden layers are ReLU, of width ``hidden``.
Hypernetwork = Literal["linear", "mlp", "mlp_shared", "mlp5"]
HYPERNETWORKS: tuple[str, ...] = ("linear", "mlp", "mlp_shared", "mlp5")
#: Hidden width of the MLP hypernetworks (the paper does not give one).
DEFAULT_HYPER_HIDDEN = 16
_HIDDEN_LAYERS = {"linear": 0, "mlp": 1, "mlp_shared": 0, "mlp5": 4}


def check_hypernetwork(name: str, hidden: int) -> None:
    """Raise a ``ValueError`` naming the choices for an unknown hypernetwork or a bad width."""
    if name not in HYPERNETWORKS:
        raise ValueError(f"unknown hypernetwork {name!r}; choose one of {list(HYPERNETWORKS)}")
    if not (isinstance(hidden, int) and hidden >= 1):
        raise ValueError(f"the hypernetwork's hidden width must be an int >= 1, got {hidden!r}")


class BetaTrunk(nn.Module):
    """The first layer shared by every ``"mlp_shared"`` gate: ``nu (B,) -> relu(W nu + b) (B, hidden)``.

    :func:`mrvae.convert` adds one to the model as ``beta_trunk``; :func:`beta_context`
    computes its features once per forward pass and hands them to the gates.
    """

    def __init__(self, hidden: int = DEFAULT_HYPER_HIDDEN, *, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        check_hypernetwork("mlp_shared", hidden)
        self.hidden = hidden
        self.layer = nn.Linear(1, hidden, device=device, dtype=dtype)

    def forward(self, nu: Tensor) -> Tensor:
        return torch.relu(self.layer(nu[:, None].to(self.layer.weight.dtype)))


def _hidden_stack(layers: int, width: int, factory: dict[str, Any]) -> nn.Sequential:
    modules: list[nn.Module] = []
    for i in range(layers):
        modules += [nn.Linear(1 if i == 0 else width, width, **factory), nn.ReLU()]
    return nn.Sequential(*modules)


class BetaGate(nn.Module):
    """``x * g(h(nu(beta)))``, one gate per feature along ``dim``; ``h(nu) = w * nu + c`` by default.

    Args:
        features: number of gates (units or channels).
        gate: ``"sigmoid"`` or ``"sqrt"`` (Eq. 7), or ``"film"``: ``x * scale + shift`` with
            both linear in ``nu`` (Appendix D).
        beta_range: the training range; its standardisation ``nu`` is stored in buffers, so
            a state dict fully determines the gate.
        init: ``"open"``, ``"uniform"`` or ``"authors"`` (see :data:`GateInit`).
        dim: the feature dimension of the input: ``1`` for ``(B, C, ...)`` maps, ``-1``
            for ``(B, ..., F)`` features.
        hypernetwork: the form of ``h`` (:data:`Hypernetwork`); ``weight`` and ``bias`` are
            always its last layer, ``(outputs,)`` for ``"linear"``, else ``(outputs, hidden)``.
        hidden: width of the MLP forms' hidden layers.

    Shapes: ``x (B, ...)`` with ``x.shape[dim] == features``; ``beta (B,)`` or scalar.
    """

    def __init__(
        self,
        features: int,
        gate: str = "sigmoid",
        beta_range: BetaRange = DEFAULT_BETA_RANGE,
        *,
        init: GateInit = "open",
        dim: int = 1,
        hypernetwork: Hypernetwork = "linear",
        hidden: int = DEFAULT_HYPER_HIDDEN,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        gate_function(gate)  # validates the name early, with the list of valid ones
        check_hypernetwork(hypernetwork, hidden)
        if init not in GATE_INITS:
            raise ValueError(f"unknown gate init {init!r}; choose one of {list(GATE_INITS)}")
        features = check_integer(features, "BetaGate.features", minimum=1, example=64)
        dim = check_integer(dim, "BetaGate.dim", example=1)
        if not isinstance(beta_range, BetaRange):
            raise TypeError(f"BetaGate.beta_range must be a mrvae.BetaRange, got {describe(beta_range)}; pass "
                            f"mrvae.BetaRange(0.01, 10)")
        self.features, self.gate, self.init, self.dim = features, gate, init, dim
        self.hypernetwork, self.hidden = hypernetwork, hidden
        #: ``features``, or twice that for a scale and a shift (FiLM).
        self.outputs = features * (2 if gate in SCALE_AND_SHIFT else 1)
        factory = {"device": device, "dtype": dtype}
        inputs = () if hypernetwork == "linear" else (hidden,)
        self.weight = nn.Parameter(torch.empty(self.outputs, *inputs, **factory))
        self.bias = nn.Parameter(torch.empty(self.outputs, **factory))
        if _HIDDEN_LAYERS[hypernetwork]:
            self.hidden_layers = _hidden_stack(_HIDDEN_LAYERS[hypernetwork], hidden, factory)
        self.register_buffer("log_beta_mid", torch.tensor(beta_range.log_mid, **factory))
        self.register_buffer("log_beta_half_width", torch.tensor(beta_range.log_half_width, **factory))
        self.context_nu: Tensor | None = None
        #: ``(B, outputs)`` gate values that :func:`beta_context` computed for this gate.
        self.context_values: Tensor | None = None
        self._range_key = (beta_range.log_mid, beta_range.log_half_width)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            if self.init == "open":
                self.weight.zero_()
                self.bias.fill_(OPEN_GATE_BIAS[self.gate])
            else:
                bound = 1.0 if self.weight.dim() == 1 else 1.0 / math.sqrt(self.hidden)  # nn.Linear's
                self.weight.uniform_(-bound, bound)
                self.bias.uniform_(-1.0, 1.0)
                if self.gate == "sqrt" and self.init == "uniform":
                    self.bias.sub_(1.0 + _NU_BOUND)
                if self.gate in SCALE_AND_SHIFT:  # scales around 1, not 0, so no feature starts switched off
                    self.bias[: self.features].add_(1.0)
            if self.gate in SCALE_AND_SHIFT and self.init == "open":
                self.bias[self.features :].zero_()
        for module in getattr(self, "hidden_layers", ()):
            if isinstance(module, nn.Linear):
                module.reset_parameters()

    @property
    def uses_trunk(self) -> bool:
        """Whether this gate reads the features of the model's shared :class:`BetaTrunk`."""
        return self.hypernetwork == "mlp_shared"

    @property
    def beta_range(self) -> BetaRange:
        """The β range whose standardisation this gate uses."""
        mid, half = float(self.log_beta_mid), float(self.log_beta_half_width)
        return BetaRange(math.exp(mid - half), math.exp(mid + half))

    @property
    def range_key(self) -> tuple[float, float]:
        """Gates with equal keys share ``nu(beta)``; :func:`beta_context` computes it once per key.

        Cached on the host (reading the buffers would stall an accelerator on every forward
        pass) and refreshed when a state dict is loaded.
        """
        return self._range_key

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any) -> None:
        super()._load_from_state_dict(state_dict, prefix, *args)
        self._range_key = (float(self.log_beta_mid), float(self.log_beta_half_width))

    def standardize(self, beta: Tensor) -> Tensor:
        """``nu = sqrt(3) (log beta - m) / h``: ``(B,) -> (B,)``."""
        beta = beta.to(self.weight.dtype)
        return _NU_BOUND * (torch.log(beta) - self.log_beta_mid) / self.log_beta_half_width

    def values(self, nu: Tensor, trunk_features: Tensor | None = None) -> Tensor:
        """Gate per example and output: ``nu (B,) -> (B, outputs)``.

        ``trunk_features (B, hidden)``: the shared :class:`BetaTrunk`'s output, which
        ``"mlp_shared"`` gates need (:func:`beta_context` passes it).
        """
        if self.hypernetwork == "linear":
            pre = torch.addcmul(self.bias, nu[:, None], self.weight)
        else:
            if self.uses_trunk:
                if trunk_features is None:
                    raise ValueError(
                        "an 'mlp_shared' β gate needs the features of the model's BetaTrunk: run the model "
                        "inside mrvae.beta_context(model, beta), and build it with "
                        "mrvae.convert(..., hypernetwork='mlp_shared'), which adds the trunk"
                    )
                hidden = trunk_features
            else:
                hidden = self.hidden_layers(nu[:, None])
            pre = nn.functional.linear(hidden, self.weight, self.bias)
        return gate_function(self.gate)(pre)

    def gate_values(self, beta: Tensor) -> Tensor:
        """Gate per example and output from β itself: ``(B,) -> (B, outputs)``."""
        return self.values(self.standardize(beta))

    def nu_for(self, batch_size: int, beta: BetaLike | None) -> Tensor:
        """``nu`` of shape ``(batch_size,)`` from ``beta`` or, if None, from :func:`beta_context`."""
        if beta is not None:
            return self.standardize(as_beta_batch(beta, batch_size, device=self.weight.device))
        if self.context_nu is None:
            raise ValueError(
                "a β-gated layer needs β: call it as layer(x, beta) or run the model "
                "inside `with mrvae.beta_context(model, beta):`"
            )
        if self.context_nu.shape != (batch_size,):
            raise ValueError(
                f"a β-gated layer got a batch of {batch_size} but β of shape "
                f"{tuple(self.context_nu.shape)} from beta_context; give one β per example"
            )
        return self.context_nu

    def forward(self, x: Tensor, beta: BetaLike | None = None) -> Tensor:
        """``x * g``: a new tensor; ``x`` is left as it was."""
        return self._apply_gate(x, beta, relu=False, in_place=False)

    def _apply_gate(self, x: Tensor, beta: BetaLike | None, *, relu: bool = False, in_place: bool = False,
                    residual: Tensor | None = None) -> Tensor:
        if x.dim() < 2:
            raise ValueError(
                f"BetaGate expects a batched input (batch first), got shape {tuple(x.shape)}; "
                f"add a batch dim with x.unsqueeze(0)"
            )
        dim = self.dim % x.dim()
        if dim == 0 or x.shape[dim] != self.features:
            raise ValueError(
                f"BetaGate with {self.features} features along dim {self.dim} got input of "
                f"shape {tuple(x.shape)}"
            )
        if beta is None and self.context_values is not None:
            gates = self.context_values
            if gates.shape[0] != x.shape[0]:
                raise ValueError(
                    f"a β-gated layer got a batch of {x.shape[0]} but β for {gates.shape[0]} examples "
                    f"from beta_context; give one β per example"
                )
        else:
            gates = self.values(self.nu_for(x.shape[0], beta))
        if residual is not None and residual.shape != x.shape:
            raise ValueError(f"the residual has shape {tuple(residual.shape)} but the gated output has "
                             f"{tuple(x.shape)}; they must match")
        if self.gate in SCALE_AND_SHIFT:  # not a product with a gate >= 0, so no fusion with a ReLU
            scale, shift = gates.split(self.features, dim=1)
            out = torch.addcmul(_broadcastable(shift, x, dim), x, _broadcastable(scale, x, dim))
            out = torch.relu(out) if relu else out
            return out if residual is None else residual + out
        if torch._C._are_functorch_transforms_active():
            # Under vmap (a batched sweep) the same function in plain ops, which functorch can batch.
            out = (torch.relu(x) if relu else x) * _broadcastable(gates, x, dim)
            return out if residual is None else residual + out
        return _GateProduct.apply(x, gates, residual, dim, relu, in_place)

    def extra_repr(self) -> str:
        r = self.beta_range
        form = "" if self.hypernetwork == "linear" else f", hypernetwork={self.hypernetwork}({self.hidden})"
        return (f"{self.features}, gate={self.gate}, init={self.init}, dim={self.dim}, "
                f"beta_range=[{r.low:.4g}, {r.high:.4g}]{form}")


def _owned(y: Tensor, x: Any) -> bool:
    """Whether ``y``, the output of a layer called on ``x``, is a fresh tensor that may be
    overwritten: not the input, not a view (such as an ``expand``), not a leaf parameter."""
    if y is x or y._base is not None:
        return False
    return y.grad_fn is not None or not y.requires_grad


class Gated(nn.Module):
    """``gate(inner(x))``: any module followed by a :class:`BetaGate` on its output.

    :func:`mrvae.convert` wraps layers in this; ``inner`` keeps its own parameters, so the
    wrapped model's base weights are the original ``Parameter`` objects. With ``relu=True``
    the layer also applies the ReLU that followed it (``relu(gate(inner(x)))``, fused: see
    :func:`mrvae.convert`).
    """

    def __init__(self, inner: nn.Module, gate: BetaGate, *, relu: bool = False) -> None:
        super().__init__()
        self.inner = inner
        self.gate = gate
        self.relu = relu

    def forward(self, x: Any, beta: BetaLike | None = None, *, residual: Tensor | None = None,
                **kwargs: Any) -> Tensor:
        """``gate(inner(x))``; with ``residual``, ``residual + gate(inner(x))`` in one pass (a
        residual block's last layer, which saves a full-size temporary)."""
        y = self.inner(x, **kwargs)
        if residual is not None:
            if self.relu:
                raise ValueError("a Gated layer fused with a ReLU cannot also add a residual")
            return self.gate._apply_gate(y, beta, residual=residual)
        if not self.relu:
            return self.gate(y, beta)
        return self.gate._apply_gate(y, beta, relu=True, in_place=_owned(y, x))

    def extra_repr(self) -> str:
        return "then ReLU (fused)" if self.relu else ""


def _factory(layer: nn.Module) -> dict[str, Any]:
    weight = next(layer.parameters())
    return {"device": weight.device, "dtype": weight.dtype}


class GatedLinear(Gated):
    """``nn.Linear`` with one β gate per output unit: ``x (B, *, in)`` → ``(B, *, out)``."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *, gate: str = "sigmoid",
                 beta_range: BetaRange = DEFAULT_BETA_RANGE, init: GateInit = "open",
                 device: Any = None, dtype: Any = None) -> None:
        inner = nn.Linear(in_features, out_features, bias, device=device, dtype=dtype)
        super().__init__(inner, BetaGate(out_features, gate, beta_range, init=init, dim=-1, **_factory(inner)))


class GatedConv2d(Gated):
    """``nn.Conv2d`` with one β gate per output channel: ``(B, C_in, H, W)`` → ``(B, C_out, H', W')``."""

    def __init__(self, *args: Any, gate: str = "sigmoid", beta_range: BetaRange = DEFAULT_BETA_RANGE,
                 init: GateInit = "open", **kwargs: Any) -> None:
        inner = nn.Conv2d(*args, **kwargs)
        super().__init__(inner, BetaGate(inner.out_channels, gate, beta_range, init=init, **_factory(inner)))


class GatedConvTranspose2d(Gated):
    """``nn.ConvTranspose2d`` with one β gate per output channel."""

    def __init__(self, *args: Any, gate: str = "sigmoid", beta_range: BetaRange = DEFAULT_BETA_RANGE,
                 init: GateInit = "open", **kwargs: Any) -> None:
        inner = nn.ConvTranspose2d(*args, **kwargs)
        super().__init__(inner, BetaGate(inner.out_channels, gate, beta_range, init=init, **_factory(inner)))


def _trunk(model: nn.Module) -> BetaTrunk:
    trunks = [m for m in model.modules() if isinstance(m, BetaTrunk)]
    if len(trunks) != 1:
        raise ValueError(
            f"'mlp_shared' β gates need exactly one BetaTrunk in the model, found {len(trunks)}; build the "
            f"model with mrvae.convert(..., hypernetwork='mlp_shared'), which adds it as model.beta_trunk"
        )
    return trunks[0]


def beta_gates(model: nn.Module) -> list[BetaGate]:
    """All β gates of ``model``, in module order."""
    return [m for m in model.modules() if isinstance(m, BetaGate)]


def hyper_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The hypernetwork's parameters (every gate's ``w`` and ``c``, and any MLP layers or
    shared :class:`BetaTrunk`), e.g. for their own optimiser group."""
    seen: set[int] = set()
    params = []
    for module in model.modules():
        if isinstance(module, (BetaGate, BetaTrunk)):
            for p in module.parameters():
                if id(p) not in seen:
                    seen.add(id(p))
                    params.append(p)
    return params


@contextmanager
def beta_context(model: nn.Module, beta: Tensor) -> Iterator[None]:
    """Make every gate of ``model`` use ``beta`` (shape ``(B,)``) inside the block.

    ``nu(beta)`` is computed once per β range in use (normally one), not once per gate.

    Example::

        with beta_context(vae, beta):
            mu, logvar = vae.encode(x)
    """
    if not isinstance(beta, Tensor) or beta.dim() != 1:
        raise TypeError(f"beta_context needs one β per example, a tensor of shape (B,), got {describe(beta)}; "
                        f"pass e.g. torch.full((batch,), 0.5)")
    gates = beta_gates(model)
    previous = [(gate.context_nu, gate.context_values) for gate in gates]
    nus: dict[tuple[float, float], Tensor] = {}
    kinds: dict[tuple[Any, ...], list[BetaGate]] = {}
    trunk_features: dict[tuple[float, float], Tensor] = {}
    for gate in gates:
        key = gate.range_key
        if key not in nus:
            nus[key] = gate.standardize(beta)
        gate.__dict__["context_nu"] = nus[key]
        if gate.hypernetwork != "linear":
            if gate.uses_trunk and key not in trunk_features:
                trunk_features[key] = _trunk(model)(nus[key])
            gate.__dict__["context_values"] = gate.values(nus[key], trunk_features.get(key))
            continue
        kinds.setdefault((key, gate.gate, gate.weight.device, gate.weight.dtype), []).append(gate)
    # One expression per kind of gate instead of a handful of tiny ops per gate: what Python
    # and kernel launches cost per gate is, on small networks, the MR-VAE's main overhead.
    for (key, name, _, _), group in kinds.items():
        weights = torch.cat([gate.weight for gate in group])
        biases = torch.cat([gate.bias for gate in group])
        values = gate_function(name)(torch.addcmul(biases, nus[key][:, None], weights))
        for gate, part in zip(group, values.split([gate.outputs for gate in group], dim=1), strict=True):
            gate.__dict__["context_values"] = part  # plain attributes: skip Module.__setattr__'s checks
    try:
        yield
    finally:
        for gate, (nu, values) in zip(gates, previous, strict=True):
            gate.__dict__["context_nu"], gate.__dict__["context_values"] = nu, values
