"""``python -m mrvae_companion`` (or ``mrvae-companion``): train the book's image experiments from a terminal.

    mrvae-companion list
    mrvae-companion train binary_mnist resnet --profile quick                  # one MR-VAE
    mrvae-companion train binary_mnist resnet --model beta-vaes --schedule annealed
    torchrun --nproc-per-node 4 -m mrvae_companion train cifar10 resnet --profile paper

Every :class:`~mrvae_companion.experiments.ImageExperiment` field is an option whose default comes
from the chosen profile (``--help`` lists them). Models are checkpointed after every epoch
below ``--run-dir`` in a folder named by all their settings, so the same command resumes a
killed run. The held-out rate–distortion curve is written as a figure (PNG + JSON, with
provenance) into ``--out``. Under ``torchrun`` the MR-VAE trains data-parallel and a β-VAE
sweep spreads its β values over the processes.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]

_FIELDS_SET_BY_COMMAND = ("dataset", "kind", "seed")


def _experiment_fields() -> list[dataclasses.Field]:
    from mrvae_companion.experiments import ImageExperiment

    return [f for f in dataclasses.fields(ImageExperiment) if f.name not in _FIELDS_SET_BY_COMMAND]


def _parser() -> argparse.ArgumentParser:
    from mrvae_companion.experiments import DATA_SHAPES
    from mrvae_companion.profiles import IMAGE_PROFILES

    parser = argparse.ArgumentParser(prog="mrvae-companion", description="Train MR-VAEs and β-VAE sweeps of the book's "
                                     "image experiments (Bae et al., ICLR 2023).")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the datasets, model kinds and profiles you can train")
    train = commands.add_parser(
        "train", help="train one MR-VAE or a sweep of β-VAEs, then write its rate–distortion curve",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        epilog="Experiment options default to the profile's value for this dataset and kind; "
               "`mrvae-companion list` prints every profile.")
    train.add_argument("dataset", choices=sorted(DATA_SHAPES))
    train.add_argument("kind", choices=("conv", "resnet"))
    train.add_argument("--model", choices=("mr-vae", "beta-vaes"), default="mr-vae",
                       help="one MR-VAE, or a sweep of β-VAEs at log-spaced β")
    train.add_argument("--profile", choices=sorted(IMAGE_PROFILES), default="quick",
                       help="the budget: quick (CI), cpu (full width on a CPU) or paper")
    train.add_argument("--schedule", choices=("constant", "annealed"), default="constant",
                       help="β-VAEs only: constant β or a linear KL warm-up")
    train.add_argument("--betas", type=int, default=10, metavar="N", help="β-VAEs only: how many log-spaced β")
    train.add_argument("--beta-range", type=float, nargs=2, metavar=("A", "B"), default=(0.01, 10.0),
                       help="the MR-VAE samples log β ~ U[log A, log B]; the β-VAEs' β span it too")
    train.add_argument("--seed", type=int, default=0, help="seeds data subsets, initialisation and training")
    train.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    train.add_argument("--run-dir", type=Path, default=argparse.SUPPRESS,
                       help="checkpoint cache (default: $MRVAE_RUN_DIR/cli, else ./runs/cli)")
    train.add_argument("--out", type=Path, default=Path("figures"), help="where the figure PNG + JSON go")
    train.add_argument("--workers", type=int, default=argparse.SUPPRESS, metavar="N",
                       help="on a CPU, train a β-VAE sweep N at a time, one thread each (default: the profile's "
                            "choice, one per core for quick and in turn for cpu and paper). Models trained on one "
                            "thread equal the book's, whatever N is")
    train.add_argument("--sync-batchnorm", action="store_true",
                       help="under torchrun, BatchNorm statistics over the global batch (CUDA only)")
    train.add_argument("--progress", action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                       help="a progress bar (default: only on a terminal)")
    options = train.add_argument_group("experiment (default: the profile's value)")
    for f in _experiment_fields():
        flag = "--" + f.name.replace("_", "-")
        default = "whole split" if f.default is None and "images" in f.name else f.default
        text = f"default: the profile's value (paper: {'its size' if default is None else default})"
        if f.type in ("bool", bool):
            options.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                                 help=text)
        else:
            kind = float if "float" in str(f.type) else int
            options.add_argument(flag, dest=f.name, type=kind, default=argparse.SUPPRESS,
                                 metavar=kind.__name__.upper(), help=text)
    return parser


def _list() -> None:
    from mrvae_companion.experiments import DATA_SHAPES
    from mrvae_companion.profiles import IMAGE_PROFILES

    print("datasets: " + ", ".join(f"{name} {'×'.join(map(str, shape))}" for name, shape in DATA_SHAPES.items()))
    print("kinds: conv, resnet")
    for name, profile in IMAGE_PROFILES.items():
        print(f"profile {name}: datasets {', '.join(profile.datasets)}; base {dict(profile.base)}")


def _workers(args: argparse.Namespace, profile_workers: int | None, *, distributed: bool,
             device: Any) -> int | None:
    """``--workers``, else the profile's choice; ``None`` (in turn, torch's threads) off a lone CPU process."""
    if hasattr(args, "workers"):
        if args.workers < 1:
            raise ValueError(f"--workers must be at least 1, got {args.workers}; 1 trains in turn on one thread")
        if distributed:
            raise ValueError("--workers trains side by side in one process's workers; under torchrun the "
                             "sweep already spreads over the ranks, so drop --workers")
        if device.type != "cpu":
            raise ValueError(f"--workers trains side by side on CPU cores, not on {device.type}; drop it "
                             f"or pass --device cpu")
        return args.workers
    # Synchronised batch norm needs torchrun's ranks, not side-by-side workers.
    local = not distributed and device.type == "cpu" and not args.sync_batchnorm
    return profile_workers if local else None


def _train(args: argparse.Namespace) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mrvae.hyper import BetaRange
    from mrvae.metrics import evaluate, rate_distortion_curve
    from mrvae.training.distributed import init_from_env
    from mrvae.training.pool import one_thread
    from mrvae_companion.experiments import baseline_betas, fit_beta_vaes, fit_mr_vae, load_experiment_data
    from mrvae_companion.figures import plot_rate_distortion, provenance, save_figure
    from mrvae_companion.panel_metrics import is_monotone
    from mrvae_companion.profiles import image_profile
    from mrvae_companion.runtime import Stopwatch, pick_device, run_root, seed_everything

    beta_range = BetaRange(*args.beta_range)
    if args.betas < 2:
        raise ValueError(f"--betas must be at least 2 (log-spaced β from A to B), got {args.betas}")
    run_dir = getattr(args, "run_dir", run_root() / "cli").resolve()
    for flag, folder in (("--out", args.out), ("--run-dir", run_dir)):
        if folder.exists() and not folder.is_dir():  # found now, not after training
            raise ValueError(f"{flag} {folder} is a file, not a folder; pass a folder (it is created if missing)")
    # gloo for CPU tensors even on a GPU node; NCCL (the default with CUDA) for GPUs.
    replica = init_from_env("gloo" if args.device == "cpu" else None)
    profile = image_profile(args.profile)
    overrides = {f.name: getattr(args, f.name) for f in _experiment_fields() if hasattr(args, f.name)}
    base = profile.experiment(args.dataset, args.kind, seed=args.seed)
    for name, value in overrides.items():  # each flag alone first, so that an error names its flag
        try:
            dataclasses.replace(base, **{name: value})
        except (TypeError, ValueError) as error:
            raise ValueError(f"--{name.replace('_', '-')} {value}: {error}") from error
    exp = dataclasses.replace(base, **overrides)
    main_rank = replica is None or replica.is_main
    say = print if main_rank else (lambda line: None)
    seed_everything(args.seed)
    device = pick_device(args.device)
    workers = _workers(args, profile.workers, distributed=replica is not None, device=device)
    say(f"{args.model} on {exp.tag}: {exp.epochs} epochs, batch {exp.batch_size}, lr {exp.lr:g}; "
        f"checkpoints below {run_dir}")
    with Stopwatch() as clock:
        data = load_experiment_data(exp)
        if args.model == "mr-vae":
            # A profile that trains side by side trains every model on one thread: so does this one.
            with one_thread() if workers is not None else contextlib.nullcontext():
                model, result = fit_mr_vae(exp, data, beta_range=beta_range, run_dir=run_dir, device=device, log=say,
                                           progress=getattr(args, "progress", None),
                                           sync_batchnorm=args.sync_batchnorm)
            curve = rate_distortion_curve(model, data.test.to(device), beta_range=beta_range, seed=args.seed)
            points, label = curve, "MR-VAE (one run)"
            rates = [point["rate"] for point in curve]
            metrics: dict[str, Any] = {"rate_ratio": rates[0] / max(rates[-1], 1e-12), "monotone": is_monotone(rates),
                                       "train_seconds": result.seconds, "resumed_from_epoch": result.resumed_from_epoch}
        else:
            betas = baseline_betas(args.betas, beta_range)
            # Under torchrun a BatchNorm-free sweep spreads its β over the ranks; otherwise each
            # β-VAE trains data-parallel in turn.
            spread = replica is not None and exp.kind == "resnet"
            models = fit_beta_vaes(exp, data, betas, annealed=args.schedule == "annealed", batched=spread,
                                   run_dir=run_dir, device=device, log=say, progress=getattr(args, "progress", None),
                                   sync_batchnorm=args.sync_batchnorm, workers=workers)
            points = [evaluate(m, data.test.to(device), beta, seed=args.seed) for beta, m in models.items()]
            label = f"β-VAEs ({args.schedule} β)"
            metrics = {"monotone": is_monotone([point["rate"] for point in points])}
    name = f"cli_{exp.key}_{args.model}" + ("" if args.model == "mr-vae" else f"_{args.schedule}")
    if not main_rank:
        return args.out / f"{name}.json"
    fig, ax = plt.subplots(figsize=(6, 4.5))
    plot_rate_distortion(ax, points, mr_label=label, title=f"{label}: {exp.tag}")
    ax.legend()
    path = save_figure(
        fig, name, figure="rate–distortion curve", notebook="python -m mrvae_companion train", profile=args.profile,
        data={"source": data.source, "curve": points}, metrics=metrics,
        provenance={**provenance(seed=args.seed, config={"experiment": exp, "beta_range": beta_range,
                                                         "model": args.model, "schedule": args.schedule},
                                 device=device, wall_seconds=clock.seconds), "command": " ".join(sys.argv)},
        directory=args.out)
    plt.close(fig)
    say(f"wrote {path} ({clock.seconds:.0f} s)")
    return path


def _one_line(message: str) -> str:
    """A multi-line error (a refused checkpoint lists each differing field) as the one line a
    command-line error is."""
    return message.replace(":\n  ", ": ").replace("\n  ", "; ").replace("\n", ". ")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 with a one-line message on bad input)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "list":
        _list()
        return 0
    from mrvae.data import DatasetNotFoundError

    try:
        _train(args)
    except (DatasetNotFoundError, TypeError, ValueError) as error:
        parser.exit(2, f"mrvae: error: {_one_line(str(error))}\n")
    finally:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
    return 0
