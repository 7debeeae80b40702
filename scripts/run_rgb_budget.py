"""Would more training make the quick profile's RGB panels a test of the claim? Commit-ready
figure data: ``figures/rgb_budget.{png,json}``.

    make rgb-budget              # CIFAR-10 and CelebA ResNets at 1x, 4x and 8x; about 12 min on 2 cores

The quick profile trains its RGB panels for 64-128 Adam steps, so that CI can afford them. This
script trains each panel's MR-VAE and its 10 constant-β β-VAEs again at larger multiples of
the quick profile's epochs (same images, widths and learning rate), and records per budget
the MR-VAE's rate span R(a)/R(b), its rate coverage at the smallest β, its median gap in
D + βR and whether its rate is monotone in β. ``metrics.budget_trend`` holds the span and the
coverage by budget (:class:`mrvae_companion.seeds.BudgetTrend`). Chapter 4 shows the committed JSON
beside the RGB panels; it is the measurement behind treating them as pipeline checks.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PANELS = (("cifar10", "resnet"), ("celeba64", "resnet"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--multipliers", type=int, nargs="+", default=[1, 4, 8],
                        help="multiples of the profile's epochs, increasing")
    parser.add_argument("--datasets", nargs="+", default=[d for d, _ in PANELS])
    parser.add_argument("--train-images", type=int, default=None, help="fewer images (smoke tests)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", type=Path, default=None, help="default: the repository's figures/")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    if len(args.multipliers) < 2 or sorted(set(args.multipliers)) != args.multipliers or args.multipliers[0] < 1:
        parser.error(f"--multipliers must be at least two distinct increasing ints >= 1, got {args.multipliers}")
    if args.train_images is not None and args.train_images < 2:
        parser.error(f"--train-images must be at least 2, got {args.train_images}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    from mrvae_companion.experiments import (
        baseline_betas,
        beta_vae_jobs,
        fit_beta_vaes,
        fit_mr_vae,
        load_experiment_data,
        mr_vae_job,
    )
    from mrvae_companion.figures import (
        committed_figure_dir,
        committed_run_provenance,
        save_figure,
        use_book_style,
    )
    from mrvae_companion.panel_result import PanelResult
    from mrvae_companion.profiles import image_profile
    from mrvae_companion.runner import runner_for
    from mrvae_companion.runtime import Stopwatch, pick_device, run_directory, seed_everything
    from mrvae_companion.seeds import BudgetTrend

    settings = image_profile(args.profile)
    unknown = [d for d in args.datasets if d not in settings.datasets]
    if unknown:
        parser.error(f"--datasets {unknown} are not in the {args.profile!r} profile: {list(settings.datasets)}")
    seed_everything(args.seed)
    device = pick_device()
    quiet = lambda line: None  # noqa: E731
    bases = [settings.experiment(d, "resnet", args.seed) for d in args.datasets]
    if args.train_images is not None:
        bases = [dataclasses.replace(b, train_images=args.train_images, test_images=args.train_images) for b in bases]
    data = {b.dataset: load_experiment_data(b) for b in bases}
    runs = [(b, dataclasses.replace(b, epochs=b.epochs * k), k) for b in bases for k in args.multipliers]

    def jobs(root: Path) -> list[Callable[[], None]]:
        todo = [(exp.epochs, job) for _, exp, _ in runs
                for job in (mr_vae_job(exp, data[exp.dataset], run_dir=root, device=device),
                            *beta_vae_jobs(exp, data[exp.dataset], baseline_betas(), annealed=False, run_dir=root,
                                           device=device))]
        todo.sort(key=lambda pair: -pair[0])  # longest first, so that no core idles at the end
        return [job for _, job in todo]

    def collect(root: Path | None, finished: bool) -> dict[str, list[dict[str, Any]]]:
        panels: dict[str, list[dict[str, Any]]] = {}
        for base, exp, k in runs:
            images = data[exp.dataset]
            model, _ = fit_mr_vae(exp, images, run_dir=root, device=device, log=quiet, load_finished=finished)
            sweep = fit_beta_vaes(exp, images, baseline_betas(), annealed=False, run_dir=root, device=device,
                                  log=quiet, load_finished=finished)
            response = PanelResult.evaluate(model, sweep, None, images.test, source=images.source,
                                            seed=args.seed).response
            row = {"multiplier": k, "steps": exp.steps(images.train.shape[0]), "rate_ratio": response.rate_ratio,
                   "rate_coverage": response.rate_coverage["constant"],
                   "median_gap": response.median_gap["constant"], "monotone": response.monotone,
                   "beta_vae_monotone": response.beta_vae_monotone["constant"]}
            panels.setdefault(base.tag, []).append(row)
            print(f"{base.tag} x{k} ({row['steps']} steps): span {row['rate_ratio']:.1f}, coverage "
                  f"{row['rate_coverage']:.2f}, median gap {row['median_gap']:+.1%}", flush=True)
        return panels

    with Stopwatch() as clock:
        panels = runner_for(settings.workers, device).run(jobs, collect,
                                                          run_dir=run_directory(args.profile, "rgb_budget"))

    trends = {tag: {metric: BudgetTrend([r["steps"] for r in rows], [r[metric] for r in rows], "Adam steps").to_json()
                    for metric in ("rate_ratio", "rate_coverage")} for tag, rows in panels.items()}
    use_book_style()
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 3.0), dpi=150, layout="constrained")
    for tag, rows in panels.items():
        steps = [r["steps"] for r in rows]
        axes[0].plot(steps, [r["rate_ratio"] for r in rows], marker="o", label=tag)
        axes[1].plot(steps, [r["rate_coverage"] for r in rows], marker="o", label=tag)
    axes[0].axhline(10, color="k", lw=0.8, ls=":")
    axes[1].axhline(0.5, color="k", lw=0.8, ls=":")
    axes[0].set(xscale="log", yscale="log", xlabel="Adam steps per model", ylabel="rate span R(a)/R(b)",
                title="Response to β (rule: ≥ 10)")
    axes[0].set_yticks([1, 2, 5, 10, 20, 50, 100])
    axes[0].yaxis.set_major_formatter(ScalarFormatter())  # 2, 10, 50 rather than 5×10¹
    axes[0].yaxis.set_minor_formatter(NullFormatter())
    axes[1].set(xscale="log", xlabel="Adam steps per model", ylabel="rate coverage at β = 0.01",
                title="High-rate end (rule: ≥ 0.5)")
    axes[1].legend()
    command = "make rgb-budget" if not argv else " ".join(["python", "scripts/run_rgb_budget.py", *argv])
    path = save_figure(
        fig, "rgb_budget", figure="Study: the RGB panels at larger budgets", notebook="scripts/run_rgb_budget.py",
        profile=args.profile, data={tag: data[tag.split("-")[0]].source for tag in panels},
        metrics={"panels": panels, "budget_trend": trends},
        provenance=committed_run_provenance(seed=args.seed, config={"experiments": bases,
                                                                    "multipliers": args.multipliers},
                                            device=device, wall_seconds=clock.seconds, command=command),
        directory=args.out_dir or committed_figure_dir())
    print(f"wrote {path}; {clock.seconds / 60:.0f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
