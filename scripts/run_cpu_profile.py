"""Train one panel of the `cpu` profile (full-width networks, full training sets) and commit-ready
figure data: ``figures/cpu_<dataset>_<kind>.{png,json}``.

    make cpu-profile PANEL="binary_mnist resnet"      # Figure 1's panel, about 70 min on 2 cores
    .venv/bin/python scripts/run_cpu_profile.py omniglot conv

Models are checkpointed every epoch under ``runs/cpu/``, so an interrupted run resumes. Run one
panel at a time: two trainings on two cores slow each other down many times over.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

#: Appendix Table 2, the lowest test negative ELBO (nats): (β-VAE, MR-VAE).
TABLE_2 = {("binary_mnist", "resnet"): (89.63, 87.89), ("binary_mnist", "conv"): (96.35, 93.51),
           ("omniglot", "resnet"): (111.07, 107.78), ("omniglot", "conv"): (114.73, 110.98)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", choices=["binary_mnist", "omniglot"])
    parser.add_argument("kind", choices=["conv", "resnet"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault("MRVAE_FIGURE_DIR", str(REPO / "figures"))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mrvae_companion.figures import committed_run_provenance, plot_panel, save_figure
    from mrvae_companion.panel_result import PanelResult
    from mrvae_companion.panels import train_image_experiments
    from mrvae_companion.profiles import image_profile
    from mrvae_companion.runtime import Stopwatch, pick_device, run_directory, seed_everything

    seed_everything(args.seed)
    device = pick_device()
    settings = image_profile("cpu")
    with Stopwatch() as clock:
        panels, not_run = train_image_experiments(settings, (args.kind,), datasets=(args.dataset,), seed=args.seed,
                                                  run_dir=run_directory("cpu", "images"), device=device)
        if not_run:
            print(f"not run: {not_run}", file=sys.stderr)
            return 1
        panel = panels[(args.dataset, args.kind)]
        result = PanelResult.evaluate(panel.mr_vae, panel.constant, panel.annealed, panel.data.test,
                                      source=panel.data.source, seed=args.seed)
    exp = panel.experiment
    paper_beta_vae, paper_mr_vae = TABLE_2[(args.dataset, args.kind)]
    elbo = dict(result.best_test_elbo)
    comparison = {"ours": elbo, "table2": {"beta_vae": paper_beta_vae, "mr_vae": paper_mr_vae},
                  "excess_over_table2": {"mr_vae": elbo["mr_vae"] - paper_mr_vae,
                                         "beta_vae": min(elbo["constant"], elbo["annealed"]) - paper_beta_vae}}
    fig, ax = plt.subplots(figsize=(6, 4.5))
    plot_panel(ax, result, title=f"cpu profile: {exp.tag}, {exp.steps(panel.data.train.shape[0])} steps per model")
    ax.legend()
    fig.tight_layout()
    path = save_figure(
        fig, f"cpu_{args.dataset}_{args.kind}", figure="Figure 1" if exp.kind == "resnet" and
        args.dataset == "binary_mnist" else "Figure 5 (panel)", notebook="scripts/run_cpu_profile.py",
        profile="cpu", data={"panels": {exp.tag: result.to_json()}},
        metrics={"response": result.response.to_json(), "best_test_elbo": comparison,
                 "budget": {"train_images": panel.data.train.shape[0], "test_images": panel.data.test.shape[0],
                            "epochs": exp.epochs, "steps": exp.steps(panel.data.train.shape[0]),
                            "mr_vae_train_seconds": panel.mr_train_seconds}},
        provenance=committed_run_provenance(seed=args.seed, config={"experiment": exp, "profile": settings.describe()},
                                            device=device, wall_seconds=clock.seconds,
                                            command=f"make cpu-profile PANEL=\"{args.dataset} {args.kind}\""),
    )
    response = result["response"]
    print(f"{exp.tag}: R(a)/R(b) {response['rate_ratio']:.1f}, median gap {response['median_gap']['constant']:+.1%} "
          f"(constant) {response['median_gap']['annealed']:+.1%} (annealed); best test -ELBO MR-VAE "
          f"{elbo['mr_vae']:.2f} vs Table 2 {paper_mr_vae}, β-VAEs {min(elbo['constant'], elbo['annealed']):.2f} "
          f"vs {paper_beta_vae}; {clock.seconds / 60:.0f} min; wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
