"""The authors' published demo, rerun with this package: one MR-VAE against four β-VAEs.

The authors' README ("What you should see", ``pomonam/mr-vae`` at bcde9dc) publishes a table of
rate and distortion per β for one MR-VAE and four β-VAEs at β ∈ {0.01, 0.1, 1, 10}: the whole
binary MNIST training split (50,000 images), ResNet encoder and decoder, 8 epochs, batch 64,
Adam at a constant 1e-3, every model with the same budget. This script trains the same set-up:

* ``authors``: the MR-VAE as their code builds it (``GatePlacement(init="authors")``: every gate's
  ``w, c ~ U(-1, 1)``, their ``nn.Linear(1, C)`` default, so about half of the decoder's ``sqrt``
  gates start closed; gates at the network's learning rate);
* ``authors-shifted``: the same with the decoder's ``sqrt`` gates shifted open
  (``init="uniform"``: ``c`` lowered by ``1 + sqrt(3)``, so that none starts closed);
* ``ours``: the package's defaults (gates start open, 30× gate learning rate), the recipe the
  book's chapters use at their shorter budgets;
* the four β-VAEs (constant β).

and writes ``figures/authors_demo.{png,json}``: their published numbers beside ours, with
``D + βR`` for every model (the objective each β-VAE minimises) and each MR-VAE's gap to the
β-VAE in it. Their "gap" column compares distortion alone, at different rates.

    make authors-demo            # about 2 h on 2 cores (3-4 min per epoch per model, one thread each); resumes

Models are checkpointed under ``runs/demo/``; an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def training_minutes(folder: Path) -> dict[str, float]:
    """Minutes each model below ``folder`` trained, summed over the epoch timings its checkpoint
    keeps (so a run resumed or assembled from several processes still reports its training)."""
    import torch

    minutes = {}
    for path in sorted(folder.rglob("checkpoint.pt")):
        state = torch.load(path, map_location="cpu", weights_only=False)  # written by this package
        minutes[path.parent.relative_to(folder).as_posix()] = sum(h["seconds"] for h in state["histories"][0]) / 60
    return minutes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-only", action="store_true", help="train (or resume) and stop before evaluating")
    parser.add_argument("--train-images", type=int, default=None,
                        help="a subset of the training and test splits instead of the whole ones (smoke tests)")
    parser.add_argument("--epochs", type=int, default=8, help="epochs per model (the demo's 8)")
    parser.add_argument("--out-dir", type=Path, default=None, help="default: the repository's figures/")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    if args.train_images is not None and args.train_images < 2:
        parser.error(f"--train-images must be at least 2, got {args.train_images}")
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mrvae.metrics import evaluate
    from mrvae.models.benchmark import GatePlacement
    from mrvae.training.pool import cpu_workers, run_jobs
    from mrvae_companion.demo import (
        DEMO_BETAS,
        PUBLISHED_BETA_VAE,
        PUBLISHED_MR_VAE,
        PUBLISHED_SOURCE,
        demo_rows,
        plot_authors_demo,
    )
    from mrvae_companion.experiments import (
        PAPER_BETA_RANGE,
        ImageExperiment,
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
    from mrvae_companion.runtime import Stopwatch, pick_device, run_directory, seed_everything

    seed_everything(args.seed)
    device = pick_device()
    # The authors' demo: whole splits, full width, 8 epochs at batch 64, constant Adam 1e-3.
    common = {"width": 1.0, "epochs": args.epochs, "batch_size": 64, "lr": 1e-3, "lr_warmup_epochs": 0,
              "cosine_decay": False, "seed": args.seed, "train_images": args.train_images,
              "test_images": args.train_images}
    authors = ImageExperiment("binary_mnist", "resnet", hyper_lr_multiplier=1.0, **common)
    variants = {"authors": (authors, GatePlacement(init="authors")),
                "authors-shifted": (authors, GatePlacement(init="uniform")),
                "ours": (ImageExperiment("binary_mnist", "resnet", **common), GatePlacement())}
    baseline = variants["authors"][0]  # the β-VAEs do not depend on the MR-VAE's gate settings
    data = load_experiment_data(baseline)
    run_dir = run_directory("demo", "images")
    workers = cpu_workers(None if device.type == "cuda" else 2, device)
    with Stopwatch() as clock:
        jobs = [*(mr_vae_job(exp, data, PAPER_BETA_RANGE, placement, run_dir=run_dir, device=device)
                  for exp, placement in variants.values()),
                *beta_vae_jobs(baseline, data, DEMO_BETAS, annealed=False, run_dir=run_dir, device=device)]
        if workers is not None:
            run_jobs(jobs, workers)
        else:
            for job in jobs:
                job()
        if args.train_only:
            return 0
        # Every model was trained above (here or resumed): load them, and train nothing more.
        mr_vaes = {name: fit_mr_vae(exp, data, placement=placement, run_dir=run_dir, device=device, log=print,
                                    load_finished=True)
                   for name, (exp, placement) in variants.items()}
        beta_vaes = fit_beta_vaes(baseline, data, DEMO_BETAS, annealed=False, run_dir=run_dir, device=device,
                                  load_finished=True)
        mr_points = {name: {b: evaluate(model, data.test, b, seed=args.seed) for b in DEMO_BETAS}
                     for name, (model, _) in mr_vaes.items()}
        curves = {name: [evaluate(model, data.test, float(b), seed=args.seed) for b in PAPER_BETA_RANGE.grid(10)]
                  for name, (model, _) in mr_vaes.items()}
        beta_vae_points = {b: evaluate(model, data.test, b, seed=args.seed) for b, model in beta_vaes.items()}
    rows = demo_rows(mr_points, beta_vae_points)
    steps = baseline.steps(data.train.shape[0])

    use_book_style()
    fig, ax = plt.subplots(figsize=(5.2, 3.8), dpi=150)
    plot_authors_demo(ax, rows, curves)
    ax.legend(fontsize=7)
    fig.tight_layout()
    mr_gaps = {name: {str(r["beta"]): r["gap"] for r in rows if r["model"] == f"MR-VAE ({name})"} for name in variants}
    save_figure(
        fig, "authors_demo", figure="The authors' demo, side by side", notebook="scripts/run_authors_demo.py",
        profile="demo",
        data={"rows": rows, "curves": curves, "published": {"mr_vae": {str(k): v for k, v in PUBLISHED_MR_VAE.items()},
                                                             "beta_vae": {str(k): v for k, v in
                                                                          PUBLISHED_BETA_VAE.items()},
                                                             "source": PUBLISHED_SOURCE},
              "source": data.source},
        metrics={"gap_in_objective": mr_gaps,
                 "published_gap_in_objective": {str(r["beta"]): r["published_gap"] for r in rows
                                                if r["model"] == "MR-VAE (authors)"},
                 "budget": {"train_images": data.train.shape[0], "test_images": data.test.shape[0],
                            "epochs": baseline.epochs, "batch_size": baseline.batch_size, "steps_per_model": steps,
                            "train_minutes": training_minutes(run_dir / baseline.key)}},
        provenance=committed_run_provenance(
            seed=args.seed, config={name: {"experiment": exp, "placement": placement}
                                    for name, (exp, placement) in variants.items()},
            device=device, wall_seconds=clock.seconds,
            command="make authors-demo" if not argv else " ".join(["python", "scripts/run_authors_demo.py", *argv])),
        notes="Rates and distortions in nats on the whole binary MNIST test split (10,000 images), one "
              "reparameterised sample per image. The authors scored 640-2,560 shuffled test images.",
        directory=args.out_dir or committed_figure_dir(),
    )
    for row in rows:
        print({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
