from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Normal, kl_divergence

import mrvae
from mrvae.hyper.convert import count_parameters
from mrvae.hyper.layers import BetaGate, Gated, beta_context, beta_gates
from mrvae.metrics.rate_distortion import evaluate
from mrvae.models.benchmark import GatePlacement
from mrvae.models.hierarchical import (
    OUTPUT_LAYER,
    HierarchicalConfig,
    InvertedResidualCell,
    add_gates,
    build_hierarchical_mr_vae,
    build_hierarchical_vae,
)
from mrvae.models.hierarchical.cells import UpsampleSkip
from mrvae.training.inputs import noise_shape

RANGE = mrvae.BetaRange(0.01, 10.0)
QUICK = HierarchicalConfig.quick()
LAYERS = (nn.Conv2d, nn.Linear)


pytestmark = pytest.mark.usefixtures("one_thread")


def binary(n: int, shape: tuple[int, ...] = (1, 28, 28), seed: int = 0) -> torch.Tensor:
    return (torch.rand(n, *shape, generator=torch.Generator().manual_seed(seed)) < 0.3).float()


def network_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Convs and linear layers of the network itself, not of the gates' hypernetworks."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, LAYERS) and ".gate." not in f"{n}."]


def test_shapes_on_28x28_binary_images() -> None:
    torch.manual_seed(0)
    model = build_hierarchical_mr_vae(QUICK, None, RANGE)
    x = binary(5)
    out = model(x, torch.logspace(-2, 1, 5))
    assert {out[k].shape for k in ("loss", "rate", "distortion")} == {torch.Size([5])}
    assert out["rate_per_group"].shape == (5, QUICK.num_groups) == (5, 4)
    assert out["mu"].shape == out["logvar"].shape == (5, QUICK.latent_dim)
    assert QUICK.latent_shapes() == [(4, 7, 7), (4, 7, 7), (4, 14, 14), (4, 14, 14)]
    with beta_context(model, torch.ones(5)):
        logits, groups = model.top_down(x)
    assert logits.shape == (5, 1, 28, 28)
    assert [tuple(g.z.shape[1:]) for g in groups] == QUICK.latent_shapes()
    assert model.decode_mean(out["mu"], 1.0).shape == x.shape
    assert model.encode_mean(x, 1.0).shape == (5, QUICK.latent_dim)
    assert model.sample(3, 0.5).shape == (3, 1, 28, 28)
    # the flat noise layout that data-parallel training draws
    assert noise_shape(model, x)[0] == (QUICK.latent_dim,)


def test_paper_network_pads_28_to_32_and_crops_back() -> None:
    config = HierarchicalConfig.paper()
    assert config.padded_size == (32, 32) and config.groups_per_scale == (10, 5)
    # 5 groups at 4x4 (top-down first), then 10 at 8x8, 20 channels each.
    assert config.latent_shapes() == [(20, 4, 4)] * 5 + [(20, 8, 8)] * 10
    torch.manual_seed(0)
    model = build_hierarchical_vae(HierarchicalConfig.paper(groups_per_scale=(2, 1))).eval()
    with torch.no_grad():
        logits, _ = model.top_down(binary(2))
    assert logits.shape == (2, 1, 28, 28)


def test_celeba64_shapes_with_a_gaussian_likelihood() -> None:
    torch.manual_seed(0)
    config = HierarchicalConfig.quick((3, 64, 64), groups_per_scale=(1, 1))
    model = build_hierarchical_mr_vae(config, mrvae.Likelihood("gaussian"), RANGE)
    x = torch.rand(2, 3, 64, 64)
    out = model(x, 1.0)
    assert out["loss"].shape == (2,) and torch.isfinite(out["loss"]).all()
    assert model.decode_mean(out["mu"], 1.0).shape == x.shape


def test_rate_is_the_sum_of_the_groups_analytic_kls() -> None:
    torch.manual_seed(0)
    model = build_hierarchical_mr_vae(QUICK, None, RANGE).eval()
    x, beta = binary(4), torch.tensor([0.01, 0.1, 1.0, 10.0])
    noise = torch.randn(4, QUICK.latent_dim)
    with torch.no_grad():
        out = model(x, beta, noise=noise)
        with beta_context(model, beta):
            _, groups = model.top_down(x, noise=model.split_latents(noise))
    torch.testing.assert_close(out["rate"], out["rate_per_group"].sum(dim=1))
    for k in (0, 2):  # the top group (prior N(0, I)) and a conditional one at the finer scale
        g = groups[k]
        q, p = Normal(g.q_mu, g.q_sigma), Normal(g.p_mu, g.p_sigma)
        expected = kl_divergence(q, p).sum(dim=(1, 2, 3))
        torch.testing.assert_close(out["rate_per_group"][:, k], expected, rtol=1e-5, atol=1e-4)
    assert torch.equal(groups[0].p_mu, torch.zeros_like(groups[0].p_mu))
    assert torch.equal(groups[0].p_sigma, torch.ones_like(groups[0].p_sigma))
    assert not torch.allclose(groups[2].p_sigma, torch.ones_like(groups[2].p_sigma))
    # z is the reparameterised sample of the posterior with the given noise.
    eps = model.split_latents(noise)[2]
    torch.testing.assert_close(groups[2].z, groups[2].q_mu + groups[2].q_sigma * eps)
    # distortion: Bernoulli NLL of the 28x28 logits
    with torch.no_grad(), beta_context(model, beta):
        logits, _ = model.top_down(x, noise=model.split_latents(noise))
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    torch.testing.assert_close(out["distortion"], bce.sum(dim=(1, 2, 3)))


@pytest.mark.parametrize("gate", ["sigmoid", "sqrt"])
def test_gates_at_one_give_the_plain_model(gate: str) -> None:
    torch.manual_seed(0)
    plain = build_hierarchical_vae(QUICK)
    gated = add_gates(copy.deepcopy(plain), RANGE,
                                                GatePlacement(encoder_gate=gate, decoder_gate=gate))
    with torch.no_grad():
        for g in beta_gates(gated):
            g.weight.zero_()
            g.bias.fill_(100.0 if gate == "sigmoid" else -100.0)  # g(±100) == 1.0 in float32
    x, beta = binary(6), torch.logspace(-2, 1, 6)
    noise = torch.randn(6, QUICK.latent_dim)
    for mode in (True, False):  # batch statistics, then running ones
        plain.train(mode)
        gated.train(mode)
        a, b = plain(x, beta, noise=noise), gated(x, beta, noise=noise)
        for key in ("loss", "rate", "distortion", "rate_per_group", "mu"):
            torch.testing.assert_close(a[key], b[key], rtol=1e-6, atol=1e-5)
    # ... and the gates do act when they are not at one
    with torch.no_grad():
        for g in beta_gates(gated):
            g.bias.fill_(0.5 if gate == "sigmoid" else -0.5)
    assert not torch.allclose(plain(x, beta, noise=noise)["loss"], gated(x, beta, noise=noise)["loss"])


def test_every_conv_but_the_output_has_a_gate_on_its_output() -> None:
    model = build_hierarchical_mr_vae(QUICK, None, RANGE)
    layers = network_layers(model)
    assert {n for n, m in layers if isinstance(m, nn.Linear)}, "SE linear layers expected"
    for name, layer in layers:
        parent = model.get_submodule(name.rpartition(".")[0])
        if name == OUTPUT_LAYER:
            assert not isinstance(parent, Gated)
            continue
        assert isinstance(parent, Gated) and parent.inner is layer and name.endswith(".inner"), name
        features = layer.out_features if isinstance(layer, nn.Linear) else layer.out_channels
        assert parent.gate.features == features
        assert parent.gate.dim == (-1 if isinstance(layer, nn.Linear) else 1)
        assert parent.gate.gate == "sigmoid"  # the authors' fork: sigmoid everywhere
    gated_modules = [m for m in model.modules() if isinstance(m, Gated)]
    assert len(gated_modules) == len(layers) - 1 == len(beta_gates(model))
    assert not any(isinstance(m.inner, nn.modules.batchnorm._BatchNorm) for m in gated_modules)
    # a second pass changes nothing
    before = count_parameters(model)
    add_gates(model, RANGE)
    assert count_parameters(model) == before


def test_placement_options() -> None:
    def gated_names(**kwargs: object) -> set[str]:
        placement = kwargs.pop("placement", None)
        model = build_hierarchical_mr_vae(QUICK, None, RANGE, placement, **kwargs)  # type: ignore[arg-type]
        return {n for n, m in model.named_modules() if isinstance(m, Gated)}

    everything = gated_names()
    assert any(".se." in n for n in everything) and any(n.startswith("decoder.") for n in everything)
    assert not any(".se." in n for n in gated_names(squeeze_excitation=False))
    assert all(n.startswith("encoder.") for n in gated_names(placement=GatePlacement(layers="encoder")))
    assert "encoder.stem" not in gated_names(placement=GatePlacement(exclude=("encoder.stem",)))
    model = build_hierarchical_mr_vae(QUICK, None, RANGE, GatePlacement(encoder_gate="sigmoid",
                                                                          decoder_gate="sqrt"))
    decoder_gates = {g.gate for n, g in model.named_modules()
                     if isinstance(g, BetaGate) and n.startswith("decoder")}
    assert decoder_gates == {"sqrt"}
    shared = build_hierarchical_mr_vae(QUICK, None, RANGE, GatePlacement(decoder_gate="sigmoid",
                                                                          hypernetwork="mlp_shared"))
    assert torch.isfinite(shared(binary(2), torch.tensor([0.01, 10.0]))["loss"]).all()
    with pytest.raises(ValueError, match="matches no submodule"):
        build_hierarchical_mr_vae(QUICK, None, RANGE, GatePlacement(exclude=("decoder.nonexistent",)))


def test_paper_parameter_counts_and_table_1() -> None:
    plain = build_hierarchical_vae(HierarchicalConfig.paper())
    mr = build_hierarchical_mr_vae(HierarchicalConfig.paper(), None, RANGE)
    assert count_parameters(plain) == {"total": 8_853_246, "hyper": 0, "base": 8_853_246}
    assert count_parameters(mr) == {"total": 8_950_118, "hyper": 96_872, "base": 8_853_246}
    # Table 1: "89.50 x 10^5" for the MR-VAE, to four digits.
    assert round(count_parameters(mr)["total"] / 1e5, 2) == 89.50
    # Its "88.68 x 10^5" for the β-VAE is the MR-VAE less only the gates inside the cells (not
    # on their skip paths or SE) and on the combiners: the gates the authors' first fork had.
    cell_parts = ("preprocess", "groups", "down", "up", "postprocess", "combiners")
    early = sum(2 * m.gate.features for n, m in mr.named_modules() if isinstance(m, Gated)
                and n.split(".")[1] in cell_parts and ".se." not in n and ".skip." not in n)
    assert early == 2 * 41_040
    assert round((count_parameters(mr)["total"] - early) / 1e5, 2) == 88.68


def test_nvae_upsampling_order_gives_the_same_function() -> None:
    torch.manual_seed(0)
    cell = InvertedResidualCell(8, 4, expansion=3, kernel=5, upsample=True)
    skip = UpsampleSkip(8, 4)
    x = torch.randn(6, 8, 5, 5)

    def nvae_order(x: torch.Tensor) -> torch.Tensor:  # upsample the input first
        h = F.interpolate(x, scale_factor=2, mode="nearest")
        h = F.silu(cell.bn_expand(cell.expand(cell.bn_in(h))))
        h = F.silu(cell.bn_depthwise(cell.depthwise(h)))
        h = cell.se(cell.bn_out(cell.project(h)))
        up = skip.conv(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True))
        return up, h

    reference_skip, reference_body = nvae_order(x)
    torch.testing.assert_close(skip(x), reference_skip, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(cell(x), cell.skip(x) + 0.1 * reference_body, rtol=1e-5, atol=1e-5)


def test_regularizers_enter_the_training_loss_only() -> None:
    torch.manual_seed(0)
    config = HierarchicalConfig.quick(spectral_regularization=0.01, batchnorm_regularization=0.01,
                                      groups_per_scale=(1, 1))
    model = build_hierarchical_mr_vae(config, None, RANGE)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for bn in bns:
            bn.weight.uniform_(0.5, 2.0)
    torch.testing.assert_close(model.batchnorm_loss(), sum(bn.weight.abs().max() for bn in bns))
    model.spectral_norm_loss()  # 40 power iterations from random vectors
    for _ in range(5):
        estimate = model.spectral_norm_loss()
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    exact = sum(torch.linalg.matrix_norm(c.normalized_weight().flatten(1), ord=2) for c in convs)
    torch.testing.assert_close(estimate, exact, rtol=1e-3, atol=1e-3)
    x, noise = binary(4), torch.randn(4, config.latent_dim)
    model.eval()
    evaluated = model(x, 1.0, noise=noise)
    torch.testing.assert_close(evaluated["loss"], evaluated["distortion"] + evaluated["rate"])
    model.train()
    trained = model(x, 1.0, noise=noise)
    penalty = trained["loss"] - trained["distortion"] - trained["rate"]
    torch.testing.assert_close(penalty, model.regularization().detach().expand(4), rtol=1e-3, atol=1e-3)
    assert float(penalty[0].detach()) > 0


def test_tiny_mr_vae_rate_falls_with_beta() -> None:
    # 256 noisy copies of 8 random binary prototypes: a little information worth encoding.
    g = torch.Generator().manual_seed(0)
    prototypes = (torch.rand(8, 1, 28, 28, generator=g) < 0.3).float()
    flips = (torch.rand(256, 1, 28, 28, generator=g) < 0.05).float()
    data = (prototypes[torch.randint(0, 8, (256,), generator=g)] - flips).abs()
    torch.manual_seed(0)
    model = build_hierarchical_mr_vae(QUICK, None, RANGE)
    mrvae.train(model, data, mrvae.MultiRateBeta(0.01, 10),
                mrvae.TrainConfig(epochs=4, batch_size=64, lr=3e-3, log_lines=0), progress=False)
    low, high = evaluate(model, data, 0.01), evaluate(model, data, 10.0)
    assert low["rate"] > high["rate"] + 1.0, (low, high)


def test_bad_inputs_give_clear_errors() -> None:
    model = build_hierarchical_vae(QUICK)
    with pytest.raises(ValueError, match=r"shape \(1, 28, 28\).*\(2, 1, 32, 32\)"):
        model(torch.zeros(2, 1, 32, 32), 1.0)
    with pytest.raises(ValueError, match="latents of shape"):
        model.decode(torch.zeros(2, 7))
    with pytest.raises(ValueError, match="must equal preprocess_blocks"):
        HierarchicalConfig(postprocess_blocks=1)
    with pytest.raises(ValueError, match="groups_per_scale"):
        HierarchicalConfig(groups_per_scale=())
    with pytest.raises(ValueError, match=r"data_shape must be \(C, H, W\)"):
        HierarchicalConfig(data_shape=(28, 28))  # type: ignore[arg-type]
