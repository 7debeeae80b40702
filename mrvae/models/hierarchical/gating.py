"""β gates for the hierarchical VAE, placed as in the authors' NVAE fork.

``pomonam/mr-vae``, ``alternative_experiments/nvae``: in ``hyper_model.py`` (at 1473a8a) the
stem, the top encoder layer and the posterior and prior heads are ``HyperConv2D``s (a conv
whose output is scaled per channel by ``g(w * nu(beta) + c)``, ``hyper_operations.py``), as
are the convs inside the cells and the combiners; the cells' skip paths and their
squeeze-and-excitation take β too, and only the output conv (``image_conditional``) stays a
plain ``Conv2D``. Norms carry no gate. (The stored ``hyper_operations.py`` is the earlier
0bdc077, which gates only the cells' convs and the combiners; that the skip convs and both SE
layers carry one gate per output is what makes the MR-VAE's count match Table 1's
89.50 x 10^5, see the package doc.)

So here a gate sits directly on the output of every conv and SE linear layer but the output
conv, even where a BatchNorm follows (inside the cells), which :func:`mrvae.convert` would not
do: it moves such a gate after the norm.
"""

from __future__ import annotations

from torch import nn

from mrvae.hyper.gates import BetaRange
from mrvae.hyper.layers import BetaGate, BetaTrunk, Gated
from mrvae.models.benchmark import GatePlacement
from mrvae.models.objective import Likelihood

from .config import HierarchicalConfig
from .model import HierarchicalVAE, build_hierarchical_vae

#: The one conv no gate goes on (NVAE's ``image_conditional``), as in the authors' fork.
OUTPUT_LAYER = "decoder.out.conv"
#: Sigmoid gates in the encoder and the decoder (Appendix D: sigmoid for both works as well as
#: Eq. 7's pair). The fork's 0bdc077 used Eq. 7's ``sqrt`` gate on the decoder cells' convs and
#: the decoder combiner: ``GatePlacement(encoder_gate="sigmoid", decoder_gate="sqrt")``.
PAPER_PLACEMENT = GatePlacement(encoder_gate="sigmoid", decoder_gate="sigmoid")


def gate_targets(model: HierarchicalVAE, placement: GatePlacement = PAPER_PLACEMENT, *,
                 squeeze_excitation: bool = True) -> list[tuple[str, str]]:
    """``(layer name, "encoder" | "decoder")`` of every layer :func:`add_gates` gates: every
    conv and SE linear layer except :data:`OUTPUT_LAYER` and the excluded ones (layers already
    gated appear as ``<name>.inner``)."""
    names = [name for name, _ in model.named_modules()]
    excluded = placement.excluded()
    unknown = [p for p in placement.exclude if not any(_is_under(n, p) for n in names)]
    if unknown:
        raise ValueError(f"exclude={unknown} matches no submodule; use names from model.named_modules(), "
                         f"e.g. exclude=('decoder.postprocess',)")
    # Layers inside the gates' own hypernetworks (or a shared trunk) are not the network's.
    hyper = {id(m) for g in model.modules() if isinstance(g, (BetaGate, BetaTrunk)) for m in g.modules()}
    targets = []
    for name, module in model.named_modules():
        group = name.split(".")[0]
        if (not isinstance(module, (nn.Conv2d, nn.Linear)) or id(module) in hyper
                or group not in ("encoder", "decoder") or name == OUTPUT_LAYER):
            continue
        if any(_is_under(name, p) for p in excluded) or (not squeeze_excitation and ".se." in name):
            continue
        targets.append((name, group))
    return targets


def add_gates(model: HierarchicalVAE, beta_range: BetaRange, placement: GatePlacement = PAPER_PLACEMENT, *,
              squeeze_excitation: bool = True) -> HierarchicalVAE:
    """Wrap every layer of :func:`gate_targets` in :class:`~mrvae.hyper.layers.Gated` (a gate on
    its output), in place; base parameters stay the same objects. Gating twice changes nothing."""
    gates = {"encoder": placement.encoder_gate, "decoder": placement.decoder_gate}
    targets = gate_targets(model, placement, squeeze_excitation=squeeze_excitation)
    for name, group in targets:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        if isinstance(parent, Gated):
            continue
        layer = getattr(parent, child)
        linear = isinstance(layer, nn.Linear)
        features = layer.out_features if linear else layer.out_channels
        weight = layer.weight
        gate = BetaGate(features, gates[group], beta_range, init=placement.init, dim=-1 if linear else 1,
                        hypernetwork=placement.hypernetwork, hidden=placement.hyper_hidden,
                        device=weight.device, dtype=weight.dtype)
        setattr(parent, child, Gated(layer, gate))
    if placement.hypernetwork == "mlp_shared" and targets and not any(
            isinstance(m, BetaTrunk) for m in model.modules()):
        reference = model.decoder.initial_state
        model.beta_trunk = BetaTrunk(placement.hyper_hidden, device=reference.device, dtype=reference.dtype)
    return model


def build_hierarchical_mr_vae(
    config: HierarchicalConfig | None,
    likelihood: Likelihood | None,
    beta_range: BetaRange,
    placement: GatePlacement | None = None,
    *,
    squeeze_excitation: bool = True,
) -> HierarchicalVAE:
    """An MR-VAE: :func:`build_hierarchical_vae` with gates by :func:`add_gates`.

    ``placement`` picks the gate functions, ``layers`` (``"all"``, ``"encoder"`` or
    ``"decoder"``), ``exclude`` prefixes and the init (default :data:`PAPER_PLACEMENT`,
    sigmoid everywhere); ``squeeze_excitation=False`` leaves the SE layers plain. Adds
    ``2 * features`` parameters per linear gate. Build the optimizer afterwards.
    """
    model = build_hierarchical_vae(config, likelihood)
    return add_gates(model, beta_range, placement or PAPER_PLACEMENT, squeeze_excitation=squeeze_excitation)


def _is_under(name: str, prefix: str) -> bool:
    return prefix == "" or name == prefix or name.startswith(prefix + ".")

