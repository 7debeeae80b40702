#!/usr/bin/env python3
"""What an MR-VAE costs over one β-VAE, per network, and what ``mrvae.train`` adds per step.

Writes ``figures/overhead.{json,png}`` (``figure: "Overhead"``). For every network, in
``metrics.<network>``:

* ``param_ratio``: MR-VAE parameters over the plain β-VAE's (Appendix C: at most 1.05);
* ``cpu_step_time_ratio`` (or ``gpu_…`` with ``--device cuda``): seconds of one Adam step
  (forward, backward, update) of the MR-VAE with one β per example over the β-VAE's, the two
  timed alternately on the same batch: the median over ``pairs`` adjacent pairs, with their
  quartiles (``…_quartiles``) and a 95% interval for the median (``…_interval``). Each network
  gets about ``--seconds`` of timed steps (at least ``--steps × --repeats`` pairs): short steps
  vary most, so fast networks get more pairs.

The networks are the paper's conv and ResNet VAEs at 28×28×1, 32×32×3 and 64×64×3 at full
width, the narrower ones of the ``quick`` profile, the linear VAE of Figure 4 and Chen et al.'s
MLP of Figure 8. ``metrics.loop`` compares ``mrvae.train`` with a minimal hand-written loop
(Adam, the same network and batches). Not a test: run it on a quiet machine (``uptime``) and
nothing else at the same time. ``--quick`` is a smoke run on tiny settings.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from torch import Tensor  # noqa: E402

import mrvae  # noqa: E402
from mrvae.models import ChenMLPVAE, LinearVAE  # noqa: E402
from mrvae.models.benchmark import ArchitectureConfig, build_mr_vae, build_vae  # noqa: E402
from mrvae.training.config import TrainConfig  # noqa: E402
from mrvae.training.loop import ShuffledBatches  # noqa: E402
from mrvae.training.optim import adam, parameter_groups  # noqa: E402
from mrvae.training.schedules import MultiRateBeta  # noqa: E402
from mrvae.training.timing import _synchronize, compare_step_times, seconds_per_step  # noqa: E402
from mrvae_companion.experiments import DATA_SHAPES
from mrvae_companion.figures import committed_run_provenance, save_figure  # noqa: E402
from mrvae_companion.profiles import image_profile

BETA_RANGE = mrvae.BetaRange(0.01, 10.0)
#: One dataset per data shape: the likelihood follows it (Bernoulli for binary MNIST).
PANELS = {"28": "binary_mnist", "32": "cifar10", "64": "celeba64"}
GOAL = 1.05
#: Timed steps per repeat at most (fast networks; 3 repeats give 150 pairs).
MAX_STEPS = 50

Pair = tuple[mrvae.VAE, mrvae.VAE, Tensor]  # (MR-VAE, β-VAE, one batch)


def likelihood(dataset: str) -> mrvae.Likelihood:
    return mrvae.Likelihood("bernoulli" if dataset == "binary_mnist" else "gaussian")


def batch_for(shape: tuple[int, ...], dataset: str, batch_size: int, device: torch.device) -> Tensor:
    gen = torch.Generator().manual_seed(0)
    x = torch.rand((batch_size, *shape), generator=gen)
    return (x > 0.5).float().to(device) if dataset == "binary_mnist" else x.to(device)


def benchmark_pair(config: ArchitectureConfig, dataset: str, batch_size: int, device: torch.device) -> Pair:
    torch.manual_seed(0)
    plain = build_vae(config, likelihood(dataset)).to(device)
    multi_rate = build_mr_vae(config, likelihood(dataset), BETA_RANGE).to(device)
    return multi_rate, plain, batch_for(config.data_shape, dataset, batch_size, device)


def linear_pair(batch_size: int, device: torch.device) -> Pair:
    torch.manual_seed(0)
    mean = torch.zeros(784)
    plain = LinearVAE(784, 32, 0.5, mean).to(device)  # Figure 4's model: latent 32, σ² = 0.5
    multi_rate = LinearVAE(784, 32, 0.5, mean).multi_rate(BETA_RANGE).to(device)
    return multi_rate, plain, torch.rand(batch_size, 784, generator=torch.Generator().manual_seed(0)).to(device)


def chen_pair(batch_size: int, device: torch.device, hidden: int = 1200) -> Pair:
    torch.manual_seed(0)
    size = 737_280  # full dSprites; enters the β-TCVAE estimator only as a constant
    plain = ChenMLPVAE(size, hidden=hidden).to(device)
    multi_rate = mrvae.convert(ChenMLPVAE(size, hidden=hidden), BETA_RANGE).to(device)
    return multi_rate, plain, batch_for((1, 64, 64), "binary_mnist", batch_size, device)


def networks(quick: bool, batch_size: int, device: torch.device) -> dict[str, Callable[[], Pair]]:
    """Name -> builder of (MR-VAE, β-VAE, batch); built lazily, one network in memory at a time."""
    found: dict[str, Callable[[], Pair]] = {}
    profile = image_profile("quick")
    for side, dataset in PANELS.items():
        for kind in ("conv", "resnet"):
            narrow = profile.experiment(dataset, kind, 0).architecture()
            widths = {"quick": narrow.width} if quick else {"full": 1.0, "quick": narrow.width}
            for label, width in widths.items():
                config = ArchitectureConfig(kind, DATA_SHAPES[dataset], width=width)
                found[f"{kind}{side}-{label}"] = (
                    lambda config=config, dataset=dataset: benchmark_pair(config, dataset, batch_size, device))
    found["linear"] = lambda: linear_pair(batch_size, device)
    found["chen_mlp"] = lambda: chen_pair(batch_size, device, hidden=120 if quick else 1200)
    return found


def time_network(build: Callable[[], Pair], min_steps: int, repeats: int, seconds: float,
                 prefix: str) -> dict[str, object]:
    """``param_ratio``, ``parameters`` and the step times of one network's two models."""
    multi_rate, plain, x = build()
    probe = seconds_per_step(plain, x, 1.0, steps=1, warmup=1)
    # About `seconds` of timed pairs (each pair about two β-VAE steps), at least min_steps per repeat.
    steps = max(min_steps, min(MAX_STEPS, math.ceil(seconds / (2 * probe * repeats))))
    times = compare_step_times(multi_rate, plain, x, (BETA_RANGE.low, BETA_RANGE.high),
                               steps=steps, warmup=2, repeats=repeats)
    return {"param_ratio": count(multi_rate) / count(plain), "parameters": count(plain),
            f"{prefix}_step_time_ratio": times.ratio, "steps": steps, "pairs": times.pairs,
            f"{prefix}_step_time_ratio_quartiles": list(times.ratio_quartiles),
            f"{prefix}_step_time_ratio_interval": list(times.ratio_interval),
            f"{prefix}_seconds_per_step": {"mr_vae": times.multi_rate, "beta_vae": times.plain}}


def count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# --- The training loop against a hand-written one ------------------------------------------------


def hand_written_epoch(model: mrvae.VAE, batches: ShuffledBatches, config: TrainConfig,
                       optimizer: torch.optim.Optimizer, schedule: MultiRateBeta) -> float:
    """One epoch of the plainest loop that trains the same thing; returns its seconds."""
    start = time.perf_counter()
    for step, x in enumerate(batches.epoch()):
        loss = model(x, schedule(step, x.shape[0]).to(x.device))["loss"].mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    _synchronize(batches.data.device)
    return time.perf_counter() - start


def loop_overhead(config: ArchitectureConfig, dataset: str, *, batch_size: int, batches: int, epochs: int,
                  repeats: int, device: torch.device) -> dict[str, float]:
    """Seconds per epoch of ``mrvae.train`` and of :func:`hand_written_epoch` on one MR-VAE.

    Both train from the same weights on the same in-memory batches; epochs after the first
    are timed (``mrvae.train`` reports each epoch's seconds), alternating ``repeats`` times.
    """
    data = batch_for(config.data_shape, dataset, batch_size * batches, device)
    train_config = TrainConfig(epochs=epochs, batch_size=batch_size, log_lines=0)
    schedule = MultiRateBeta(BETA_RANGE.low, BETA_RANGE.high)
    torch.manual_seed(0)
    model = build_mr_vae(config, likelihood(dataset), BETA_RANGE).to(device)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    ours, hand = [], []
    for _ in range(repeats):
        model.load_state_dict(initial)
        result = mrvae.train(model, data, schedule, train_config, log=lambda line: None, progress=False)
        ours += [h["seconds"] for h in result.history[1:]]
        model.load_state_dict(initial)
        optimizer = adam(parameter_groups(model, train_config), device)  # the same Adam as mrvae.train
        shuffled = ShuffledBatches(data, batch_size)
        hand += [hand_written_epoch(model, shuffled, train_config, optimizer, schedule)
                 for _ in range(epochs)][1:]
    ours_step, hand_step = statistics.median(ours) / batches, statistics.median(hand) / batches
    return {"network": f"{config.kind}{config.data_shape[1]} width {config.width:g}", "batch_size": batch_size,
            "steps_per_epoch": batches, "train_seconds_per_step": ours_step,
            "hand_written_seconds_per_step": hand_step, "step_time_ratio": ours_step / hand_step}


# --- Report --------------------------------------------------------------------------------------


def plot(metrics: dict[str, dict[str, float]], key: str) -> plt.Figure:
    names = list(metrics)
    fig, ax = plt.subplots(figsize=(7.0, 3.2))
    ratios = [metrics[n][key] for n in names]
    colors = ["C3" if n.endswith("-full") else "C0" if n.endswith("-quick") else "C2" for n in names]
    intervals = [metrics[n].get(f"{key}_interval", [r, r]) for n, r in zip(names, ratios, strict=True)]
    ax.bar(range(len(names)), ratios, color=colors)
    ax.errorbar(range(len(names)), ratios, yerr=[[r - lo for r, (lo, _) in zip(ratios, intervals, strict=True)],
                                                 [hi - r for r, (_, hi) in zip(ratios, intervals, strict=True)]],
                fmt="none", ecolor="black", elinewidth=0.8, capsize=2)
    ax.axhline(1.0, color="black", lw=0.8)
    ax.axhline(GOAL, color="C3", ls="--", lw=1, label=f"Appendix C: ≤ {GOAL}")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("MR-VAE / β-VAE time per step")
    ax.set_ylim(0.8, max(1.3, max(hi for _, hi in intervals) + 0.05))  # whiskers included
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default: 2)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=5,
                        help="timed steps per repeat, at least (default: 5; fast networks get more)")
    parser.add_argument("--repeats", type=int, default=3, help="alternating repeats (default: 3)")
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="timed seconds per network, about (default: 60; never fewer pairs than "
                             "--steps x --repeats)")
    parser.add_argument("--only", nargs="*", default=None, help="network names to time (default: all)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: quick widths, batch 16, 2 steps")
    parser.add_argument("--out-dir", type=Path, default=None, help="where to write (default: figures/)")
    parser.add_argument("--name", default="overhead", help="file name stem (default: overhead)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.batch_size, args.steps, args.repeats, args.seconds = 16, 2, 1, 0.0
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    prefix = "gpu" if device.type == "cuda" else "cpu"
    started = time.perf_counter()
    builders = networks(args.quick, args.batch_size, device)
    if args.worker is not None:
        print(json.dumps(time_network(builders[args.worker], args.steps, args.repeats, args.seconds, prefix)))
        return
    unknown = sorted(set(args.only or ()) - set(builders))
    if unknown:
        parser.error(f"unknown networks {unknown}; choose from {sorted(builders)}")
    metrics: dict[str, dict[str, float]] = {}
    for name in builders:
        if args.only and name not in args.only:
            continue
        # A fresh process per network: the allocator's state after one network's big tensors
        # changes the next one's timings by several per cent.
        worker = [sys.executable, __file__, "--worker", name, "--device", args.device, "--threads",
                  str(args.threads), "--batch-size", str(args.batch_size), "--steps", str(args.steps),
                  "--repeats", str(args.repeats), "--seconds", str(args.seconds), *(["--quick"] if args.quick else [])]
        metrics[name] = json.loads(subprocess.run(worker, check=True, capture_output=True, text=True).stdout)
        m = metrics[name]
        seconds = m[f"{prefix}_seconds_per_step"]
        low, high = m[f"{prefix}_step_time_ratio_interval"]
        print(f"{name:<16} params {m['parameters']:>11,} x{m['param_ratio']:.4f}   "
              f"step {seconds['beta_vae'] * 1e3:8.1f} ms -> {seconds['mr_vae'] * 1e3:8.1f} ms   "
              f"ratio {m[f'{prefix}_step_time_ratio']:.3f} (95% {low:.3f}-{high:.3f}, {m['pairs']} pairs)", flush=True)
    quick_profile = image_profile("quick").experiment("binary_mnist", "resnet", 0).architecture()
    loop_networks = [quick_profile] if args.quick else [quick_profile, replace(quick_profile, width=1.0)]
    loops = [loop_overhead(config, "binary_mnist", batch_size=args.batch_size if not args.quick else 16,
                           batches=4 if args.quick else 20, epochs=2 if args.quick else 3,
                           repeats=1 if args.quick else 3, device=device) for config in loop_networks]
    for loop in loops:
        print(f"loop: {loop['network']}: mrvae.train {loop['train_seconds_per_step'] * 1e3:.1f} ms/step, "
              f"hand-written {loop['hand_written_seconds_per_step'] * 1e3:.1f} ms/step, "
              f"ratio {loop['step_time_ratio']:.3f}", flush=True)
    wall = time.perf_counter() - started
    key = f"{prefix}_step_time_ratio"
    full = {n: m for n, m in metrics.items() if n.endswith("-full")}
    worst = max((m[key] for m in full.values()), default=None)
    summary = {"goal": GOAL, "worst_full_width": worst,
               "goal_met_full_width": (worst <= GOAL) if full else None,
               # where the goal lies inside the 95% interval of the median, one run cannot tell
               "full_width_undecided": [n for n, m in full.items()
                                        if m[f"{key}_interval"][0] <= GOAL <= m[f"{key}_interval"][1]]}
    fig = plot(metrics, key) if metrics else plt.figure()
    path = save_figure(
        fig, args.name, figure="Overhead", notebook="scripts/benchmark_overhead.py",
        profile="quick" if args.quick else "benchmark",
        data={"batch_size": args.batch_size, "steps": args.steps, "repeats": args.repeats, "seconds": args.seconds,
              "beta_range": [BETA_RANGE.low, BETA_RANGE.high]},
        metrics={**metrics, "loop": loops, "summary": summary},
        provenance=committed_run_provenance(seed=0, config=vars(args), device=device, wall_seconds=wall,
                                            command=" ".join(["python", "scripts/benchmark_overhead.py",
                                                              *sys.argv[1:]])),
        directory=args.out_dir)
    print(f"worst full-width ratio: {summary['worst_full_width']}; wrote {path} in {wall:.0f} s")


if __name__ == "__main__":
    main()
