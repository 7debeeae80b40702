from __future__ import annotations

import copy
import itertools

import pytest
import torch
from torch import nn

import mrvae
from mrvae.architectures import (
    PAPER_LATENT_DIMS,
    SUPPORTED_SHAPES,
    ArchitectureConfig,
    ConvVAE,
    GatePlacement,
    ResNetVAE,
    build_mr_vae,
    build_vae,
)
from mrvae.convert import count_parameters
from mrvae.layers import GatedLayer, gated_layers

PLAIN = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)
CASES = list(itertools.product(("conv", "resnet"), SUPPORTED_SHAPES))
IDS = [f"{kind}-{shape[1]}" for kind, shape in CASES]
SMALL = 1 / 16
RANGE = mrvae.BetaRange(0.01, 10.0)


def small(kind: str, shape: tuple[int, int, int], **kwargs: object) -> ArchitectureConfig:
    return ArchitectureConfig(kind, shape, width=SMALL, **kwargs)  # type: ignore[arg-type]


def plain_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in model.named_modules() if type(m) in PLAIN]


def out_units(module: nn.Module) -> int:
    return module.out_features if isinstance(module, nn.Linear) else module.out_channels


@pytest.mark.parametrize(("kind", "shape"), CASES, ids=IDS)
def test_shapes_round_trip(kind: str, shape: tuple[int, int, int]) -> None:
    torch.manual_seed(0)
    model = build_vae(small(kind, shape, latent_dim=5))
    x = torch.rand(3, *shape)
    out = model(x, 1.0)
    assert out["mu"].shape == out["logvar"].shape == (3, 5)
    assert model.decode(out["mu"]).shape == x.shape
    assert out["loss"].shape == (3,)


@pytest.mark.parametrize(("kind", "shape"), CASES, ids=IDS)
def test_default_latent_is_the_papers(kind: str, shape: tuple[int, int, int]) -> None:
    model = build_vae(small(kind, shape))
    assert model.encoder.mu.out_features == PAPER_LATENT_DIMS[shape] == model.decoder.fc.in_features


@pytest.mark.parametrize(("kind", "shape"), CASES, ids=IDS)
def test_width_scales_channels_linearly_and_parameters_quadratically(
    kind: str, shape: tuple[int, int, int]
) -> None:
    narrow = build_vae(small(kind, shape))
    wide = build_vae(ArchitectureConfig(kind, shape, width=2 * SMALL))  # type: ignore[arg-type]
    data_channels = shape[0]
    inner_narrow = inner_wide = 0
    for (name, a), (_, b) in zip(plain_layers(narrow), plain_layers(wide), strict=True):
        if isinstance(a, nn.Linear):
            continue
        # Hidden channel counts double; the data channels stay fixed.
        first = name == "encoder.body.conv1"
        assert b.in_channels == (data_channels if first else 2 * a.in_channels)
        assert b.out_channels == (data_channels if name == "decoder.out" else 2 * a.out_channels)
        if name not in ("encoder.body.conv1", "decoder.out"):
            inner_narrow += a.weight.numel()
            inner_wide += b.weight.numel()
    assert inner_wide == 4 * inner_narrow  # hidden-to-hidden weights scale exactly as width²
    ratio = count_parameters(wide)["total"] / count_parameters(narrow)["total"]
    assert 2.0 < ratio <= 4.0


@pytest.mark.parametrize(("kind", "shape"), CASES, ids=IDS)
def test_mr_vae_gates_every_layer_at_two_parameters_per_unit(
    kind: str, shape: tuple[int, int, int]
) -> None:
    plain = build_vae(small(kind, shape))
    layers = plain_layers(plain)
    gated = build_mr_vae(small(kind, shape), None, RANGE)
    assert plain_layers(gated) == []
    assert len(gated_layers(gated)) == len(layers)
    counts = count_parameters(gated)
    assert counts["base"] == count_parameters(plain)["total"]
    assert counts["hyper"] == 2 * sum(out_units(m) for _, m in layers)
    for name, module in gated.named_modules():
        if isinstance(module, GatedLayer):
            assert module.gate == ("sigmoid" if name.startswith("encoder.") else "sqrt")


@pytest.mark.parametrize(("kind", "shape"), CASES, ids=IDS)
def test_open_gates_reproduce_the_plain_model(kind: str, shape: tuple[int, int, int]) -> None:
    torch.manual_seed(0)
    likelihood = mrvae.Likelihood("gaussian" if shape[0] == 3 else "bernoulli")
    plain = build_vae(small(kind, shape), likelihood)
    gated = copy.deepcopy(plain)
    mrvae.convert(gated, RANGE)
    for layer in gated_layers(gated):
        with torch.no_grad():  # w = 0 and a saturated bias: every gate is exactly 1 in float32
            layer.hyper_weight.zero_()
            layer.hyper_bias.fill_(50.0 if layer.gate == "sigmoid" else -50.0)
    x = torch.rand(4, *shape)
    torch.manual_seed(1)
    expected = plain(x, 0.5)
    torch.manual_seed(1)
    actual = gated(x, torch.tensor([0.01, 0.1, 1.0, 10.0]))
    for key in ("mu", "logvar", "rate", "distortion"):
        assert torch.allclose(actual[key], expected[key], rtol=1e-5, atol=1e-5), key


def test_gates_change_the_output_with_beta() -> None:
    torch.manual_seed(0)
    model = build_mr_vae(small("resnet", (1, 28, 28)), None, RANGE)
    for layer in gated_layers(model):
        layer.hyper_weight.data.fill_(1.0)
    x = torch.rand(2, 1, 28, 28)
    assert not torch.allclose(model.encode_mean(x, 0.01), model.encode_mean(x, 10.0))


@pytest.mark.parametrize(
    ("placement", "gated_prefixes", "plain_names"),
    [
        (GatePlacement(layers="encoder"), ("encoder.",), None),
        (GatePlacement(layers="decoder"), ("decoder.",), None),
        (GatePlacement(exclude=("decoder.out", "encoder.logvar")), ("encoder.", "decoder."),
         {"decoder.out", "encoder.logvar"}),
    ],
    ids=["encoder-only", "decoder-only", "exclude"],
)
def test_gate_placement(
    placement: GatePlacement, gated_prefixes: tuple[str, ...], plain_names: set[str] | None
) -> None:
    reference = plain_layers(build_vae(small("conv", (1, 28, 28))))
    model = build_mr_vae(small("conv", (1, 28, 28)), None, RANGE, placement)
    gated = {n for n, m in model.named_modules() if isinstance(m, GatedLayer)}
    plain = {n for n, _ in plain_layers(model)}
    assert gated | plain == {n for n, _ in reference}
    assert all(n.startswith(gated_prefixes) for n in gated)
    if plain_names is None:
        assert all(not n.startswith(gated_prefixes) for n in plain)
    else:
        assert plain == plain_names


def test_sigmoid_everywhere_placement() -> None:
    placement = GatePlacement(decoder_gate="sigmoid")
    model = build_mr_vae(small("conv", (1, 28, 28)), None, RANGE, placement)
    assert {layer.gate for layer in gated_layers(model)} == {"sigmoid"}


def test_batch_norm_erases_a_per_batch_gate() -> None:
    # Why batch_norm defaults to False: BN after a gated conv divides a shared gate out.
    torch.manual_seed(0)
    model = build_mr_vae(small("conv", (1, 28, 28), batch_norm=True), None, RANGE).train()
    for layer in gated_layers(model):
        layer.hyper_weight.data.normal_()
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.eps = 1e-12  # BN's eps is all that lets a gate through; remove it for exactness
    x = torch.rand(8, 1, 28, 28)
    with mrvae.beta_context(model, torch.full((8,), 0.01)):
        low = model.encoder.body(x)
    with mrvae.beta_context(model, torch.full((8,), 10.0)):
        high = model.encoder.body(x)
    assert torch.allclose(low, high, atol=1e-5)
    assert not torch.allclose(model.encode_mean(x, 0.01), model.encode_mean(x, 10.0))


def test_paper_configs_build_at_full_width() -> None:
    counts = {}
    for kind, shape in CASES:
        with torch.device("meta"):  # no memory, no init: only the parameter counts matter
            config = ArchitectureConfig(kind, shape)  # type: ignore[arg-type]
            model = build_mr_vae(config, None, RANGE)
        counts[(kind, shape)] = count_parameters(model)
    for c in counts.values():
        assert c["hyper"] <= 0.05 * c["base"]  # "at most 5% increase in parameters" (Appendix C)
    assert counts[("conv", (1, 28, 28))]["base"] == 17_226_657
    assert counts[("resnet", (1, 28, 28))]["base"] == 766_689


def test_config_validation_names_the_fix() -> None:
    with pytest.raises(ValueError, match="data_shape.*one of"):
        ArchitectureConfig("conv", (1, 32, 32))
    with pytest.raises(ValueError, match="width must be"):
        ArchitectureConfig("conv", (1, 28, 28), width=0)
    with pytest.raises(ValueError, match="kind must be"):
        ArchitectureConfig("mlp", (1, 28, 28))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="latent_dim"):
        ArchitectureConfig("conv", (1, 28, 28), latent_dim=0)
    with pytest.raises(ValueError, match="build_vae"):
        ResNetVAE(small("conv", (1, 28, 28)))
    with pytest.raises(ValueError, match="output_sigmoid=False"):
        ConvVAE(small("conv", (1, 28, 28), output_sigmoid=True), mrvae.Likelihood("bernoulli"))
    with pytest.raises(ValueError, match="reshape x"):
        build_vae(small("conv", (1, 28, 28))).encode(torch.rand(2, 3, 32, 32))
    with pytest.raises(ValueError, match="tuple of module names"):
        GatePlacement(exclude="decoder.out")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown gate"):
        GatePlacement(decoder_gate="tanh")
    with pytest.raises(ValueError, match="matches no submodule"):
        placement = GatePlacement(exclude=("decoder.final",))
        build_mr_vae(small("conv", (1, 28, 28)), None, RANGE, placement)


def test_gaussian_mean_can_be_squashed() -> None:
    torch.manual_seed(0)
    model = build_vae(small("conv", (3, 32, 32), output_sigmoid=True), mrvae.Likelihood("gaussian"))
    mean = model.decode_mean(10 * torch.randn(4, model.latent_dim), 1.0)
    assert mean.min() >= 0 and mean.max() <= 1
