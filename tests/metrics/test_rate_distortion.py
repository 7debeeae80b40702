import pytest
import torch
from torch import Tensor, nn

import mrvae
from mrvae.metrics.rate_distortion import (
    active_units,
    evaluate,
    rate_distortion_curve,
    relative_gap,
)


class FixedEncoder(mrvae.VAE):
    """Posterior means are chosen directly, to test the active-unit metric."""

    def __init__(self, encode_fn) -> None:
        super().__init__(mrvae.Likelihood("gaussian"))
        self.encode_fn = encode_fn
        self.dummy = nn.Parameter(torch.zeros(1))

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mu = self.encode_fn(x)
        return mu, torch.zeros_like(mu)

    def decode(self, z: Tensor) -> Tensor:
        return torch.zeros(z.shape[0], 6)


def test_active_units_sanity_bands() -> None:
    x = torch.randn(500, 6)
    informative = FixedEncoder(lambda v: v[:, :4])  # 4 latents copy the data: all active
    dead = FixedEncoder(lambda v: torch.zeros(v.shape[0], 4))  # posterior collapse: none
    half = FixedEncoder(lambda v: torch.cat([v[:, :2], 0.01 * v[:, 2:4]], 1))  # variance 1e-4 is inactive
    assert active_units(informative, x, 1.0) == 4
    assert active_units(dead, x, 1.0) == 0
    assert active_units(half, x, 1.0) == 2


def test_evaluate_is_repeatable_and_consistent(plain_vae, binary_images) -> None:
    a = evaluate(plain_vae, binary_images, 0.5, batch_size=7)
    assert evaluate(plain_vae, binary_images, 0.5, batch_size=7) == a
    assert evaluate(plain_vae, binary_images, 0.5, batch_size=7, seed=1) != a
    assert a["loss"] == pytest.approx(a["distortion"] + 0.5 * a["rate"])


def test_evaluation_does_not_disturb_the_global_rng(plain_vae, binary_images) -> None:
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    evaluate(plain_vae, binary_images, 1.0)
    assert torch.equal(torch.rand(3), expected)


def test_curve_defaults_to_twenty_log_spaced_betas(plain_vae, binary_images, beta_range) -> None:
    mr_vae = mrvae.convert(plain_vae, beta_range)
    curve = rate_distortion_curve(mr_vae, binary_images[:8], beta_range=beta_range)
    assert len(curve) == 20 and curve[0]["beta"] == pytest.approx(0.01) and curve[-1]["beta"] == pytest.approx(10)
    with pytest.raises(ValueError, match="beta_range"):
        rate_distortion_curve(mr_vae, binary_images)


def test_a_curve_of_a_model_without_gates_is_refused(plain_vae, binary_images, beta_range) -> None:
    # Every β would read the same network: a flat curve that looks like a failed MR-VAE.
    with pytest.raises(ValueError, match="no β gates"):
        rate_distortion_curve(plain_vae, binary_images, beta_range=beta_range)


def test_relative_gap() -> None:
    assert relative_gap([1.1, 2.0], [1.0, 2.0]) == pytest.approx([0.1, 0.0])
    with pytest.raises(ValueError):
        relative_gap([1.0], [1.0, 2.0])
