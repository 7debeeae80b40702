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
conv, even where a BatchNorm follows (inside the cells): :func:`mrvae.convert` with every layer
gated and ``gate_after_norm=False`` (by default it moves such a gate after the norm). The
weight-normalised convs are :class:`~mrvae.hyper.convert.Gateable`, so ``convert`` finds them.
"""

from __future__ import annotations

from mrvae.hyper.convert import convert
from mrvae.hyper.gates import BetaRange
from mrvae.models.benchmark import GatePlacement
from mrvae.models.objective import Likelihood

from .cells import SqueezeExcitation
from .config import HierarchicalConfig
from .model import HierarchicalVAE, build_hierarchical_vae

#: The one conv no gate goes on (NVAE's ``image_conditional``), as in the authors' fork.
OUTPUT_LAYER = "decoder.out.conv"
#: Sigmoid gates in the encoder and the decoder (Appendix D: sigmoid for both works as well as
#: Eq. 7's pair). The fork's 0bdc077 used Eq. 7's ``sqrt`` gate on the decoder cells' convs and
#: the decoder combiner: ``GatePlacement(encoder_gate="sigmoid", decoder_gate="sqrt")``.
PAPER_PLACEMENT = GatePlacement(encoder_gate="sigmoid", decoder_gate="sigmoid")


def add_gates(model: HierarchicalVAE, beta_range: BetaRange, placement: GatePlacement = PAPER_PLACEMENT, *,
              squeeze_excitation: bool = True) -> HierarchicalVAE:
    """Gate ``model`` as the authors' fork does, in place, through :func:`mrvae.convert`: a gate
    on the output of every conv and SE linear layer but :data:`OUTPUT_LAYER` and the ones
    ``placement`` excludes (``squeeze_excitation=False`` leaves the SE layers plain too). Base
    parameters stay the same objects; gating twice changes nothing."""
    plain = (OUTPUT_LAYER,)
    if not squeeze_excitation:
        plain += tuple(name for name, m in model.named_modules() if isinstance(m, SqueezeExcitation))
    convert(model, beta_range, **placement.convert_options(also_exclude=plain), gate_encoder_heads=True,
            gate_decoder_input=True, gate_decoder_output=True, gate_after_norm=False, fuse_relu=False)
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
