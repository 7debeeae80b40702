# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Figures 5 and 1: rate–distortion curves of deep VAEs
#
# Section 5.2 claims that **one** MR-VAE training run gives a test rate–distortion curve as good
# as a sweep of 10 separately trained β-VAEs, for conv and ResNet VAEs on five image datasets.
# Figure 1 is the headline panel: a ResNet on binary MNIST, MR-VAE against β-VAEs trained with
# and without KL annealing {cite:p}`bowman2016generating`.
#
# **What this chapter finds.** One MR-VAE per panel does learn a response to β: on Figure 1's
# panel its rate falls by a factor of {glue:text}`headline_span:,.0f` from β = 0.01 to 10. It
# is close to the sweep but behind it, and most behind at small β: over
# {glue:text}`seed_count:.0f` seeds its median gap in $D + \beta R$ to the constant-β β-VAEs is
# {glue:text}`seeds_median_gap_median:+.1f`% (range {glue:text}`seeds_median_gap_low:+.1f`% to
# {glue:text}`seeds_median_gap_high:+.1f`%), and at β = {glue:text}`headline_low_beta:.2g` it
# spends {glue:text}`headline_low_mr_rate:.0f` nats where the β-VAE spends
# {glue:text}`headline_low_beta_vae_rate:.0f`. The authors' own published demo, rerun here in
# its exact setting ({ref}`authors-demo`), has the same order: its β-VAEs are ahead in
# $D + \beta R$ at all four β, by {glue:text}`demo_published_gap_median:+.1f`% at the median.
#
# **Set-up (all profiles).** The networks are the authors' (`mrvae.models.benchmark`), who take
# them from the pythae benchmark of {cite:t}`chadebec2022pythae`
# ([code](https://github.com/clementchadebec/benchmark_VAE)): at full width
# the plain β-VAEs have the parameter counts of the paper's Appendix Table 1 (printed below).
# The conv nets have a BatchNorm after every hidden conv, the ResNets none. The MR-VAE gates
# follow the authors' placement: after the BatchNorm (`Conv → BN → gate → ReLU`), on both convs
# of every residual block, and not on the μ/log σ² heads, the decoder's first linear layer or
# its output layer. The gate is a sigmoid in the encoder and $\sqrt{\mathrm{ReLU}(1-e^{x})}$ in
# the decoder (Eq. 7). Gates start open and β-independent, and train at 30× the learning rate of
# the other weights: the defaults that the *Learning the β response* chapter chose on
# validation images, so the test images below score them for the first time. The
# MR-VAE samples $\log\beta \sim U[\log 0.01, \log 10]$ per example. The baselines are 10
# β-VAEs at $\beta = $ `logspace(-2, 1, 10)`, once with a constant β and once with KL annealing
# (β rises linearly over the first 10% of training; in the quick profile, on Figure 1's panel
# only). Every model of a panel gets the same
# budget: epochs, batch size and Adam with a linear learning-rate warm-up, then cosine decay.
# At one seed each β-VAE starts from its own weights, drawn in the order of the β grid, and
# every model of the panel sees the same batches.
#
# **Likelihoods.** Binary MNIST, in its static binarisation {cite:p}`larochelle2011neural`, and
# Omniglot {cite:p}`lake2015human`, dynamically re-binarised at 28×28, use a Bernoulli decoder. CIFAR-10
# {cite:p}`krizhevsky2009learning`, SVHN {cite:p}`netzer2011reading` and CelebA {cite:p}`liu2015deep`
# use a Gaussian decoder with a
# fixed variance σ² = ½, so the distortion is the summed squared error over pixels in [0, 1], as
# in the authors' code.
#
# **What the quick profile changes.** It is sized for a 2-core CPU; the table below gives each
# panel's width, data and number of Adam steps. The 28×28 panels (binary MNIST, Omniglot) train
# every model for 1,000 steps (8,000 images, batch 64, 8 epochs, learning rate 3e-3) at 1/8
# (conv) and 1/4 (ResNet) of the paper's widths. The RGB panels cost several times more per
# step, so they get 2,000 images (CelebA 1,000), 4 epochs and narrower networks: a pipeline
# check, not a test of the claim ({ref}`measured below <rgb-budget>`), so their β-VAEs train at
# the four decades β = 0.01, 0.1, 1 and 10 only. Only Figure 1's panel trains the KL-annealed sweep; every
# other panel compares the MR-VAE with the constant-β sweep alone, the sweep whose gap the
# targets below are set on. So that the whole book builds in 50 minutes on 2 CPU cores, the β-VAEs the verdicts lean on least
# also train at the four decades only: the conv panels' sweeps and Figure 1's KL-annealed sweep.
# The ResNet panels keep all 10 constant-β β-VAEs. These models are far from converged, so the figures test the
# *comparison* under a small equal budget, not the paper's absolute numbers. A dataset whose
# files are not available offline is not run, and the figures leave it out (in this build:
# {glue:text}`not_run_datasets`). The `cpu` profile trains the paper's full-width 28×28 networks on the
# full training sets, and the `paper` profile (a GPU) everything at the paper's size for 200
# epochs.

# %% tags=["parameters"]
profile = "quick"  # "quick" (CPU, a few minutes) or "paper" (full size; a GPU, many hours)
seed = 0

# %% tags=["hide-input"]
import dataclasses
import math
import statistics

import matplotlib.pyplot as plt
import pandas as pd
import torch
from IPython.display import HTML, display
from myst_nb import glue

from mrvae_companion.demo import plot_authors_demo
from mrvae_companion.explorer import explorer_frames, explorer_html
from mrvae_companion.experiments import BINARY_DATASETS, PAPER_BETA_RANGE
from mrvae_companion.panels import train_image_experiments
from mrvae_companion.profiles import image_profile
from mrvae_companion.panel_metrics import response_metrics
from mrvae_companion.panel_result import BetaComparison, PanelResult
from mrvae_companion.figures import (
    committed_run,
    glue_figure,
    legend_below,
    mark_not_run,
    plot_gap_over_seeds,
    plot_panel,
    provenance,
    save_figure,
    use_book_style,
)
from mrvae_companion.prose import glue_number, panel_label, panel_title, two_digits, yes_no
from mrvae_companion.runtime import Stopwatch, pick_device, run_directory, seed_everything
from mrvae_companion.scoreboard import DATASET_NAMES
from mrvae_companion.seeds import SeedSummary, summarize_responses
from mrvae.hyper import beta_gates
from mrvae.hyper.convert import count_parameters
from mrvae.models.benchmark import SUPPORTED_SHAPES, ArchitectureConfig, build_mr_vae, build_vae

settings = image_profile(profile)
seed_everything(seed)
device = pick_device()
KINDS = ("conv", "resnet")
runs = run_directory(profile, "images")
clock = Stopwatch().__enter__()
use_book_style()
print(f"profile {profile}")


# %% [markdown]
# ## Training
#
# Each (dataset, architecture) pair trains one MR-VAE and a sweep of 10 β-VAEs with a constant
# β (in the quick profile, the conv panels and the RGB pipeline checks: 4, one per decade); the
# panels that also get the KL-annealed sweep (all in the `paper` and `cpu` profiles, Figure 1's
# in the quick one, at the decades) train 10 more (4).
# Models are cached under `runs/`, keyed by the package's source, so the Figure 6, 7 and
# Section 5.3 notebooks reuse them rather than train again.

# %% tags=["nbval-ignore-output", "hide-input", "remove-output"]
panels, not_run = train_image_experiments(settings, KINDS, seed=seed, replicates=True, run_dir=runs, device=device)

# %% tags=["hide-input", "nbval-ignore-output"]
budgets = {}
for panel in panels.values():
    exp, n_train = panel.experiment, panel.data.train.shape[0]
    budgets[exp.tag] = {"width": exp.width, "train_images": n_train, "test_images": panel.data.test.shape[0],
                        "batch_size": exp.batch_size, "epochs": exp.epochs, "steps": exp.steps(n_train), "lr": exp.lr}
display(pd.DataFrame([
    {"panel": panel_label(tag), "width": f"{b['width']:.4g}", "train images": f"{b['train_images']:,}",
     "test images": f"{b['test_images']:,}", "batch": b["batch_size"], "epochs": b["epochs"],
     "Adam steps": f"{b['steps']:,}", "lr": f"{b['lr']:.0e}"}
    for tag, b in budgets.items()
]).set_index("panel"))

# %% [markdown]
# ## Test-set rate–distortion, and the per-β comparison
#
# For each β of the sweep the table gives the test rate R and distortion D (nats per image, one
# posterior sample) of the MR-VAE evaluated at β and of the β-VAE trained at β, and the relative
# gap in $D + \beta R$: $(L_{\text{MR}} - L_{\beta\text{-VAE}}) / |L_{\beta\text{-VAE}}|$. A
# negative gap means the MR-VAE is better.

# %% tags=["nbval-ignore-output", "hide-input"]
results = {key: PanelResult.evaluate(panel.mr_vae, panel.constant, panel.annealed, panel.data.test,
                                     source=panel.data.source, seed=seed)
           for key, panel in panels.items()}
# Figure 1's panel at its other seeds: each scored on its own test subset.
replicates = {extra: PanelResult.evaluate(p.mr_vae, p.constant, None, p.data.test, source=p.data.source, seed=extra)
              for extra, p in panels[settings.headline].replicates.items()} if settings.headline in panels else {}

NOT_TRAINED = "—"  # a sweep this profile does not train for the panel


def sweep_columns(sweep: str, row: BetaComparison | None) -> dict:
    """R, D and gap of one β-VAE at one β, or dashes where the panel has no such sweep."""
    return {(sweep, "R"): f"{row.rate:.2f}" if row else NOT_TRAINED,
            (sweep, "D"): f"{row.distortion:.2f}" if row else NOT_TRAINED,
            (sweep, "gap"): f"{row.gap:+.1%}" if row else NOT_TRAINED}


def sweep_rows(result: PanelResult) -> list[BetaComparison]:
    """The per-β rows of every β-VAE sweep the panel trained (constant β, and annealed if any)."""
    return [row for rows in result.comparisons.values() for row in rows]


def rows_by_beta(result: PanelResult) -> list[tuple[BetaComparison | None, BetaComparison | None]]:
    """(constant-β row, annealed row) at every β where the panel trained a β-VAE; None where one
    sweep has no β-VAE at that β (the quick profile trains some sweeps at the decades only)."""
    by_sweep = [{row.beta: row for row in result.comparisons.get(name, ())} for name in ("constant", "annealed")]
    return [(by_sweep[0].get(b), by_sweep[1].get(b)) for b in sorted(by_sweep[0].keys() | by_sweep[1].keys())]


per_beta = pd.DataFrame([
    {("panel", ""): panel_label(panels[key].experiment.tag), ("β", ""): f"{mr.beta:.3f}",
     ("MR-VAE", "R"): f"{mr.mr_rate:.2f}", ("MR-VAE", "D"): f"{mr.mr_distortion:.2f}",
     **sweep_columns("β-VAE, constant β", c), **sweep_columns("β-VAE, KL annealing", a)}
    for key, result in results.items()
    for c, a in rows_by_beta(result) for mr in [c or a]
])
per_beta.columns = pd.MultiIndex.from_tuples(per_beta.columns)
with pd.option_context("display.max_rows", None):
    display(per_beta.set_index([("panel", ""), ("β", "")]).rename_axis(["panel", "β"]))

# %% [markdown]
# ## Did the MR-VAE learn its β response?
#
# Per panel: the rate span $R(a)/R(b)$ of the MR-VAE over its 20-point grid, whether its rate
# falls monotonically with β (within 1%), the median and worst relative gap in $D + \beta R$
# to the β-VAE trained at each β of the sweep, per schedule (a dash where the panel has no annealed
# sweep), and the *coverage*: the MR-VAE's rate
# at β = 0.01 over that of the constant-β β-VAE trained there (near 1: the MR-VAE reaches the
# sweep's high-rate end). The values are rounded to what holds from run to run; the figure JSON
# keeps them unrounded under `metrics.response`.

# %% tags=["hide-input", "nbval-ignore-output"]
response = {}
rows = []
for key, result in sorted(results.items(), key=lambda item: item[0]):
    metrics_ = result.response
    response[panels[key].experiment.tag] = metrics_.to_json()
    med, worst, sweeps = metrics_.median_gap, metrics_.worst_gap, metrics_.beta_vae_monotone
    rows.append({("panel", ""): panel_label(panels[key].experiment.tag),
                 ("rate span", ""): two_digits(metrics_.rate_ratio), ("monotone", ""): yes_no(metrics_.monotone),
                 **{("median gap", s): f"{med[s]:+.0%}" if s in med else NOT_TRAINED for s in ("constant", "annealed")},
                 **{("worst gap", s): f"{worst[s]:+.0%}" if s in worst else NOT_TRAINED for s in ("constant", "annealed")},
                 ("coverage", ""): f"{metrics_.rate_coverage['constant']:.1f}",
                 **{("β-VAEs monotone", s): yes_no(sweeps[s]) if s in sweeps else NOT_TRAINED
                    for s in ("constant", "annealed")}})
response_table = pd.DataFrame(rows)
response_table.columns = pd.MultiIndex.from_tuples(response_table.columns)
display(response_table.set_index(("panel", "")).rename_axis("panel"))

# %% [markdown]
# The targets this book sets for the quick profile: on the Figure 1
# panel a rate span of at least 10, a monotone rate, and a median gap to the constant-β β-VAEs
# of at most 3%; on every other 28×28 panel a rate span of at least 5.

# %% tags=["hide-input", "remove-output", "nbval-ignore-output"]
headline_tag = panels[settings.headline].experiment.tag
targets = {headline_tag: {"rate_ratio": 10.0, "median_gap_constant": 0.03, "monotone": True}}
for panel in panels.values():
    if panel.experiment.tag != headline_tag and panel.experiment.architecture().data_shape == (1, 28, 28):
        targets[panel.experiment.tag] = {"rate_ratio": 5.0}
target_met = {}
for tag, target in targets.items():
    got = response[tag]
    checks = [got["rate_ratio"] >= target["rate_ratio"]]
    if "median_gap_constant" in target:
        checks += [got["median_gap"]["constant"] <= target["median_gap_constant"], got["monotone"]]
    target_met[tag] = all(checks)
    print(f"{tag:<26} target {target}: {'met' if target_met[tag] else 'NOT met'}")

# %% tags=["remove-input", "nbval-ignore-output"]
# The numbers the prose below quotes, glued from this run.
small = {key: entry for key, entry in results.items() if key[0] in BINARY_DATASETS}
rgb = {key: entry for key, entry in results.items() if key[0] not in BINARY_DATASETS}
glue("not_run_datasets", ", ".join(DATASET_NAMES.get(d, d) for d in not_run) or "none", display=False)
if small:
    spans = [float(format(e.response.rate_ratio, ".2g")) for e in small.values()]
    glue_number("small_panels", len(small))
    glue_number("small_span_min", min(spans))
    glue_number("small_span_max", max(spans))
    glue_number("small_monotone", sum(e.response.monotone for e in small.values()))
    glue_number("small_sweeps", sum(len(e.response.beta_vae_monotone) for e in small.values()))
    glue_number("small_sweeps_monotone", sum(sum(e.response.beta_vae_monotone.values()) for e in small.values()))
    glue_number("small_worst_gap_beta_max", max(max(e.comparisons["constant"], key=lambda r: r.gap).beta
                                                for e in small.values()))
    high_beta_gaps = [row.gap for e in small.values() for row in sweep_rows(e) if row.beta >= 1.0]
    glue_number("small_high_beta_gap_min", 100 * min(high_beta_gaps))
    glue_number("small_high_beta_gap_max", 100 * max(high_beta_gaps))
    others = [tag for tag in targets if tag != headline_tag]
    if others:
        glue_number("other_panels", len(others))
        glue_number("other_targets_met", sum(target_met[tag] for tag in others))
        glue_number("other_median_gap_min", 100 * min(response[tag]["median_gap"]["constant"] for tag in others))
        glue_number("other_median_gap_max", 100 * max(response[tag]["median_gap"]["constant"] for tag in others))
if settings.headline in results:
    headline_entry = results[settings.headline]
    head = headline_entry.response
    head_rates = [p.rate for p in headline_entry.curve]
    head_rises = sum(later > earlier * 1.01 + 1e-9 for earlier, later in zip(head_rates, head_rates[1:]))
    target = targets[headline_tag]
    glue_number("headline_span", float(format(head.rate_ratio, ".2g")))
    glue_number("headline_rises", head_rises)
    glue_number("headline_grid_steps", len(head_rates) - 1)
    glue_number("headline_median_gap", 100 * head.median_gap["constant"])
    glue_number("headline_targets_met", sum([head.rate_ratio >= target["rate_ratio"], head.monotone,
                                             head.median_gap["constant"] <= target["median_gap_constant"]]))
    low = headline_entry.comparisons["constant"][0]
    glue_number("headline_low_beta", low.beta)
    glue_number("headline_low_mr_rate", low.mr_rate)
    glue_number("headline_low_beta_vae_rate", low.rate)
    glue_number("headline_coverage", head.rate_coverage["constant"])
if rgb:
    rgb_steps = [budgets[panels[key].experiment.tag]["steps"] for key in rgb]
    rgb_widths = [budgets[panels[key].experiment.tag]["width"] for key in rgb]
    glue_number("rgb_steps_min", min(rgb_steps))
    glue_number("rgb_steps_max", max(rgb_steps))
    glue_number("rgb_inverse_width_min", 1 / max(rgb_widths))
    glue_number("rgb_inverse_width_max", 1 / min(rgb_widths))
    glue_number("rgb_sweeps", sum(len(e.response.beta_vae_monotone) for e in rgb.values()))
    glue_number("rgb_sweeps_not_monotone", sum(not m for e in rgb.values()
                                               for m in e.response.beta_vae_monotone.values()))

    def highest_rate(result: PanelResult) -> float:
        """The largest test rate of any of the panel's models, at any β."""
        return max([p.rate for p in result.curve] + [r.rate for r in sweep_rows(result)])

    lowest_key = min(rgb, key=lambda key: highest_rate(rgb[key]))
    glue("rgb_lowest_rate_panel", panel_title(lowest_key), display=False)
    glue_number("rgb_lowest_rate_max", highest_rate(rgb[lowest_key]))


# %% tags=["hide-input", "nbval-ignore-output"]
def draw_rate_distortion(fig, datasets: list[str]) -> None:
    """One column per dataset, one row per architecture; a single note where no dataset ran."""
    if not datasets:
        mark_not_run(fig.subplots(), "", "no dataset of this group ran in this profile")
        return
    axes = fig.subplots(len(KINDS), len(datasets), squeeze=False)
    for col, dataset in enumerate(datasets):
        for row, kind in enumerate(KINDS):
            plot_panel(axes[row, col], results[(dataset, kind)], title=panel_title((dataset, kind)))
    legend_below(fig)


ran = [d for d in settings.datasets if d not in not_run]
groups = {"figure5_small": [d for d in ran if d in BINARY_DATASETS],
          "figure5_rgb": [d for d in ran if d not in BINARY_DATASETS]}
for key, datasets in groups.items():
    group_fig = plt.figure(figsize=(7.2, 5.6) if datasets else (7.2, 1.5), dpi=150, layout="constrained")
    draw_rate_distortion(group_fig, datasets)
    glue_figure(key, group_fig)

# Every panel that ran in one figure: the committed figures/figure5_rate_distortion.png.
fig = plt.figure(figsize=(3.0 * max(1, len(ran)), 5.6), layout="constrained")
draw_rate_distortion(fig, ran)
plt.close(fig)

# %% [markdown]
# ```{glue:figure} figure5_small
# :name: fig-figure5-28x28
#
# **The paper's Figure 5 (28×28 panels).** Test rate–distortion (nats per image) of one MR-VAE per panel,
# trained once over β ∈ [0.01, 10] and read at 20 β, against β-VAEs trained separately at each
# of 10 β, with a constant β and with KL annealing. Quick profile: 1/8 (conv) and 1/4 (ResNet)
# of the paper's widths, 8,000 training images, 1,000 Adam steps per model; the conv panels'
# β-VAEs at the four decades only, and the KL-annealed sweep on the binary MNIST ResNet panel
# (Figure 1) only, at the four decades.
# ```
#
# ```{glue:figure} figure5_rgb
# :name: fig-figure5-rgb
#
# **The paper's Figure 5 (RGB panels).** As {numref}`fig-figure5-28x28`, on the RGB datasets with a
# Gaussian decoder. Quick profile: 1/{glue:text}`rgb_inverse_width_max:.0f` to
# 1/{glue:text}`rgb_inverse_width_min:.0f` of the paper's widths and
# {glue:text}`rgb_steps_min:.0f`–{glue:text}`rgb_steps_max:.0f` Adam steps per model, constant-β
# β-VAEs at the four decades only: a pipeline check, not a test of the claim. Not run (files not available offline):
# {glue:text}`not_run_datasets`.
# ```
#
# (rgb-budget)=
# ### Why the RGB panels are pipeline checks
#
# Before calling the RGB panels pipeline checks we measured what more training gives them:
# `make rgb-budget` (`scripts/run_rgb_budget.py`) trained the CIFAR-10 and CelebA ResNet panels
# again, MR-VAE and 10 constant-β β-VAEs, at several multiples of the quick profile's epochs
# (same images and widths). The table gives the committed run against the Figure 5 rule: a rate
# span of at least 10 and a coverage of at least 0.5. The claims scoreboard names these panels
# and does not grade them.

# %% tags=["hide-input", "nbval-ignore-output"]
rgb_study = committed_run("rgb_budget", "make rgb-budget")
if rgb_study is not None:
    ran_rgb = rgb_study["provenance"]
    rgb_rows = [{"panel": panel_label(tag), "epochs ×": r["multiplier"], "Adam steps": f"{r['steps']:,}",
                 "rate span": two_digits(r["rate_ratio"]), "coverage": f"{r['rate_coverage']:.2f}",
                 "median gap": f"{r['median_gap']:+.0%}", "monotone": yes_no(r["monotone"])}
                for tag, rows in rgb_study["metrics"]["panels"].items() for r in rows]
    display(pd.DataFrame(rgb_rows).set_index(["panel", "epochs ×"]))
    # How long the run took changes with every rerun, so it is glued here, where nbval does not compare.
    glue_number("rgb_study_minutes", ran_rgb["wall_seconds"] / 60)

# %% tags=["remove-input"]
if rgb_study is not None:
    largest = [rows[-1] for rows in rgb_study["metrics"]["panels"].values()]
    glue_number("rgb_study_steps_max", max(r["steps"] for r in largest))
    glue_number("rgb_study_span_max", max(r["rate_ratio"] for r in largest))
    glue_number("rgb_study_coverage_max", max(r["rate_coverage"] for r in largest))
    glue_number("rgb_study_rule_met", sum(r["rate_ratio"] >= 10 and r["rate_coverage"] >= 0.5 for r in largest))
    glue_number("rgb_study_panels", len(largest))
    glue_number("rgb_study_multiplier", largest[0]["multiplier"])

# %% [markdown]
# Both spans and coverages grow with the budget: the panels are short of training, not of a
# method that fails. At {glue:text}`rgb_study_multiplier:.0f`× the quick epochs (up to
# {glue:text}`rgb_study_steps_max:,.0f` steps) the best span is
# {glue:text}`rgb_study_span_max:.0f` and the best coverage
# {glue:text}`rgb_study_coverage_max:.2f`, and {glue:text}`rgb_study_rule_met:.0f` of the
# {glue:text}`rgb_study_panels:.0f` panels reach both a span of 10 and a coverage of 0.5. The
# study took {glue:text}`rgb_study_minutes:.0f` minutes on 2 cores for these two panels alone;
# at that budget the RGB panels would not fit in the book's build beside the 28×28 panels. So the quick
# profile keeps them as pipeline checks, and the `paper` profile trains them at the paper's size.

# %% [markdown]
# ## Figure 1: ResNet on binary MNIST

# %% tags=["hide-input", "nbval-ignore-output"]
headline = results[settings.headline]
fig1, ax = plt.subplots(figsize=(5.6, 3.8), dpi=150)
for extra, replicate in replicates.items():  # the other seeds, faint, under seed 0's curve
    ax.plot([p.rate for p in replicate.curve], [p.distortion for p in replicate.curve], color="C0", lw=0.8,
            alpha=0.35, label=f"MR-VAE, seeds {', '.join(map(str, replicates))}" if extra == min(replicates) else None)
plot_panel(ax, headline, title="ResNet VAE, binary MNIST", mr_label=f"MR-VAE (one run, seed {seed})")
# Label the grid points nearest β = 0.01, 0.1, 1 and 10 only: the low-β end of the curve is
# flat, so labelling more of it stacks the labels on each other.
for target_beta in (0.01, 0.1, 1.0, 10.0):
    point = min(headline.curve, key=lambda p: abs(math.log10(p.beta / target_beta)))
    ax.annotate(f"β={point.beta:.2g}", (point.rate, point.distortion),
                textcoords="offset points", xytext=(4, 5))
ax.legend()
fig1.tight_layout()
glue_figure("figure1", fig1)

# %% [markdown]
# ```{glue:figure} figure1
# :name: fig-figure1-resnet
#
# **The paper's Figure 1.** The ResNet panel of {numref}`fig-figure5-28x28`: one MR-VAE read at 20 β (a few
# labelled) against β-VAEs trained at each of 10 β with a constant β, and at the four decades with
# KL annealing (quick profile). Faint lines: the MR-VAE trained again with {glue:text}`replicate_count:.0f` other seeds (their
# own training and test images, initialisation and batch order), each read on its own test
# images. Quick profile: 1/4 of the paper's width, 8,000 training images, 1,000 Adam steps per
# model.
# ```
#
# (beta-explorer)=
# ### One model, every β: the explorer
#
# The whole curve of {numref}`fig-figure1-resnet` is one network. Move the slider: the ring moves
# the MR-VAE along its curve, beside the β-VAEs (one network each), and the rows below show what
# that same network does at that β with eight fixed test images and with one fixed draw of
# $z \sim \mathcal{N}(0, I)$. At small β it keeps detail in the reconstructions at a high rate;
# at large β it spends few nats and its reconstructions blur toward the samples. The frames were
# rendered when this page was built, so the explorer needs no running kernel.

# %% tags=["hide-input", "nbval-ignore-output"]
headline_panel = panels[settings.headline]
trained_range = beta_gates(headline_panel.mr_vae)[0].beta_range  # the range its gates were trained over
explorer = explorer_frames(headline_panel.mr_vae, headline_panel.data.test, beta_range=trained_range, seed=seed)
display(HTML(explorer_html(explorer, baselines=[(row.beta, row.rate, row.distortion)
                                                for row in headline.comparisons["constant"]],
                               element_id="figure1-explorer", start=1.0)))

# %% [markdown]
# ### Over seeds
#
# A verdict that one more run could flip is not settled, so the quick profile trains Figure 1's
# panel {glue:text}`seed_count:.0f` times: seed {glue:text}`first_seed:.0f` above, with both
# β-VAE sweeps, and {glue:text}`replicate_count:.0f` more seeds with the MR-VAE and the
# constant-β β-VAEs at every other β of the sweep ({glue:text}`shared_beta_count:.0f` β, to fit
# the book's build time). Every seed is compared at those {glue:text}`shared_beta_count:.0f` β, so the
# median gaps below are over them, not over the 10 of the table above. The table gives each
# seed's numbers, and the last row their median and range. With 3 seeds the range covers the
# median of further reruns with probability 75%, whatever their distribution
# ({ref}`how-the-scoreboard-decides`); the claims scoreboard decides Figure 1 on these ranges.

# %% tags=["hide-input", "nbval-ignore-output"]
by_seed = {seed: headline, **replicates}
# Every seed is compared at the β its extra seeds trained β-VAEs at (every other β of the sweep).
shared_betas = {row.beta for row in next(iter(replicates.values()), headline).comparisons["constant"]}
seed_rows = {s: [dataclasses.asdict(row) for row in result.comparisons["constant"] if row.beta in shared_betas]
             for s, result in by_seed.items()}
seed_responses = {s: response_metrics([dataclasses.asdict(p) for p in result.curve], seed_rows[s])
                  for s, result in by_seed.items()}
seed_summary = summarize_responses(seed_responses, seed_rows)


def seed_row(label: str, span: float, median: float, worst: float, coverage: float, worse: str) -> dict:
    return {"seed": label, "rate span": two_digits(span), "median gap": f"{median:+.1%}", "worst gap": f"{worst:+.1%}",
            "coverage": f"{coverage:.2f}", "MR-VAE worse at": worse}


seed_table = [seed_row(str(s), r["rate_ratio"], r["median_gap"]["constant"], r["worst_gap"]["constant"],
                       r["rate_coverage"]["constant"], f"{sum(row['gap'] > 0 for row in seed_rows[s])} of "
                                                       f"{len(seed_rows[s])} β")
              for s, r in seed_responses.items()]


def median_and_range(name: str, fmt: str) -> str:
    summary = SeedSummary.from_json(seed_summary[name])
    return f"{summary.median:{fmt}} [{summary.low:{fmt}}, {summary.high:{fmt}}]"


seed_table.append({"seed": f"median [range], {len(by_seed)} seeds",
                   "rate span": median_and_range("rate_ratio", ".2g"),
                   "median gap": median_and_range("median_gap", "+.1%"),
                   "worst gap": median_and_range("worst_gap", "+.1%"),
                   "coverage": median_and_range("rate_coverage", ".2f"),
                   "MR-VAE worse at": median_and_range("worse_at", ".0f") + " β"})
display(pd.DataFrame(seed_table).set_index("seed"))
fig_seeds, ax = plt.subplots(figsize=(7.2, 3.0), dpi=150)
plot_gap_over_seeds(ax, seed_rows)
fig_seeds.tight_layout()
glue_figure("figure1_seeds", fig_seeds)

# %% tags=["remove-input", "nbval-ignore-output"]
glue_number("seed_count", len(by_seed))
glue_number("first_seed", seed)
glue_number("replicate_count", len(replicates))
glue_number("shared_beta_count", len(shared_betas))
for name in ("median_gap", "worst_gap"):
    summary = SeedSummary.from_json(seed_summary[name])
    for end in ("median", "low", "high"):
        glue_number(f"seeds_{name}_{end}", 100 * getattr(summary, end))
coverage_summary = SeedSummary.from_json(seed_summary["rate_coverage"])
glue_number("seeds_coverage_low", coverage_summary.low)
glue_number("seeds_coverage_high", coverage_summary.high)

# %% [markdown]
# ```{glue:figure} figure1_seeds
# :name: fig-figure1-seeds
#
# **The paper's Figure 1 over seeds.** The gap in $D + \beta R$ between the MR-VAE read at β and the
# β-VAE trained at β (constant β), at each of the {glue:text}`shared_beta_count:.0f` β that
# every seed trained, for each of the
# {glue:text}`seed_count:.0f` seeds (points), with their median (bar) and range (line).
# Positive: the MR-VAE is worse. Quick profile, as {numref}`fig-figure1-resnet`.
# ```
#
# Over the {glue:text}`seed_count:.0f` seeds the median gap is
# {glue:text}`seeds_median_gap_median:+.1f`% (range {glue:text}`seeds_median_gap_low:+.1f`% to
# {glue:text}`seeds_median_gap_high:+.1f`%) and the worst gap
# {glue:text}`seeds_worst_gap_median:+.1f`% ({glue:text}`seeds_worst_gap_low:+.1f`% to
# {glue:text}`seeds_worst_gap_high:+.1f`%); the MR-VAE's rate at β = 0.01 reaches
# {glue:text}`seeds_coverage_low:.2f`–{glue:text}`seeds_coverage_high:.2f` of the β-VAE's.

# %% [markdown]
# ## Figure 1 at the paper's width: the `cpu` profile
#
# The quick panel above is 1/4 of the paper's width on 8,000 images, trained at every build of this book. The
# `cpu` profile trains the same panel with the paper's full-width ResNet on all 50,000
# training images; at about {glue:text}`cpu_minutes:.0f` minutes on 2 CPU cores it is too long
# to run at every build, so it ran once, and its figure data are committed
# (`figures/cpu_binary_mnist_resnet.json`, with the commit, machine, date and wall time of the
# run). The cells below re-plot those data beside the quick panel and compare its best test
# ELBO with the paper's Table 2, where both models trained for 200 epochs. Rerun it with
# `make cpu-profile PANEL="binary_mnist resnet"`.

# %% tags=["hide-input"]
CPU_RUN = "cpu_binary_mnist_resnet"
cpu_run = committed_run(CPU_RUN, 'make cpu-profile PANEL="binary_mnist resnet"')
if cpu_run is not None:
    ran_cpu, budget = cpu_run["provenance"], cpu_run["metrics"]["budget"]
    (cpu_record,) = cpu_run["data"]["panels"].values()  # the one panel of the run
    cpu_panel = PanelResult.from_json(cpu_record, f"figures/{CPU_RUN}.json")
    cpu_response, elbo = cpu_panel.response.to_json(), cpu_run["metrics"]["best_test_elbo"]
    print(f"full-width ResNet, binary MNIST: {budget['train_images']:,} training images, {budget['epochs']} epochs = "
          f"{budget['steps']:,} Adam steps per model")
    print(f"R(a)/R(b) {cpu_response['rate_ratio']:.0f}, monotone {cpu_response['monotone']}, median gap "
          f"{cpu_response['median_gap']['constant']:+.1%} (constant β) {cpu_response['median_gap']['annealed']:+.1%} "
          f"(annealed), worst {cpu_response['worst_gap']['constant']:+.1%} / {cpu_response['worst_gap']['annealed']:+.1%}")
    best_beta_vae = min(elbo["ours"]["constant"], elbo["ours"]["annealed"])
    print(f"best test -ELBO (nats): MR-VAE {elbo['ours']['mr_vae']:.1f} (Table 2: {elbo['table2']['mr_vae']}), "
          f"β-VAEs {best_beta_vae:.1f} (Table 2: {elbo['table2']['beta_vae']})")

# %% tags=["remove-input", "nbval-ignore-output"]
if cpu_run is not None:
    PAPER_EPOCHS = 200  # Table 2's training
    worst_row = max(cpu_panel.comparisons["constant"], key=lambda r: r.gap)
    glue_number("cpu_minutes", ran_cpu["wall_seconds"] / 60)
    glue_number("cpu_train_images", budget["train_images"])
    glue_number("cpu_epochs", budget["epochs"])
    glue_number("cpu_epoch_percent", 100 * budget["epochs"] / PAPER_EPOCHS)
    glue_number("cpu_steps", budget["steps"])
    glue_number("cpu_span", cpu_response["rate_ratio"])
    glue_number("cpu_rate_low_beta", cpu_response["rate_at_a"])
    glue_number("cpu_rate_high_beta", cpu_response["rate_at_b"])
    glue_number("cpu_median_gap_constant", 100 * cpu_response["median_gap"]["constant"])
    glue_number("cpu_median_gap_annealed", 100 * cpu_response["median_gap"]["annealed"])
    glue_number("cpu_worst_gap", 100 * worst_row.gap)
    glue_number("cpu_worst_gap_beta", worst_row.beta)
    glue_number("cpu_elbo_mr_vae", elbo["ours"]["mr_vae"])
    glue_number("cpu_elbo_beta_vae", best_beta_vae)
    glue_number("table2_mr_vae", elbo["table2"]["mr_vae"])
    glue_number("table2_beta_vae", elbo["table2"]["beta_vae"])
    excess = elbo["excess_over_table2"]
    glue_number("cpu_excess_min", min(excess.values()))
    glue_number("cpu_excess_max", max(excess.values()))

# %% tags=["hide-input", "nbval-ignore-output"]
fig_cpu, axes = plt.subplots(1, 2, figsize=(7.2, 3.2), sharey=True, dpi=150)
plot_panel(axes[0], headline, title=f"{profile} profile (this build)")
if cpu_run is not None:
    plot_panel(axes[1], cpu_panel, title=f"cpu profile (ran {cpu_run['provenance']['finished_utc'][:10]})")
else:
    mark_not_run(axes[1], "cpu profile", f"figures/{CPU_RUN}.json is missing")
axes[0].legend()
axes[1].set_ylabel("")
fig_cpu.tight_layout()
glue_figure("figure1_cpu", fig_cpu)

# %% [markdown]
# ```{glue:figure} figure1_cpu
# :name: fig-figure1-cpu-profile
#
# **The paper's Figure 1, two budgets.** Left: {numref}`fig-figure1-resnet` (quick profile, trained in this build).
# Right: the committed `cpu` profile run, the paper's full-width ResNet on all
# {glue:text}`cpu_train_images:,.0f` training images for {glue:text}`cpu_epochs:.0f` epochs
# ({glue:text}`cpu_steps:,.0f` Adam steps per model).
# ```

# %% [markdown]
# (authors-demo)=
# ## The authors' published demo, side by side
#
# The authors' public code publishes one run to compare against: its README ("What you should
# see", `pomonam/mr-vae`) lists the rate and distortion of one MR-VAE and of four β-VAEs at
# β = 0.01, 0.1, 1 and 10, trained on all of binary MNIST with the ResNet encoder and decoder
# for 8 epochs at batch 64, Adam at a constant 10⁻³, every model with the same budget.
# `make authors-demo` (`scripts/run_authors_demo.py`) trains exactly that setting with this
# package, and the MR-VAE three ways: as the authors' code builds it (every gate's weight and
# bias U(−1, 1), their `nn.Linear(1, C)` default, at the network's learning rate; about half of
# the decoder's square-root gates then start closed), the same with the decoder's gates shifted
# open (`init="uniform"`), and with this package's defaults (gates start open, 30× the learning
# rate). It is too long to run at every build, so it ran once and its data are committed
# (`figures/authors_demo.json`, with the commit, machine, date and wall time). Every model is
# compared in D + βR, the objective a β-VAE trained at β minimises: the authors' own "gap"
# column compares distortions, which at different rates says little.

# %% tags=["hide-input"]
DEMO_RUN = "authors_demo"
demo = committed_run(DEMO_RUN, "make authors-demo")
if demo is not None:
    ran_demo, demo_budget = demo["provenance"], demo["metrics"]["budget"]
    print(f"{demo_budget['train_images']:,} training images, {demo_budget['epochs']} epochs at batch "
          f"{demo_budget['batch_size']} = {demo_budget['steps_per_model']:,} Adam steps per model; scored on "
          f"{demo_budget['test_images']:,} test images")
    minutes = demo_budget["train_minutes"]
    print(f"training: {len(minutes)} models, {min(minutes.values()):.0f}-{max(minutes.values()):.0f} min each on one "
          f"core ({sum(minutes.values()):.0f} core-minutes); the command above then resumed them and scored them")
    demo_table = pd.DataFrame([
        {("", "β"): f"{r['beta']:g}", ("", "model"): r["model"],
         ("published", "R"): f"{r['published_rate']:.1f}", ("published", "D"): f"{r['published_distortion']:.1f}",
         ("published", "D + βR"): f"{r['published_objective']:.1f}",
         ("published", "gap"): f"{r['published_gap']:+.1%}" if "published_gap" in r else "",
         ("this run", "R"): f"{r['rate']:.1f}", ("this run", "D"): f"{r['distortion']:.1f}",
         ("this run", "D + βR"): f"{r['objective']:.1f}",
         ("this run", "gap"): f"{r['gap']:+.1%}" if "gap" in r else ""}
        for r in demo["data"]["rows"]])
    demo_table.columns = pd.MultiIndex.from_tuples(demo_table.columns)
    display(demo_table.set_index([("", "β"), ("", "model")]).rename_axis(["β", "model"]))

# %% tags=["hide-input", "nbval-ignore-output"]
fig_demo, ax = plt.subplots(figsize=(5.6, 3.8), dpi=150)
if demo is not None:
    plot_authors_demo(ax, demo["data"]["rows"], demo["data"]["curves"])
    ax.legend()
else:
    mark_not_run(ax, "the authors' demo", f"figures/{DEMO_RUN}.json is missing")
fig_demo.tight_layout()
glue_figure("authors_demo", fig_demo)

# %% [markdown]
# ```{glue:figure} authors_demo
# :name: fig-authors-demo
#
# **The authors' demo setting, two runs.** Lines: MR-VAEs along β from 0.01 to 10 (ours, both
# gate set-ups; dotted black, the authors' published MR-VAE at its four β). Points: β-VAEs at
# β = 0.01, 0.1, 1 and 10 (circles, ours; crosses, published). Binary MNIST, full-width ResNets,
# 8 epochs at batch 64; rate and distortion in nats on the test split.
# ```

# %% tags=["remove-input"]
if demo is not None:
    demo_table_rows = demo["data"]["rows"]

    def demo_gaps(model: str, key: str = "gap") -> list[float]:
        """Relative gaps in D + βR (in %) of one model's rows, over the four β."""
        return [100 * r[key] for r in demo_table_rows if r["model"] == model]

    def demo_versus_published(model: str) -> list[float]:
        """This run's D + βR against the published run's, relative (in %), over the four β."""
        return [100 * (r["objective"] / r["published_objective"] - 1) for r in demo_table_rows if r["model"] == model]

    glue_number("demo_minutes", ran_demo["wall_seconds"] / 60)
    glue_number("demo_steps", demo_budget["steps_per_model"])
    glue_number("demo_train_images", demo_budget["train_images"])
    for variant in demo["metrics"]["gap_in_objective"]:
        gaps, name = demo_gaps(f"MR-VAE ({variant})"), variant.replace("-", "_")
        glue_number(f"demo_gap_{name}_median", statistics.median(gaps))
        glue_number(f"demo_gap_{name}_best", min(gaps))
        glue_number(f"demo_gap_{name}_worst", max(gaps))
        glue_number(f"demo_{name}_vs_published_median", statistics.median(demo_versus_published(f"MR-VAE ({variant})")))
    glue_number("demo_train_core_minutes", sum(demo_budget["train_minutes"].values()))
    lowest = {r["model"]: r for r in demo_table_rows if r["beta"] == min(r["beta"] for r in demo_table_rows)}
    glue_number("demo_low_beta", lowest["β-VAE"]["beta"])
    glue_number("demo_rate_authors_low", lowest["MR-VAE (authors)"]["rate"])
    glue_number("demo_rate_shifted_low", lowest["MR-VAE (authors-shifted)"]["rate"])
    glue_number("demo_rate_published_low", lowest["MR-VAE (authors)"]["published_rate"])

    published = demo_gaps("MR-VAE (authors)", "published_gap")
    glue_number("demo_published_gap_median", statistics.median(published))
    glue_number("demo_published_gap_worst", max(published))
    beta_vaes = demo_versus_published("β-VAE")
    glue_number("demo_beta_vae_vs_published_median", statistics.median(beta_vaes))
    glue_number("demo_beta_vae_vs_published_low", min(beta_vaes))
    glue_number("demo_beta_vae_vs_published_high", max(beta_vaes))

# %% [markdown]
# **What agrees.** The β-VAEs: ours reach the published runs' $D + \beta R$ to within
# {glue:text}`demo_beta_vae_vs_published_low:+.1f`% to {glue:text}`demo_beta_vae_vs_published_high:+.1f`%
# at the four β, so the data, the network, the objective and the budget are the same. The MR-VAE
# built as the authors' code builds it is within a few per cent of theirs too: its $D + \beta R$
# is {glue:text}`demo_authors_vs_published_median:+.1f`% from the published MR-VAE's (median over
# the four β), and its gap to our β-VAEs, median {glue:text}`demo_gap_authors_median:+.1f`% and
# {glue:text}`demo_gap_authors_best:+.1f`% to {glue:text}`demo_gap_authors_worst:+.1f`% over β,
# sits beside the published run's own gap, median {glue:text}`demo_published_gap_median:+.1f`%
# and at most {glue:text}`demo_published_gap_worst:+.1f`%. Read in $D + \beta R$, the objective
# each β-VAE was trained for, the published table has the β-VAE ahead at all four β; the
# README's "MR-VAE wins" at β = 1 and 10 compares distortions at different rates. Both runs say
# the same thing: at this budget one MR-VAE gives the whole curve a few per cent behind four
# dedicated β-VAEs, most behind at the smallest β.
#
# **What did not agree, and why.** A first version of this comparison gave the authors' recipe
# this package's `"uniform"` initialisation, which shifts the decoder's square-root gates open so
# that none starts closed. Its MR-VAE stopped at {glue:text}`demo_rate_shifted_low:.0f` nats of
# rate at β = {glue:text}`demo_low_beta:g`, against the published
# {glue:text}`demo_rate_published_low:.0f`. Reading the authors' code showed the difference: their
# gates are plain `nn.Linear(1, C)` layers, so about half of their decoder gates start closed at
# any β, and different ones at different β. With that initialisation (`init="authors"`) the rate
# at β = {glue:text}`demo_low_beta:g` rises to {glue:text}`demo_rate_authors_low:.0f` nats. The
# few nats of rate still missing at the smallest β we have not explained: one run on each side,
# and their scoring on 2,560 shuffled test images (ours: all 10,000), are candidates we have not
# measured. This package's defaults (gates start open, 30× gate learning rate) give a
# median gap of {glue:text}`demo_gap_ours_median:+.1f`% and $D + \beta R$
# {glue:text}`demo_ours_vs_published_median:+.1f`% from the published MR-VAE's.

# %% [markdown]
# ## Overhead of the MR-VAE
#
# Parameters are counted exactly, at the paper's full width, for every architecture. The paper
# reports at most 5% more parameters and wall-clock time. The time of a training step is
# measured by [chapter 9](09_cost_of_an_mr_vae) on the full-width networks, with repeated
# interleaved timings on an otherwise idle machine; a build that trains models side by side
# cannot time steps fairly, so this chapter does not.

# %% tags=["hide-input"]
beta_range = PAPER_BETA_RANGE
#: Appendix Table 1 (its powers of ten corrected): plain β-VAE and MR-VAE parameters.
TABLE_1 = {("conv", 28): ("17.53M", "17.88M"), ("conv", 32): ("40.46M", "40.81M"), ("conv", 64): ("34.59M", "34.96M"),
           ("resnet", 28): ("1.881M", "1.884M"), ("resnet", 32): ("7.896M", "7.898M"),
           ("resnet", 64): ("2.770M", "2.774M")}
parameters = {}
for kind in KINDS:
    for shape in SUPPORTED_SHAPES:
        config = ArchitectureConfig(kind, shape)
        with torch.device("meta"):
            plain = count_parameters(build_vae(config))["total"]
            gated = count_parameters(build_mr_vae(config, None, beta_range))["total"]
        name = f"{kind} {shape[1]}×{shape[2]}×{shape[0]}"
        paper_plain, paper_gated = TABLE_1[(kind, shape[1])]
        paper_ratio = float(paper_gated[:-1]) / float(paper_plain[:-1])
        parameters[name] = {"plain": plain, "mr_vae": gated, "ratio": gated / plain,
                            "table1_plain": paper_plain, "table1_mr_vae": paper_gated, "table1_ratio": paper_ratio}
parameter_ratios = {name: p["ratio"] for name, p in parameters.items()}
parameter_table = pd.DataFrame([
    {("architecture", ""): name, ("β-VAE", "ours"): f"{p['plain']:,}", ("β-VAE", "Table 1"): p["table1_plain"],
     ("MR-VAE", "ours"): f"{p['mr_vae']:,}", ("MR-VAE", "Table 1"): p["table1_mr_vae"],
     ("ratio", "ours"): f"{p['ratio']:.4f}", ("ratio", "Table 1"): f"{p['table1_ratio']:.4f}"}
    for name, p in parameters.items()
])
parameter_table.columns = pd.MultiIndex.from_tuples(parameter_table.columns)
display(parameter_table.set_index(("architecture", "")).rename_axis("architecture"))

# %% tags=["remove-input", "nbval-ignore-output"]
conv = {name: p for name, p in parameters.items() if name.startswith("conv")}
resnet64 = next(p for name, p in parameters.items() if name.startswith("resnet 64"))
glue_number("resnet64_plain", resnet64["plain"])
glue_number("resnet64_plain_millions", resnet64["plain"] / 1e6)
glue_number("conv_table1_excess_min", min(float(p["table1_mr_vae"][:-1]) - p["mr_vae"] / 1e6 for p in conv.values()))
glue_number("conv_table1_excess_max", max(float(p["table1_mr_vae"][:-1]) - p["mr_vae"] / 1e6 for p in conv.values()))
glue_number("conv_overhead_min", 100 * (min(p["ratio"] for p in conv.values()) - 1))
glue_number("conv_overhead_max", 100 * (max(p["ratio"] for p in conv.values()) - 1))
glue_number("conv_table1_overhead_min", 100 * (min(p["table1_ratio"] for p in conv.values()) - 1))
glue_number("conv_table1_overhead_max", 100 * (max(p["table1_ratio"] for p in conv.values()) - 1))

# %% [markdown]
# ## What the numbers say
#
# *(The quick-profile run the book is built from, and the committed `cpu` run; every number
# below is theirs.)*
#
# **One network does learn a response to β.** On {glue:text}`small_monotone:.0f` of the
# {glue:text}`small_panels:.0f` 28×28 panels the MR-VAE's rate falls monotonically with β, by a
# factor of {glue:text}`small_span_min:,.0f` to {glue:text}`small_span_max:,.0f` between
# β = 0.01 and β = 10 ({numref}`fig-figure5-28x28`). That is the paper's mechanism at work: the
# gates move the network along the rate axis, and no retraining is needed to do it.
#
# **It follows the β-VAEs closely, but not at every rate.** On Figure 1's panel the rate spans a
# factor of {glue:text}`headline_span:,.0f` (target ≥ 10) and rises by more than 1% at
# {glue:text}`headline_rises:.0f` of the {glue:text}`headline_grid_steps:.0f` steps of the grid
# (target: at none). Its median gap to the constant-β β-VAEs, {glue:text}`headline_median_gap:+.1f`%
# at seed {glue:text}`first_seed:.0f`, is measured against a 3% target, so the panel meets
# {glue:text}`headline_targets_met:.0f` of its 3 targets. The gap sits at small β: at β =
# {glue:text}`headline_low_beta:.2g` the MR-VAE spends {glue:text}`headline_low_mr_rate:.0f`
# nats where the β-VAE trained at that β spends {glue:text}`headline_low_beta_vae_rate:.0f`, a
# coverage of {glue:text}`headline_coverage:.2f`. Across the {glue:text}`seed_count:.0f` seeds
# ({numref}`fig-figure1-seeds`) the median gap runs from {glue:text}`seeds_median_gap_low:+.1f`%
# to {glue:text}`seeds_median_gap_high:+.1f`% around {glue:text}`seeds_median_gap_median:+.1f`%,
# so whether a 3% target is met at this budget depends on the run as much as on the method.
# The other 28×28 panels tell the same story: they meet their rate-span target of 5 on
# {glue:text}`other_targets_met:.0f` of {glue:text}`other_panels:.0f`, with median gaps of
# {glue:text}`other_median_gap_min:+.0f`% to {glue:text}`other_median_gap_max:+.0f`%. On every
# 28×28 panel the worst gap is at β ≤ {glue:text}`small_worst_gap_beta_max:.2g`, while at β ≥ 1
# all their gaps lie between {glue:text}`small_high_beta_gap_min:+.1f`% and
# {glue:text}`small_high_beta_gap_max:+.1f`%. The shared network pays at the high-rate end.
#
# **More training alone does not remove that cost.** The gap study of the chapter on learning
# the β response ({numref}`fig-gap-study`) trains this panel's settings at 2× and 4× the budget,
# with other gate learning rates and on the authors' wider β range; no variant trained as long as
# its β-VAEs brings the gap to zero. The `cpu` profile asks the same question at the paper's
# width: the full-width ResNet on all {glue:text}`cpu_train_images:,.0f` images for
# {glue:text}`cpu_steps:,.0f` steps per model ({numref}`fig-figure1-cpu-profile`). Its MR-VAE's
# rate falls by a factor of {glue:text}`cpu_span:.0f`, from {glue:text}`cpu_rate_low_beta:.0f` to
# {glue:text}`cpu_rate_high_beta:.1f` nats, and its median gap is
# {glue:text}`cpu_median_gap_constant:+.1f`% to the constant-β β-VAEs
# ({glue:text}`cpu_median_gap_annealed:+.1f`% to the annealed ones), worst at β =
# {glue:text}`cpu_worst_gap_beta:.2g` ({glue:text}`cpu_worst_gap:+.0f`%). Its best test negative
# ELBO, {glue:text}`cpu_elbo_mr_vae:.1f` nats against the β-VAEs'
# {glue:text}`cpu_elbo_beta_vae:.1f`, is {glue:text}`cpu_excess_min:.0f`–{glue:text}`cpu_excess_max:.0f`
# nats short of the paper's Table 2 ({glue:text}`table2_mr_vae:.2f` and
# {glue:text}`table2_beta_vae:.2f` after 200 epochs): {glue:text}`cpu_epochs:.0f` epochs are
# {glue:text}`cpu_epoch_percent:.0f`% of the paper's training. So this run says how far a short
# run gets, not whether the MR-VAE ends up ahead, as the paper reports.
#
# **The β-VAE baselines are sound where they are graded.** {glue:text}`small_sweeps_monotone:.0f`
# of the {glue:text}`small_sweeps:.0f` 28×28 sweeps are monotone in rate (last columns of the
# table), so they trace a curve worth comparing against. The RGB panels are not graded: at
# {glue:text}`rgb_steps_min:.0f`–{glue:text}`rgb_steps_max:.0f` steps per model and
# 1/{glue:text}`rgb_inverse_width_max:.0f`–1/{glue:text}`rgb_inverse_width_min:.0f` of the
# paper's width ({numref}`fig-figure5-rgb`), {glue:text}`rgb_sweeps_not_monotone:.0f` of their
# {glue:text}`rgb_sweeps:.0f` sweeps are not monotone in rate, and on one panel
# ({glue:text}`rgb_lowest_rate_panel`) no model's test rate exceeds
# {glue:text}`rgb_lowest_rate_max:.1f` nats at any β. They show that the pipeline runs.
#
# **The overhead is as small as the paper says, once Table 1 is read right.** Our plain networks
# match Table 1 to four digits except the 64×64 ResNet ({glue:text}`resnet64_plain:,.0f`
# parameters, {glue:text}`resnet64_plain_millions:.3f`M against the table's 2.770M; the authors'
# gated network without its gates has exactly our count, and their stored plain file does not
# run), and our MR-VAE ResNets match its MR-VAE column. Table 1's conv MR-VAEs are
# {glue:text}`conv_table1_excess_min:.2f`–{glue:text}`conv_table1_excess_max:.2f`M larger than
# per-channel gates allow; they match a gate computed by a small MLP (1 → 128 → channels), an
# option of the authors' older code, while Eq. 6 and their final code use one weight and one bias
# per channel, as we do. So our conv overheads are
# {glue:text}`conv_overhead_min:.2f`–{glue:text}`conv_overhead_max:.2f`%, where the table's are
# {glue:text}`conv_table1_overhead_min:.1f`–{glue:text}`conv_table1_overhead_max:.1f`%. The time
# per step is measured in [chapter 9](09_cost_of_an_mr_vae), on the full-width networks where
# the paper makes the claim.

# %% tags=["nbval-ignore-output", "hide-input", "remove-output"]
clock.__exit__()
panel_data = {panels[key].experiment.tag: result.to_json() for key, result in results.items()}
run_config = {"profile": profile, "settings": settings.describe(), "budgets": budgets,
              "betas": PAPER_BETA_RANGE.grid(10).tolist(),
              "beta_range": [PAPER_BETA_RANGE.low, PAPER_BETA_RANGE.high]}
pipeline_checks = sorted(panels[key].experiment.tag for key in results if key[0] in settings.pipeline_checks)
metrics = {"response": response, "targets": {"targets": targets, "met": target_met}, "not_run": not_run,
           "pipeline_checks": pipeline_checks,
           "parameters": parameters,
           "overhead": {"parameter_ratio_full_width": parameter_ratios}}
path5 = save_figure(fig, "figure5_rate_distortion", figure="Figure 5", notebook="04_figure5_rate_distortion",
                    profile=profile, data={"panels": panel_data}, metrics=metrics,
                    provenance=provenance(seed=seed, config=run_config, device=device, wall_seconds=clock.seconds),
                    notes="Panels of datasets listed in metrics.not_run were not run (files unavailable).")
replicate_data = {str(extra): replicate.to_json() for extra, replicate in replicates.items()}
path1 = save_figure(fig1, "figure1_resnet_binary_mnist", figure="Figure 1", notebook="04_figure5_rate_distortion",
                    profile=profile,
                    data={"panels": {headline_tag: panel_data[headline_tag]}, "replicates": replicate_data},
                    metrics={"response": response[headline_tag], "target_met": target_met[headline_tag],
                             "seeds": seed_summary, "seed_betas": sorted(shared_betas)},
                    provenance=provenance(seed=seed, config=run_config, device=device, wall_seconds=clock.seconds))
print(f"wrote {path5.name} and {path1.name}; wall time {clock.seconds:.1f} s")

# %% tags=["remove-cell"]
# The regression check that nbval compares: one line per checked metric of this chapter's
# figures, "ok" inside the band measured across CPU kernel paths (mrvae_companion.checks).
from mrvae_companion.checks import print_checks

print_checks("figure5_rate_distortion", "figure1_resnet_binary_mnist")
