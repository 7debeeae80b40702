import pytest
import torch
from torch import nn

import mrvae
from mrvae.convert import count_parameters
from mrvae.layers import GatedLayer, gated_layers


def test_every_layer_is_gated_with_the_chosen_gates(plain_vae, beta_range) -> None:
    n_plain = sum(isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)) for m in plain_vae.modules())
    mrvae.convert(plain_vae, beta_range, encoder_gate="sigmoid", decoder_gate="sqrt")
    layers = gated_layers(plain_vae)
    assert len(layers) == n_plain
    for name, module in plain_vae.named_modules():
        if isinstance(module, GatedLayer):
            assert module.gate == ("sigmoid" if name.startswith("encoder") else "sqrt")


def test_overhead_is_two_parameters_per_output_unit(plain_vae, beta_range) -> None:
    before = count_parameters(plain_vae)["total"]
    outs = sum(getattr(m, "out_features", getattr(m, "out_channels", 0)) for m in plain_vae.modules()
               if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)))
    mrvae.convert(plain_vae, beta_range)
    counts = count_parameters(plain_vae)
    assert counts["base"] == before and counts["hyper"] == 2 * outs


def test_base_weights_are_kept(plain_vae, beta_range) -> None:
    before = {k: v.clone() for k, v in plain_vae.state_dict().items()}
    mrvae.convert(plain_vae, beta_range)
    after = plain_vae.state_dict()
    for key, value in before.items():
        assert torch.equal(after[key], value)


def test_fully_open_gates_reproduce_the_plain_model(plain_vae, beta_range, binary_images) -> None:
    import copy

    gated = mrvae.convert(copy.deepcopy(plain_vae), beta_range, encoder_gate="sigmoid", decoder_gate="sqrt")
    for layer in gated_layers(gated):
        with torch.no_grad():
            layer.hyper_bias.fill_(50.0 if layer.gate == "sigmoid" else -50.0)
    x = binary_images[:8]
    torch.manual_seed(1)
    plain_out = plain_vae(x, 0.7)
    torch.manual_seed(1)
    gated_out = gated(x, torch.linspace(0.01, 10, 8))  # β must not matter when every gate is 1
    assert torch.allclose(plain_out["mu"], gated_out["mu"], atol=1e-6)
    assert torch.allclose(plain_out["distortion"], gated_out["distortion"], atol=1e-4)


def test_ungrouped_layers_are_reported_with_the_fix(beta_range) -> None:
    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc = nn.Linear(2, 2)
            self.head = nn.Linear(2, 2)

    with pytest.raises(ValueError, match=r"\['enc', 'head'\].*encoder=\.\.\."):
        mrvae.convert(Odd(), beta_range)
    model = mrvae.convert(Odd(), beta_range, encoder=("enc",), decoder="head")
    assert len(gated_layers(model)) == 2


def test_converting_twice_changes_nothing(plain_vae, beta_range) -> None:
    mrvae.convert(plain_vae, beta_range)
    keys = set(plain_vae.state_dict())
    mrvae.convert(plain_vae, beta_range)
    assert set(plain_vae.state_dict()) == keys


def test_bad_gate_name_is_rejected(plain_vae, beta_range) -> None:
    with pytest.raises(ValueError, match="unknown gate"):
        mrvae.convert(plain_vae, beta_range, decoder_gate="relu")


def test_excluded_layers_stay_plain_and_need_no_group(beta_range) -> None:
    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 2))
            self.decoder = nn.Linear(2, 2)
            self.head = nn.Linear(2, 2)

    model = mrvae.convert(Odd(), beta_range, exclude=("head", "encoder.1"))
    assert type(model.head) is nn.Linear and type(model.encoder[1]) is nn.Linear
    assert isinstance(model.encoder[0], GatedLayer) and isinstance(model.decoder, GatedLayer)
    assert count_parameters(model)["hyper"] == 2 * (3 + 2)


def test_misspelt_exclusion_is_rejected(plain_vae, beta_range) -> None:
    with pytest.raises(ValueError, match=r"exclude=\['decoder\.nope'\] matches no submodule"):
        mrvae.convert(plain_vae, beta_range, exclude="decoder.nope")
    assert not gated_layers(plain_vae)  # nothing was converted before the error
