"""Does the Figure 1 MR-VAE's gap to the β-VAEs close with training? Commit-ready figure data:
``figures/gap_study.{png,json}``.

    make gap-study                          # the quick profile's Figure 1 panel, about 21 min on 2 cores
    .venv/bin/python scripts/run_gap_study.py --budgets 1 2 4

On the quick profile's headline panel (ResNet, binary MNIST) it trains:

- ``equal``: the MR-VAE and the 10 constant-β β-VAEs at 1×, 2× and 4× the profile's epochs;
- ``mr_vae_longer``: the MR-VAE at 2× against the β-VAEs at 1× (a fifth of the sweep's steps);
- ``gate_lr``: the gates' learning-rate multiplier at 2× (both model kinds at 2×);
- ``wider_range``: the MR-VAE trained on β ∈ [0.001, 10] (the authors' code's range), at 1×;
- ``seed``: the ``equal`` run at 1× and the ``mr_vae_longer`` run with each further seed of
  ``--seeds`` (other training and test subsets, another initialisation and batch order), which show
  how far the gap moves from one run to another. Both are summarised over the seeds
  (``metrics.seeds``: median and order-statistic interval, :mod:`mrvae_companion.seeds`), and
  ``metrics.train_once`` gives each MR-VAE budget as a fraction of its sweep's steps: the evidence
  of the scoreboard's "Train once" row.

Every variant is evaluated on the same 10-β grid of [0.01, 10]. With a ``parallel`` profile (the quick
one) on a CPU, every model trains on one thread, one per core side by side, as the book's Figure 1 panel
does, so ``equal x1`` is that panel's MR-VAE and β-VAEs, float for float (:mod:`mrvae.training.pool`).
Models are cached under
``runs/<profile>/<source digest>/gap_study/``, so a rerun resumes. The whole study takes longer than CI allows, so
chapter 3 shows the committed JSON with its provenance.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mrvae_companion.panel_result import PanelResult

REPO = Path(__file__).resolve().parent.parent
GATE_MULTIPLIERS = (1.0, 10.0, 100.0)
WIDER_RANGE = (0.001, 10.0)


def _summary(result: PanelResult, mr_steps: int, beta_vae_steps: int, seconds: float) -> dict[str, Any]:
    response, rows = result.response, result.comparisons["constant"]
    return {"mr_vae_steps": mr_steps, "beta_vae_steps": beta_vae_steps, "rate_ratio": response.rate_ratio,
            "median_gap": response.median_gap["constant"], "worst_gap": response.worst_gap["constant"],
            "worst_gap_beta": max(rows, key=lambda row: row.gap).beta,
            "rate_coverage": response.rate_coverage["constant"],
            "median_gap_low_betas": statistics.median(row.gap for row in rows[: len(rows) // 2]),
            "median_gap_high_betas": statistics.median(row.gap for row in rows[len(rows) // 2:]),
            "betas": [row.beta for row in rows], "gaps": [row.gap for row in rows],
            "best_test_elbo": dict(result.best_test_elbo), "mr_vae_train_seconds": seconds}


def _over_seeds(variants: dict[str, dict[str, Any]], longer: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The 1× runs and the longer-MR-VAE runs summarised over their seeds: ``metrics.seeds``
    (median gap, and the number of β at which the MR-VAE is worse, per budget) and
    ``metrics.train_once`` (each MR-VAE budget as a fraction of its sweep's steps)."""
    from mrvae_companion.seeds import summarize

    first_equal = next(v for v in variants.values() if v["group"] == "equal")  # 1x, the first seed
    groups = {"x1": [first_equal, *(v for v in variants.values() if v["group"] == "seed")],
              f"x{longer}_vs_x1": [v for v in variants.values() if v["group"] == "mr_vae_longer"]}
    seeds: dict[str, Any] = {}
    train_once = []
    for key, runs in groups.items():
        order = [v["seed"] for v in runs]
        seeds[f"median_gap_{key}"] = summarize([v["median_gap"] for v in runs], order).to_json()
        seeds[f"worse_at_{key}"] = summarize([sum(g > 0 for g in v["gaps"]) for v in runs], order).to_json()
        first = runs[0]
        sweep_steps = len(first["betas"]) * first["beta_vae_steps"]
        train_once.append({"mr_vae_steps": first["mr_vae_steps"], "sweep_steps": sweep_steps,
                           "fraction": first["mr_vae_steps"] / sweep_steps, "betas": len(first["betas"]),
                           "median_gap": f"median_gap_{key}", "worse_at": f"worse_at_{key}"})
    return seeds, train_once


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="quick", help="image profile whose headline panel is studied")
    parser.add_argument("--budgets", type=int, nargs="+", default=[1, 2, 4],
                        help="multiples of the profile's epochs trained by both model kinds (first: the profile's)")
    parser.add_argument("--train-images", type=int, default=None, help="override the panel's subset (tests)")
    parser.add_argument("--out-dir", type=Path, default=None, help="default: the repository's figures/")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="seeds of the 1x and the longer-MR-VAE runs (the first: every other variant's)")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    if sorted(set(args.budgets)) != args.budgets or args.budgets[0] != 1 or len(args.budgets) < 2:
        parser.error(f"--budgets must start at 1 and increase, with two or more, got {args.budgets}")
    if len(set(args.seeds)) != len(args.seeds):
        parser.error(f"--seeds must be distinct, got {args.seeds}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mrvae.hyper.gates import BetaRange
    from mrvae_companion.experiments import (
        PAPER_BETA_RANGE,
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
        legend_below,
        plot_gap_study,
        save_figure,
        use_book_style,
    )
    from mrvae_companion.panel_result import PanelResult
    from mrvae_companion.profiles import image_profile
    from mrvae_companion.runner import runner_for
    from mrvae_companion.runtime import Stopwatch, pick_device, run_directory, seed_everything

    first_seed = args.seeds[0]
    seed_everything(first_seed)
    device = pick_device()
    settings = image_profile(args.profile)
    base = settings.experiment(*settings.headline, seed=first_seed)
    if args.train_images is not None:
        base = dataclasses.replace(base, train_images=args.train_images, test_images=args.train_images)
    run_dir = run_directory(args.profile, "gap_study")
    quiet = lambda line: None  # noqa: E731
    replicates = [dataclasses.replace(base, seed=s) for s in args.seeds[1:]]  # own subsets, init and batches
    data = {exp.seed: load_experiment_data(exp) for exp in (base, *replicates)}

    def at(budget: int, exp=base, **changes: Any):
        return dataclasses.replace(exp, epochs=exp.epochs * budget, **changes)

    longer = args.budgets[1]
    paper = PAPER_BETA_RANGE
    # (group, name, the MR-VAE's experiment, its β range, the β-VAEs' experiment it is scored against)
    studied = [*(("equal", f"equal x{b}", at(b), paper, at(b)) for b in args.budgets),
               *(("seed", f"equal x1, seed {r.seed}", r, paper, r) for r in replicates),
               ("mr_vae_longer", f"mr_vae x{longer} vs x1", at(longer), paper, at(1)),
               *(("mr_vae_longer", f"mr_vae x{longer} vs x1, seed {r.seed}", at(longer, r), paper, at(1, r))
                 for r in replicates),
               *(("gate_lr", f"gate lr x{m:g} at x{longer}", at(longer, hyper_lr_multiplier=m), paper, at(longer))
                 for m in GATE_MULTIPLIERS),
               ("wider_range", f"range {WIDER_RANGE[0]:g}-{WIDER_RANGE[1]:g}", at(1), BetaRange(*WIDER_RANGE),
                at(1))]
    sweep_exps = list(dict.fromkeys(versus for *_, versus in studied))

    def jobs(root: Path) -> list[Callable[[], None]]:
        todo = [(exp.epochs, job) for exp in sweep_exps
                for job in beta_vae_jobs(exp, data[exp.seed], baseline_betas(), annealed=False, run_dir=root,
                                         device=device)]
        todo += [(exp.epochs, mr_vae_job(exp, data[exp.seed], beta_range, run_dir=root, device=device))
                 for exp, beta_range in dict.fromkeys((exp, r) for _, _, exp, r, _ in studied)]
        todo.sort(key=lambda pair: -pair[0])  # longest first, so that no core idles at the end
        return [job for _, job in todo]

    def collect(root: Path | None, finished: bool) -> dict[str, dict[str, Any]]:
        sweeps = {exp: fit_beta_vaes(exp, data[exp.seed], baseline_betas(), annealed=False, run_dir=root,
                                     device=device, log=quiet, load_finished=finished) for exp in sweep_exps}
        variants: dict[str, dict[str, Any]] = {}
        for group, name, exp, beta_range, versus in studied:
            model, trained = fit_mr_vae(exp, data[exp.seed], beta_range=beta_range, run_dir=root, device=device,
                                        log=quiet, load_finished=finished)
            result = PanelResult.evaluate(model, sweeps[versus], None, data[exp.seed].test,
                                          source=data[exp.seed].source, seed=exp.seed)
            seconds = sum(h["seconds"] for h in trained.history)
            train_size = data[exp.seed].train.shape[0]
            variants[name] = {"group": group, "seed": exp.seed,
                              **_summary(result, exp.steps(train_size), versus.steps(train_size), seconds)}
            print(f"{name:<24} median gap {variants[name]['median_gap']:+.1%}, worst "
                  f"{variants[name]['worst_gap']:+.1%}, coverage {variants[name]['rate_coverage']:.2f}", flush=True)
        return variants

    with Stopwatch() as clock:  # one thread per model, as the book's Figure 1 panel trains
        variants = runner_for(settings.workers, device).run(jobs, collect, run_dir=run_dir)

    use_book_style()
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 3.6), layout="constrained")
    plot_gap_study(axes, variants)
    legend_below(fig, axes[1], ncol=2)
    command = "make gap-study" if not argv else " ".join(["python", "scripts/run_gap_study.py", *argv])
    seeds, train_once = _over_seeds(variants, longer)
    path = save_figure(
        fig, "gap_study", figure="Study: the Figure 1 gap", notebook="scripts/run_gap_study.py",
        profile=args.profile, data={"source": data[base.seed].source},
        metrics={"variants": variants, "target_median_gap": 0.03, "seeds": seeds, "train_once": train_once},
        provenance=committed_run_provenance(seed=first_seed, config={"experiment": base, "budgets": args.budgets,
                                                                     "seeds": args.seeds,
                                                                     "gate_multipliers": GATE_MULTIPLIERS,
                                                                     "wider_range": WIDER_RANGE},
                                            device=device, wall_seconds=clock.seconds, command=command),
        directory=args.out_dir or committed_figure_dir())
    print(f"wrote {path}; {clock.seconds / 60:.0f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
