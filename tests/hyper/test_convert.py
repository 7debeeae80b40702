import copy

import pytest
import torch
from torch import nn

import mrvae
from mrvae.hyper.convert import count_parameters, gate_targets
from mrvae.hyper.layers import BetaGate, Gated, beta_gates

EVERYWHERE = {"gate_encoder_heads": True, "gate_decoder_input": True, "gate_decoder_output": True}


def _plain_layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))]


def test_every_layer_is_gated_with_the_chosen_gates(plain_vae, beta_range) -> None:
    n_plain = len(_plain_layers(plain_vae))
    mrvae.convert(plain_vae, beta_range, encoder_gate="sigmoid", decoder_gate="sqrt", **EVERYWHERE)
    assert len(beta_gates(plain_vae)) == n_plain
    for name, module in plain_vae.named_modules():
        if isinstance(module, BetaGate):
            assert module.gate == ("sigmoid" if name.startswith("encoder") else "sqrt")


def test_default_leaves_heads_and_decoder_ends_plain_as_the_authors_do(beta_range) -> None:
    class Net(mrvae.VAE):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 4), nn.ReLU())
            self.mu, self.logvar = nn.Linear(4, 2), nn.Linear(4, 2)
            self.decoder = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 6))

    model = mrvae.convert(Net(), beta_range, encoder=("encoder", "mu", "logvar"))
    gated = {n for n, m in model.named_modules() if isinstance(m, Gated)}
    assert gated == {"encoder.0", "encoder.2", "decoder.2"}
    assert count_parameters(model)["hyper"] == 2 * (5 + 4 + 5)


class _NormedNet(mrvae.VAE):
    """A conv and a linear layer, each followed by a norm of its features."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                                     nn.Linear(4, 3), nn.LayerNorm(3), nn.Linear(3, 2))
        self.decoder = nn.Sequential(nn.Linear(2, 2))


def test_a_gate_follows_the_norm_after_a_layer(beta_range) -> None:
    model = _NormedNet()
    targets = gate_targets(model)
    assert targets == [("encoder.1", "encoder"), ("encoder.5", "encoder")]
    mrvae.convert(model, beta_range)
    assert isinstance(model.encoder[1], Gated) and isinstance(model.encoder[1].inner, nn.BatchNorm2d)
    assert type(model.encoder[0]) is nn.Conv2d and model.encoder[5].gate.dim == -1
    assert gate_targets(model) == []  # converting again finds nothing left to gate


def test_gate_after_norm_false_keeps_every_gate_on_its_layer(beta_range) -> None:
    model = _NormedNet()
    assert gate_targets(model, gate_after_norm=False) == [("encoder.0", "encoder"), ("encoder.4", "encoder")]
    mrvae.convert(model, beta_range, gate_after_norm=False)
    assert isinstance(model.encoder[0], Gated) and type(model.encoder[1]) is nn.BatchNorm2d
    assert gate_targets(model, gate_after_norm=False) == []


def test_a_norm_of_another_size_is_not_taken_for_the_layers(beta_range) -> None:
    class Net(mrvae.VAE):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = nn.Sequential(nn.Linear(4, 3), nn.LayerNorm(4), nn.Linear(3, 2))
            self.decoder = nn.Linear(2, 2)

    assert gate_targets(Net()) == [("encoder.0", "encoder")]


def test_gate_after_batchnorm_still_responds_to_a_shared_beta(beta_range) -> None:
    """Before a BatchNorm a gate shared by the batch would be divided out; after it, it is not."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU())
    holder = mrvae.VAE()
    holder.encoder, holder.head, holder.decoder = model, nn.Linear(27, 2), nn.Linear(1, 1)
    mrvae.convert(holder, beta_range, encoder=("encoder", "head"), init="uniform")
    assert isinstance(model[1], Gated)
    x = torch.randn(8, 1, 5, 5)
    with mrvae.beta_context(model, torch.full((8,), 0.01)):
        low = model(x)
    with mrvae.beta_context(model, torch.full((8,), 10.0)):
        high = model(x)
    assert (low - high).abs().max() > 1e-2


def test_overhead_is_two_parameters_per_output_unit(plain_vae, beta_range) -> None:
    before = count_parameters(plain_vae)["total"]
    outs = sum(getattr(m, "out_features", getattr(m, "out_channels", 0)) for m in _plain_layers(plain_vae))
    mrvae.convert(plain_vae, beta_range, **EVERYWHERE)
    counts = count_parameters(plain_vae)
    assert counts["base"] == before and counts["hyper"] == 2 * outs


def test_base_weights_are_kept(plain_vae, beta_range) -> None:
    before = {id(p): p.detach().clone() for p in plain_vae.parameters()}
    mrvae.convert(plain_vae, beta_range, **EVERYWHERE)
    base = [p for p in plain_vae.parameters() if id(p) in before]
    assert len(base) == len(before)
    for p in base:
        assert torch.equal(p, before[id(p)])


def test_fully_open_gates_reproduce_the_plain_model(plain_vae, beta_range, binary_images) -> None:
    gated = mrvae.convert(copy.deepcopy(plain_vae), beta_range, **EVERYWHERE)
    for gate in beta_gates(gated):
        with torch.no_grad():
            gate.weight.zero_()
            gate.bias.fill_(50.0 if gate.gate == "sigmoid" else -50.0)
    x = binary_images[:8]
    torch.manual_seed(1)
    plain_out = plain_vae(x, 0.7)
    torch.manual_seed(1)
    gated_out = gated(x, torch.linspace(0.01, 10, 8))  # β must not matter when every gate is 1
    assert torch.allclose(plain_out["mu"], gated_out["mu"], atol=1e-6)
    assert torch.allclose(plain_out["distortion"], gated_out["distortion"], atol=1e-4)


def test_ungrouped_layers_are_reported_with_the_fix(beta_range) -> None:
    class Odd(mrvae.VAE):
        def __init__(self) -> None:
            super().__init__()
            self.enc = nn.Linear(2, 2)
            self.head = nn.Linear(2, 2)

    # The default names match nothing here: a typo or another naming must not leave the model plain.
    with pytest.raises(ValueError, match=r"encoder=\['encoder'\] matches no submodule.*\['enc', 'head'\]"):
        mrvae.convert(Odd(), beta_range)
    model = mrvae.convert(Odd(), beta_range, encoder=("enc",), decoder="head", **EVERYWHERE)
    assert len(beta_gates(model)) == 2
    stray = Odd()
    stray.encoder, stray.decoder = nn.Linear(2, 2), nn.Linear(2, 2)
    with pytest.raises(ValueError, match=r"\['enc', 'head'\].*encoder=\.\.\."):
        mrvae.convert(stray, beta_range)


def test_converting_twice_changes_nothing(plain_vae, beta_range) -> None:
    mrvae.convert(plain_vae, beta_range)
    keys = set(plain_vae.state_dict())
    mrvae.convert(plain_vae, beta_range)
    assert set(plain_vae.state_dict()) == keys


def test_bad_gate_name_is_rejected(plain_vae, beta_range) -> None:
    with pytest.raises(ValueError, match="unknown gate"):
        mrvae.convert(plain_vae, beta_range, decoder_gate="relu")


def test_excluded_layers_stay_plain_and_need_no_group(beta_range) -> None:
    class Odd(mrvae.VAE):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 2))
            self.decoder = nn.Linear(2, 2)
            self.head = nn.Linear(2, 2)

    model = mrvae.convert(Odd(), beta_range, exclude=("head", "encoder.1"), **EVERYWHERE)
    assert type(model.head) is nn.Linear and type(model.encoder[1]) is nn.Linear
    assert isinstance(model.encoder[0], Gated) and isinstance(model.decoder, Gated)
    assert count_parameters(model)["hyper"] == 2 * (3 + 2)


def test_misspelt_exclusion_is_rejected(plain_vae, beta_range) -> None:
    with pytest.raises(ValueError, match=r"exclude=\['decoder\.nope'\] matches no submodule"):
        mrvae.convert(plain_vae, beta_range, exclude="decoder.nope")
    assert not beta_gates(plain_vae)  # nothing was converted before the error


def _relu_stack() -> nn.Module:
    class Stack(mrvae.VAE):
        def __init__(self) -> None:
            super().__init__(mrvae.Likelihood("gaussian"))
            self.encoder = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                         nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(inplace=True),
                                         nn.Flatten(), nn.Linear(64, 4))
            self.decoder = nn.Sequential(nn.Linear(2, 64), nn.Unflatten(1, (4, 4, 4)),
                                         nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 1, 3, padding=1))

        def encode(self, x):
            return self.encoder(x).chunk(2, dim=-1)

        def decode(self, z):
            return self.decoder(z)

    return Stack()


def test_a_gate_fuses_with_the_relu_after_it_and_computes_the_same(beta_range) -> None:
    torch.manual_seed(0)
    plain = _relu_stack()
    fused = mrvae.convert(copy.deepcopy(plain), beta_range, init="uniform")
    unfused = mrvae.convert(copy.deepcopy(plain), beta_range, init="uniform", fuse_relu=False)
    unfused.load_state_dict(fused.state_dict())
    assert [type(m) for m in fused.encoder] == [nn.Conv2d, Gated, nn.Identity, Gated, nn.Identity, nn.Flatten,
                                               nn.Linear]
    assert fused.encoder[1].relu and fused.encoder[3].relu and fused.decoder[2].relu
    assert not any(isinstance(m, Gated) and m.relu for m in unfused.modules())
    x, beta = torch.rand(6, 1, 4, 4), torch.logspace(-2, 1, 6)
    noise = torch.randn(6, 2)
    outs = [model(x, beta, noise=noise) for model in (fused, unfused)]
    assert torch.allclose(outs[0]["loss"], outs[1]["loss"], atol=1e-5)
    for out in outs:
        out["loss"].sum().backward()
    for (name, p), q in zip(fused.named_parameters(), unfused.parameters(), strict=True):
        assert torch.allclose(p.grad, q.grad, atol=1e-5), name
    assert mrvae.convert(fused, beta_range) is fused and count_parameters(fused) == count_parameters(unfused)


def test_a_shared_relu_is_not_fused(beta_range) -> None:
    model = _relu_stack()
    model.decoder[3] = model.encoder[2]  # one ReLU instance, two places
    mrvae.convert(model, beta_range)
    assert isinstance(model.encoder[2], nn.ReLU) and not model.encoder[1].relu


def test_the_gateable_table_is_fixed_and_importing_a_model_does_not_change_it() -> None:
    import subprocess
    import sys

    from mrvae.hyper.convert import GATEABLE

    with pytest.raises(TypeError):
        GATEABLE[nn.Bilinear] = lambda m: (m.out_features, -1)  # type: ignore[index]
    code = ("from mrvae.hyper.convert import GATEABLE\nbefore = dict(GATEABLE)\n"
            "import mrvae.models.linear, mrvae.models.text, mrvae.models.hierarchical, mrvae.models.tcvae\n"
            "print(dict(GATEABLE) == before)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "True"


class _Scale(nn.Module):
    """A module of a user's own: a learned per-feature scale, gateable through ``gated_features``."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.log_scale = nn.Parameter(torch.zeros(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.log_scale.exp()

    def gated_features(self) -> tuple[int, int]:
        return self.log_scale.shape[0], -1


def test_a_module_that_defines_gated_features_is_gated(beta_range) -> None:
    from mrvae.hyper import Gateable
    from mrvae.hyper.convert import gate_spec
    from mrvae.models.mlp import MLPVAE

    scale = _Scale(16)
    assert isinstance(scale, Gateable) and gate_spec(scale) == (16, -1)
    assert gate_spec(nn.ReLU()) is None
    model = MLPVAE((8,), hidden=16, latent_dim=2)
    model.encoder = nn.Sequential(*model.encoder[:2], _Scale(16), *model.encoder[2:])
    mrvae.convert(model, beta_range)
    assert isinstance(model.encoder[2], Gated) and isinstance(model.encoder[2].inner, _Scale)
    out = model(torch.rand(4, 8), torch.full((4,), 0.5))
    assert out["loss"].shape == (4,) and torch.isfinite(out["loss"]).all()
