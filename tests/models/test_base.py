import io

import torch

import mrvae
from mrvae.hyper.layers import beta_gates
from mrvae.models import MLPVAE


def test_forward_returns_per_example_terms(plain_vae, binary_images) -> None:
    out = plain_vae(binary_images[:5], torch.tensor([0.1, 0.5, 1.0, 2.0, 4.0]))
    for key in ("loss", "rate", "distortion"):
        assert out[key].shape == (5,)
    assert torch.allclose(out["loss"], out["distortion"] + torch.tensor([0.1, 0.5, 1.0, 2.0, 4.0]) * out["rate"])
    assert (out["rate"] >= 0).all()


def test_save_load_round_trip_of_an_mr_vae(beta_range, binary_images) -> None:
    torch.manual_seed(0)
    model = mrvae.convert(MLPVAE((1, 8, 8), hidden=16, latent_dim=4), beta_range)
    for p in model.parameters():
        p.data.normal_()
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    clone = mrvae.convert(MLPVAE((1, 8, 8), hidden=16, latent_dim=4), mrvae.BetaRange(1, 2))
    clone.load_state_dict(torch.load(buffer, weights_only=True))
    x = binary_images[:6]
    for beta in (0.01, 0.3, 10.0):
        assert torch.equal(model.encode_mean(x, beta), clone.encode_mean(x, beta))
        z = torch.randn(6, 4)
        assert torch.equal(model.decode_mean(z, beta), clone.decode_mean(z, beta))


def test_mr_vae_answers_differently_at_different_beta(beta_range, binary_images) -> None:
    torch.manual_seed(0)
    model = mrvae.convert(MLPVAE((1, 8, 8), hidden=16, latent_dim=4), beta_range)
    for gate in beta_gates(model):
        gate.weight.data.fill_(1.0)
    x = binary_images[:4]
    assert not torch.allclose(model.encode_mean(x, 0.01), model.encode_mean(x, 10.0))


def test_given_noise_replaces_the_sample_and_subclasses_change_only_the_objective(binary_images) -> None:
    torch.manual_seed(0)
    model = MLPVAE((1, 8, 8), hidden=16, latent_dim=4)
    x = binary_images[:6]
    at_mean = model(x, 1.0, noise=torch.zeros(6, 4))
    assert torch.allclose(at_mean["distortion"], model.likelihood.distortion(model.decode(at_mean["mu"]), x))
    torch.manual_seed(1)
    drawn = model(x, 1.0)
    torch.manual_seed(1)
    eps = torch.randn(6, 4)
    assert torch.equal(drawn["loss"], model(x, 1.0, noise=eps)["loss"])  # the draw VAE.forward makes

    class DoubleRate(MLPVAE):
        def objective(self, x, output, z, mu, logvar, beta):
            terms = super().objective(x, output, z, mu, logvar, beta)
            return {**terms, "loss": terms["loss"] + beta * terms["rate"]}

    torch.manual_seed(0)
    double = DoubleRate((1, 8, 8), hidden=16, latent_dim=4)
    out = double(x, 0.5, noise=eps)
    assert torch.allclose(out["loss"], out["distortion"] + 2 * 0.5 * out["rate"])
