"""Does an MR-VAE learn its β response at a laptop-sized budget? (issue 8's check)

Full-width conv and ResNet networks on static binary MNIST: 39 batches of 128 × 5 epochs =
195 Adam steps at a constant learning rate of 1e-3, with the package's default gates and gate
learning rate. Evaluated on the first 2,560 test images at 10 log-spaced β. Also trains the
conv β-VAE at β = 1 with the same budget for reference. About 4 minutes on 2 CPU cores.

    .venv/bin/python scripts/laptop_response_check.py
"""

from __future__ import annotations

import time

import torch

import mrvae
from mrvae.data.images import load_dataset
from mrvae.models.benchmark import ArchitectureConfig, build_mr_vae, build_vae
from mrvae.training import ConstantBeta, MultiRateBeta, TrainConfig, train


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(2)
    images = load_dataset("binary_mnist", "train").images[: 39 * 128]
    test = load_dataset("binary_mnist", "test").images[:2560]
    beta_range = mrvae.BetaRange(0.01, 10.0)
    config = TrainConfig(epochs=5, batch_size=128, lr=1e-3, log_lines=0)
    grid = beta_range.grid(10).tolist()
    print(f"{'model, 195 steps':<32} {'R(0.01)':>8} {'R(10)':>7} {'R(a)/R(b)':>9} {'D+βR at β=1':>12} {'time':>6}")
    runs = [(kind, True) for kind in ("conv", "resnet")] + [("conv", False)]
    for kind, multi_rate in runs:
        torch.manual_seed(0)
        arch = ArchitectureConfig(kind, (1, 28, 28))
        model = build_mr_vae(arch, None, beta_range) if multi_rate else build_vae(arch)
        schedule = MultiRateBeta(beta_range.low, beta_range.high) if multi_rate else ConstantBeta(1.0)
        started = time.perf_counter()
        train(model, images, schedule, config)
        seconds = time.perf_counter() - started
        at_one = mrvae.evaluate(model, test, 1.0)["loss"]
        name = f"{kind} {'MR-VAE' if multi_rate else 'β-VAE at β = 1'}"
        if multi_rate:
            rates = [mrvae.evaluate(model, test, b)["rate"] for b in grid]
            print(f"{name:<32} {rates[0]:>8.2f} {rates[-1]:>7.2f} {rates[0] / rates[-1]:>9.1f} {at_one:>12.1f} "
                  f"{seconds:>5.0f}s")
        else:
            print(f"{name:<32} {'':>8} {'':>7} {'':>9} {at_one:>12.1f} {seconds:>5.0f}s")


if __name__ == "__main__":
    main()
