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
# # Figure 8: β-TCVAE on dSprites, judged by the Mutual Information Gap
#
# Section 5.4 trains one MR-VAE on the **β-TCVAE objective** {cite:p}`chen2018isolating` and compares it
# with separately trained β-TCVAEs. The paper reports that the MR-VAE's disentanglement,
# measured by the Mutual Information Gap (MIG), is as good as the baselines' and more robust to
# the choice of β. Here each MR-VAE is trained once with β ∈ [0.1, 10] and evaluated at many β.
# The baselines are β-TCVAEs at log-spaced β in [0.1, 10]; every model is trained with several
# seeds, and the verdict reads the median and range over them.

# %% [markdown]
# ## What this chapter finds
#
# *(The quick-profile run the book is built from: 8,192 procedurally rendered images, hidden
# width 256, 8 epochs, {glue:text}`n_seeds:.0f` seeds of every model; medians with the range over
# seeds in brackets. The numbers are this run's, from the tables below.)*
#
# - **Robustness across β: not shown by this run.** The MR-VAE's MIG hardly moves with β (a
#   spread of {glue:text}`mig_spread_median:.3f` [{glue:text}`mig_spread_low:.3f`,
#   {glue:text}`mig_spread_high:.3f`] over β, the β-TCVAEs'
#   {glue:text}`tcvae_mig_spread_median:.3f`). But it barely responds to β at all: its rate
#   falls by a factor of only {glue:text}`rate_ratio_median:.1f` [{glue:text}`rate_ratio_low:.1f`,
#   {glue:text}`rate_ratio_high:.1f`] over β ∈ [0.1, 10], and at β = 0.1 it keeps
#   {glue:text}`rate_coverage_median:.2f` of the rate of the β-TCVAE trained there. A model that
#   barely uses β is trivially robust to it, so its flat MIG is no evidence for the paper's claim
#   that MR-VAEs are more robust to β. Trained {glue:text}`longer:.0f`× as long, its rate span is
#   {glue:text}`span_longer:.1f`: the response does not come with training.
# - **Best MIG: {glue:text}`best_mig_finding`.** The MR-VAE's best MIG is
#   {glue:text}`best_mig_ratio_median:.2f` [{glue:text}`best_mig_ratio_low:.2f`,
#   {glue:text}`best_mig_ratio_high:.2f`] of the best β-TCVAE's of the same seed. The paper
#   reports the two as competitive. {glue:text}`best_mig_kernels`

# %% [markdown]
# ## The objective, the metric and the data
#
# **The objective.** β-TCVAE splits the KL term of the ELBO into three parts:
#
# $$\begin{aligned}\mathbb{E}_x\,\mathrm{KL}(q(z|x)\,\|\,p(z)) = {}& \underbrace{I_q(x; z)}_{\text{index-code MI}}
#   + \underbrace{\mathrm{KL}\big(q(z)\,\|\,\textstyle\prod_j q(z_j)\big)}_{\text{total correlation}} \\
#   &+ \underbrace{\textstyle\sum_j \mathrm{KL}(q(z_j)\,\|\,p(z_j))}_{\text{dimension-wise KL}}\end{aligned}$$
#
# and weights only the total correlation (TC) by β. The aggregate posterior $q(z)$ is estimated
# from each minibatch with **minibatch-weighted sampling** (`mrvae.models.tcvae`, estimator `"mws"`;
# `"mss"`, stratified sampling, is the option). For the MR-VAE each example's own β weights its
# TC term and drives the gates of every layer.
#
# **The metric.** For each latent $z_j$ and ground-truth factor $v_k$, MIG estimates
# $I(z_j; v_k) = H(z_j) - H(z_j \mid v_k)$ by Monte Carlo from samples of $q(z|x)$, using the exact
# mixture density $q(z_j) = \frac1N\sum_n q(z_j|x_n)$, and divides by the factor's entropy
# $H(v_k)$. The gap between the two most informative latents, averaged over scale, orientation,
# x and y, is the MIG (shape is excluded, as in
# [Chen et al.'s code](https://github.com/rtqichen/beta-tcvae)). An ideal representation
# scores 1 and an unrelated one 0; `tests/test_disentanglement.py` checks both bands.
#
# **The data.** The official dSprites file {cite:p}`matthey2017dsprites` is not available on the machines that build this
# book. `mrvae.data.dsprites` then renders the same factor grid procedurally: 3 shapes × 6 scales ×
# 40 orientations × 32 × 32 positions, in the official order, with our own shape definitions
# (documented in the module). The cell below prints which source this run used. Rendered pixels
# are *not* the official pixels, so MIG values are comparable within this book, not digit for
# digit with the paper.

# %% tags=["parameters"]
profile = "quick"  # "quick" (CPU, a few minutes) or "paper" (full dSprites; a GPU)
seed = 0

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import display
from myst_nb import glue

from mrvae_companion.figures import glue_figure, provenance, save_figure, use_book_style
from mrvae_companion.prose import glue_number
from mrvae_companion.scoreboard import COMPETITIVE_FRACTION, kernel_readings
from mrvae_companion.runtime import (
    Stopwatch,
    pick_device,
    run_directory,
    seed_everything,
    select_profile,
)
from mrvae_companion.seeds import BudgetTrend, Rule, summarize_mig_panel
from mrvae_companion.tcvae import TCVAEExperiment, TCVAERun, fit_tcvae_models
from mrvae.data.dsprites import N_IMAGES, load_dsprites, subsample_indices
from mrvae.hyper.convert import count_parameters
from mrvae.hyper.gates import BetaRange
from mrvae.metrics.mig import model_mig
from mrvae.metrics.rate_distortion import evaluate
from mrvae.models.tcvae import ChenMLPVAE
from mrvae.training.pool import default_workers

PROFILES = {
    # CPU: a random 8,192-image subsample, a narrow MLP, a few epochs, five seeds of every model
    # at 5 β. Five is the fewest seeds whose range covers the median with at least the 90% the
    # verdicts ask for (mrvae_companion.seeds); with three, the MR-VAE's best MIG read "matched"
    # on one CPU's kernels and "not matched" on another's.
    # Every model on one thread, two side by side (one per core).
    "quick": {"train_images": 8192, "mig_images": 4096, "hidden": 256, "epochs": 8, "batch_size": 128,
              "lr": 3e-3, "seeds": 5, "baseline_betas": 5, "mig_samples": 1000, "workers": default_workers()},
    # Chen et al.'s set-up as the paper uses it: all 737,280 images, batch 2048, 50 epochs, Adam.
    "paper": {"train_images": N_IMAGES, "mig_images": N_IMAGES, "hidden": 1200, "epochs": 50, "batch_size": 2048,
              "lr": 1e-3, "seeds": 5, "baseline_betas": 10, "mig_samples": 10_000, "workers": None},
}
settings = select_profile(PROFILES, profile)
seed_everything(seed)
device = pick_device()
BETA_RANGE = BetaRange(0.1, 10.0)
LATENT_DIM = 10
clock = Stopwatch().__enter__()
use_book_style()
runs_dir = run_directory(profile, "08_figure8")

# %% tags=["hide-input"]
indices = None if settings["train_images"] == N_IMAGES else subsample_indices(settings["train_images"], seed)
dsprites = load_dsprites(indices)
images = dsprites.images
mig_rows = torch.randperm(len(dsprites), generator=torch.Generator().manual_seed(seed))[: settings["mig_images"]]
mig_images, mig_classes = images[mig_rows], dsprites.latents_classes[mig_rows]
print(f"dSprites source: {dsprites.source}")
print(f"training images: {len(dsprites):,} of {N_IMAGES:,}; MIG evaluated on {len(mig_rows):,} of them")
print(f"mean pixel occupancy: {images.mean().item():.4f}")

# %% [markdown]
# ## Training: MR-VAEs and β-TCVAE baselines, over seeds
#
# The encoder and decoder are {cite:t}`chen2018isolating`'s MLPs, 4096–1200–1200–(2×10) with ReLU and
# 10–1200–1200–1200–4096 with tanh, and a Bernoulli likelihood. The quick profile narrows the
# hidden layers to 256 units (stated in the figure's caption). Every model gets the same budget:
# the same epochs, batch size and learning rate. Each seed draws a model's initialisation and
# batch order: at one seed each β-TCVAE starts from its own weights and the MR-VAE from the
# first one's, and all see the same batches; all seeds share the data subset. The models train side by side, one thread each
# (`mrvae_companion.tcvae`), and are cached under `runs/`, keyed by the package's source, so the
# book build reuses what the regression test trained.

# %% tags=["nbval-ignore-output", "hide-input", "remove-output"]
baseline_betas = BETA_RANGE.grid(settings["baseline_betas"]).tolist()
panel = TCVAEExperiment(dataset_size=len(dsprites), latent_dim=LATENT_DIM, hidden=settings["hidden"],
                        epochs=settings["epochs"], batch_size=settings["batch_size"], lr=settings["lr"],
                        beta_range=BETA_RANGE, betas=tuple(baseline_betas))
seeds = [seed + s for s in range(settings["seeds"])]
# The MR-VAE again at LONGER x the epochs (seed 0): whether more training makes it respond to
# β (the budget trend the scoreboard judges a miss by).
LONGER = 4
mr_runs = {s: TCVAERun(s) for s in seeds}
baseline_runs = {(s, b): TCVAERun(s, b) for s in seeds for b in baseline_betas}
longer_run = TCVAERun(seed, budget=LONGER)
runs = [longer_run, *mr_runs.values(), *baseline_runs.values()]  # the longest first: the pool finishes sooner
with Stopwatch() as training_clock:
    trained = dict(zip(runs, fit_tcvae_models(panel, images, runs, run_dir=runs_dir, device=device,
                                              workers=settings["workers"]), strict=True))
mr_vaes = {s: trained[run] for s, run in mr_runs.items()}
mr_vae, mr_longer = mr_vaes[seed], trained[longer_run]
baselines: dict[tuple[int, float], ChenMLPVAE] = {key: trained[run] for key, run in baseline_runs.items()}

# %% tags=["hide-input", "nbval-ignore-output"]
print(f"trained {len(mr_vaes)} MR-VAEs ({len(seeds)} seeds), one at {LONGER}x the epochs, and {len(baselines)} "
      f"β-TCVAEs ({len(baseline_betas)} β × {len(seeds)} seeds), {panel.epochs} epochs each, in "
      f"{training_clock.seconds:.0f} s")

# %% [markdown]
# ## MIG across β
#
# Each MR-VAE is evaluated at {glue:text}`n_mr_betas:.0f` log-spaced β (the baselines'
# {glue:text}`n_betas:.0f` and the geometric midpoints); each β-TCVAE at the β it was trained with.

# %% tags=["hide-input", "nbval-ignore-output"]
midpoints = [float(np.sqrt(a * b)) for a, b in zip(baseline_betas, baseline_betas[1:])]
mr_betas = sorted(baseline_betas + midpoints)
mig_options = {"num_samples": settings["mig_samples"], "seed": seed}
mr_mig = {s: [model_mig(model, mig_images, mig_classes, b, **mig_options) for b in mr_betas]
          for s, model in mr_vaes.items()}
mr_mig_array = np.array([[r.mig for r in mr_mig[s]] for s in seeds])
baseline_mig = {key: model_mig(model, mig_images, mig_classes, key[1], **mig_options)
                for key, model in baselines.items()}
baseline_mig_array = np.array([[baseline_mig[(s, b)].mig for b in baseline_betas] for s in seeds])
mr_at_baseline = mr_mig_array[:, [mr_betas.index(b) for b in baseline_betas]]

# Three decimals of MIG, as before: what holds from run to run.
display(pd.DataFrame([
    {"β": f"{b:.3f}", "MR-VAE, seed median": f"{np.median(mr_at_baseline[:, i]):.3f}",
     "MR-VAE, min–max": f"{mr_at_baseline[:, i].min():.3f}–{mr_at_baseline[:, i].max():.3f}",
     "β-TCVAE, seed median": f"{np.median(baseline_mig_array[:, i]):.3f}",
     "β-TCVAE, min–max": f"{baseline_mig_array[:, i].min():.3f}–{baseline_mig_array[:, i].max():.3f}"}
    for i, b in enumerate(baseline_betas)
]).set_index("β"))

# %% [markdown]
# ## Rate–distortion of both
#
# Rate is the analytic KL(q(z|x) ‖ p(z)) and distortion the Bernoulli negative log-likelihood,
# both in nats per image on the MIG images, one posterior sample each.

# %% tags=["hide-input", "nbval-ignore-output"]
mr_rd = {s: [evaluate(model, mig_images, b) for b in mr_betas] for s, model in mr_vaes.items()}
baseline_rd = {key: evaluate(model, mig_images, key[1]) for key, model in baselines.items()}
longer_rd = [evaluate(mr_longer, mig_images, b) for b in (mr_betas[0], mr_betas[-1])]
steps_per_epoch = -(-len(dsprites) // panel.batch_size)
span_trend = BudgetTrend((panel.epochs * steps_per_epoch, LONGER * panel.epochs * steps_per_epoch),
                         (mr_rd[seed][0]["rate"] / mr_rd[seed][-1]["rate"], longer_rd[0]["rate"] / longer_rd[-1]["rate"]),
                         "Adam steps")
over_seeds = summarize_mig_panel(
    mr_rates={s: [p["rate"] for p in mr_rd[s]] for s in seeds},
    tcvae_rates={s: [baseline_rd[(s, b)]["rate"] for b in baseline_betas] for s in seeds},
    mr_mig={s: mr_mig_array[i].tolist() for i, s in enumerate(seeds)},
    tcvae_mig={s: baseline_mig_array[i].tolist() for i, s in enumerate(seeds)})
mr_rate_array = np.array([[p["rate"] for p in mr_rd[s]] for s in seeds])
mr_dist_array = np.array([[p["distortion"] for p in mr_rd[s]] for s in seeds])
tc_rate_array = np.array([[baseline_rd[(s, b)]["rate"] for b in baseline_betas] for s in seeds])
tc_dist_array = np.array([[baseline_rd[(s, b)]["distortion"] for b in baseline_betas] for s in seeds])
rd_table = []
for i, b in enumerate(baseline_betas):
    j = mr_betas.index(b)
    rd_table.append({"β": f"{b:.3f}", "MR-VAE rate": f"{np.median(mr_rate_array[:, j]):.2f}",
                     "MR-VAE distortion": f"{np.median(mr_dist_array[:, j]):.2f}",
                     "β-TCVAE rate": f"{np.median(tc_rate_array[:, i]):.2f}",
                     "β-TCVAE distortion": f"{np.median(tc_dist_array[:, i]):.2f}"})
print(f"medians over {len(seeds)} seeds")
display(pd.DataFrame(rd_table).set_index("β"))

# %% [markdown]
# ## Over seeds
#
# The numbers the verdict decides on, per seed (each seed trains one MR-VAE and the
# {glue:text}`n_betas:.0f` β-TCVAEs; all share the data subset): the MR-VAE's rate span
# R(0.1)/R(10), its rate at β = 0.1 over the β-TCVAE's there (coverage), the spread of its MIG
# over β against the β-TCVAEs', and its best MIG over theirs. The interval is the range over
# seeds (order statistics; with {glue:text}`n_seeds:.0f` seeds it covers the median with
# probability {glue:text}`seed_coverage:.1f`%).

# %% tags=["hide-input", "nbval-ignore-output"]
SEED_METRICS = {"rate_ratio": ("MR-VAE rate span", "{:.1f}"), "rate_coverage": ("coverage at β = 0.1", "{:.2f}"),
                "mig_spread": ("MR-VAE MIG spread over β", "{:.3f}"),
                "tcvae_mig_spread": ("β-TCVAEs' MIG spread over β", "{:.3f}"),
                "best_mig_ratio": ("MR-VAE best MIG / β-TCVAEs' best", "{:.2f}")}
display(pd.DataFrame([
    {"metric": label, **{f"seed {s}": form.format(v) for s, v in zip(over_seeds[name]["seeds"], over_seeds[name]["values"])},
     "median [range]": f"{form.format(over_seeds[name]['median'])} "
                       f"[{form.format(over_seeds[name]['interval'][0])}, {form.format(over_seeds[name]['interval'][1])}]"}
    for name, (label, form) in SEED_METRICS.items()
]).set_index("metric"))

# %% tags=["hide-input", "nbval-ignore-output"]
# Two panels at the book's column width (about 7 in), so 8-pt text stays 8 pt on the page.
fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.0), dpi=150)
ax = axes[0]
for i, s in enumerate(seeds):
    ax.plot(mr_betas, mr_mig_array[i], "o-", ms=2.5, lw=1, color="C3", alpha=1.0 if s == seed else 0.45,
            label=f"MR-VAEs ({len(seeds)} seeds)" if i == 0 else None)
median, low, high = np.median(baseline_mig_array, 0), baseline_mig_array.min(0), baseline_mig_array.max(0)
ax.errorbar(baseline_betas, median, yerr=[median - low, high - median], fmt="s", ms=5, mfc="none", mew=1.2,
            capsize=3, color="C0", label=f"β-TCVAEs (median, range\nover {len(seeds)} seeds)")
ax.set_xscale("log")
ax.set_xlabel("β (weight on total correlation)")
ax.set_ylabel("MIG")
ax.set_title("Disentanglement across β")
ax.legend(loc="upper left")
ax = axes[1]
for i, s in enumerate(seeds):
    ax.plot(mr_rate_array[i], mr_dist_array[i], "o-", ms=2.5, lw=1, color="C3", alpha=1.0 if s == seed else 0.45,
            label="MR-VAEs" if i == 0 else None)
    ax.plot(tc_rate_array[i], tc_dist_array[i], "s", ms=5, mfc="none", mew=1.2, color="C0",
            alpha=1.0 if s == seed else 0.45, label="β-TCVAEs" if i == 0 else None)
ax.set_xlabel("rate (nats)")
ax.set_ylabel("distortion (nats)")
ax.set_title("Rate–distortion")
ax.legend()
fig.tight_layout()
glue_figure("figure8_tcvae_dsprites", fig)

# %% [markdown]
# ```{glue:figure} figure8_tcvae_dsprites
# :name: fig-figure8-tcvae-dsprites
#
# **The paper's Figure 8.** Left: MIG of MR-VAEs trained with the β-TCVAE objective over β ∈ [0.1, 10],
# one line per seed (seed 0 solid), and of β-TCVAEs trained separately at
# {glue:text}`n_betas:.0f` β (median and range over the same seeds). Right: their rate and
# distortion. Quick profile: 8,192 procedurally rendered dSprites images (not the official file),
# MLPs of width 256 instead of 1,200, 8 epochs, {glue:text}`n_seeds:.0f` seeds; the paper
# profile was not run.
# ```

# %% tags=["remove-input", "nbval-ignore-output"]
# The numbers the prose quotes, glued from this run (myst-nb) so that none is typed by hand.
for name, summary in over_seeds.items():
    glue_number(f"{name}_median", summary["median"])
    glue_number(f"{name}_low", summary["interval"][0])
    glue_number(f"{name}_high", summary["interval"][1])
glue_number("n_seeds", len(seeds))
glue_number("seed_coverage", 100 * over_seeds["best_mig_ratio"]["coverage"])
glue_number("n_betas", len(baseline_betas))
glue_number("n_mr_betas", len(mr_betas))
glue_number("mr_rate_first", np.median(mr_rate_array[:, 0]))
glue_number("mr_rate_last", np.median(mr_rate_array[:, -1]))
glue_number("mr_dist_first", np.median(mr_dist_array[:, 0]))
glue_number("mr_dist_last", np.median(mr_dist_array[:, -1]))
glue_number("tc_rate_first", np.median(tc_rate_array[:, 0]))
glue_number("tc_rate_last", np.median(tc_rate_array[:, -1]))
glue_number("tc_dist_last", np.median(tc_dist_array[:, -1]))
glue_number("mr_mig_best", mr_mig_array.max())
glue_number("tc_best_run", baseline_mig_array.max())
glue_number("tc_best_run_beta", baseline_betas[int(baseline_mig_array.max(0).argmax())])
# The scoreboard's rule for "competitive", said in words: the interval over seeds decides.
FINDINGS = {"missed": "not matched", "straddles": "matched at some seeds, not at others", "met": "matched"}
competitive = Rule(COMPETITIVE_FRACTION, "at_least")
judged = competitive.judge_interval(*over_seeds["best_mig_ratio"]["interval"])
glue("best_mig_finding", FINDINGS[judged], display=False)
# The same seeds on other CPU kernel paths (figures/kernel_spread.json): where one of them lands on
# the other side of the rule, the verdict depends on the machine, and the scoreboard says so.
readings = kernel_readings({"_name": "figure8_tcvae_dsprites", "profile": profile}, "best_mig_ratio")
others = [f"[{low:.2f}, {high:.2f}] on the {path} kernels ({FINDINGS[competitive.judge_interval(low, high)]})"
          for path, low, high in readings if competitive.judge_interval(low, high) != judged]
glue("best_mig_kernels", "The same seeds on other CPU kernel paths read " + " and ".join(others) + ": floating-point "
     "differences move each seed's best MIG that far, so this finding depends on the machine, and the scoreboard "
     "counts it as unsettled, partly reproduced." if others else
     f"Each of the {len(readings)} CPU kernel paths recorded for this chapter reads it the same way.", display=False)
glue_number("competitive_fraction", COMPETITIVE_FRACTION)
glue("best_run_model", "a β-TCVAE" if baseline_mig_array.max() >= mr_mig_array.max() else "an MR-VAE", display=False)
position_gaps = [min(r.gap_per_factor["pos_x"], r.gap_per_factor["pos_y"]) for runs_ in mr_mig.values() for r in runs_]
other_gaps = [max(r.gap_per_factor["scale"], r.gap_per_factor["orientation"]) for runs_ in mr_mig.values() for r in runs_]
glue_number("mr_pos_gap_min", min(position_gaps))
glue_number("mr_other_gap_max", max(other_gaps))
glue_number("longer", LONGER)
glue_number("longer_steps", span_trend.budgets[-1])
glue_number("longer_rate_first", longer_rd[0]["rate"])
glue_number("longer_rate_last", longer_rd[-1]["rate"])
glue_number("span_first", span_trend.values[0])
glue_number("span_longer", span_trend.values[-1])

# %% [markdown]
# **Reading the numbers.** *(The quick-profile run the book is built from: 8,192 procedurally
# rendered images, hidden width 256, 8 epochs of 64 steps, {glue:text}`n_seeds:.0f` seeds;
# medians with the range over seeds in brackets.)*
#
# - **A flat MIG from a model that barely uses β.** Over β ∈ [0.1, 10] the MR-VAE's MIG spreads
#   by {glue:text}`mig_spread_median:.3f` [{glue:text}`mig_spread_low:.3f`,
#   {glue:text}`mig_spread_high:.3f`], the β-TCVAEs' by {glue:text}`tcvae_mig_spread_median:.3f`
#   [{glue:text}`tcvae_mig_spread_low:.3f`, {glue:text}`tcvae_mig_spread_high:.3f`]
#   ({numref}`fig-figure8-tcvae-dsprites`, left). But its rate falls only from
#   {glue:text}`mr_rate_first:.1f` to {glue:text}`mr_rate_last:.1f` nats (a span of
#   {glue:text}`rate_ratio_median:.1f` [{glue:text}`rate_ratio_low:.1f`,
#   {glue:text}`rate_ratio_high:.1f`]) and its distortion rises from
#   {glue:text}`mr_dist_first:.0f` to {glue:text}`mr_dist_last:.0f`; the β-TCVAEs' rate falls
#   from {glue:text}`tc_rate_first:.1f` to {glue:text}`tc_rate_last:.1f`. At β = 0.1 the MR-VAE
#   keeps {glue:text}`rate_coverage_median:.2f` [{glue:text}`rate_coverage_low:.2f`,
#   {glue:text}`rate_coverage_high:.2f`] of the β-TCVAE's rate. A model that barely uses β is
#   trivially robust to it, so its flat MIG is no evidence for the paper's claim that MR-VAEs
#   are more robust to β.
# - **More training does not make it respond.** Trained {glue:text}`longer:.0f`× as long
#   ({glue:text}`longer_steps:,.0f` steps, seed 0), the MR-VAE's rate falls from
#   {glue:text}`longer_rate_first:.1f` to {glue:text}`longer_rate_last:.1f` nats over the range:
#   a span of {glue:text}`span_longer:.1f`, against {glue:text}`span_first:.1f` at the quick
#   budget. The shortfall is a plateau, not a short budget, so the scoreboard reads *differs*.
#   The authors' own plotting script draws their MR-VAE's MIG almost flat over the same range,
#   and their final β-TCVAE baselines were trained only at β ≥ 1 (`experiments/misc/tc_vae` in
#   their repository), so their figure does not show whether their MR-VAE responds at small β
#   either.
# - **The MR-VAE's MIG comes from position alone.** At every β and seed its gaps for x and y
#   position are at least {glue:text}`mr_pos_gap_min:.3f`, while those for scale and
#   orientation stay below {glue:text}`mr_other_gap_max:.3f`.
# - **Best MIG: {glue:text}`best_mig_finding` at this budget.** The MR-VAE's best MIG is
#   {glue:text}`best_mig_ratio_median:.2f` [{glue:text}`best_mig_ratio_low:.2f`,
#   {glue:text}`best_mig_ratio_high:.2f`] of the best β-TCVAE of the same seed (the scoreboard
#   counts {glue:text}`competitive_fraction:.1f` as competitive); the best single run of all is
#   {glue:text}`best_run_model` (the β-TCVAEs' best {glue:text}`tc_best_run:.3f`, at β =
#   {glue:text}`tc_best_run_beta:.3g`; the MR-VAEs' best {glue:text}`mr_mig_best:.3f`). The paper reports the two as
#   competitive. {glue:text}`best_mig_kernels` Absolute MIG values are low for both, after 8
#   epochs on 1% of dSprites.
# - **Rate–distortion.** At β = 10 the MR-VAE's distortion is {glue:text}`mr_dist_last:.0f` nats
#   at a rate of {glue:text}`mr_rate_last:.1f`, the β-TCVAEs' {glue:text}`tc_dist_last:.0f` at
#   {glue:text}`tc_rate_last:.1f` ({numref}`fig-figure8-tcvae-dsprites`, right). In the β-TCVAE
#   objective β weights only the total-correlation part of the rate, so this is not the
#   trade-off either model is trained to make; it is shown for completeness.
# - The paper profile (all 737,280 images, batch 2048, 50 epochs, full width, five seeds) needs
#   a GPU and was not run for this build.

# %% tags=["hide-input"]
params_mr, params_plain = count_parameters(mr_vae), count_parameters(next(iter(baselines.values())))
print(f"parameters: β-TCVAE {params_plain['total']:,}; MR-VAE {params_mr['total']:,} "
      f"(ratio {params_mr['total'] / params_plain['total']:.4f})")

# %% tags=["nbval-ignore-output", "hide-input", "remove-output"]
clock.__exit__()
path = save_figure(
    fig, "figure8_tcvae_dsprites", figure="Figure 8", notebook="08_figure8_tcvae_dsprites", profile=profile,
    data={"dsprites_source": dsprites.source, "train_images": len(dsprites), "mig_images": len(mig_rows),
          "mrvae": {"beta": mr_betas, "seeds": seeds, "rate": mr_rate_array.tolist(),
                    "distortion": mr_dist_array.tolist()},
          "beta_tcvae": {"beta": baseline_betas, "seeds": seeds, "rate": tc_rate_array.tolist(),
                         "distortion": tc_dist_array.tolist()}},
    metrics={"mig": {"mrvae": {"beta": mr_betas, "seeds": seeds, "mig": mr_mig_array.tolist(),
                               "gap_per_factor": [r.gap_per_factor for r in mr_mig[seed]]},
                     "beta_tcvae": {"beta": baseline_betas, "seeds": seeds, "mig": baseline_mig_array.tolist()}},
             "seeds": over_seeds,
             "overhead": {"parameter_ratio": params_mr["total"] / params_plain["total"],
                          "extra_parameters": params_mr["hyper"]},
             "budget_trend": {"rate_ratio": span_trend.to_json()}},
    provenance=provenance(seed=seed, config={"profile": settings, "panel": panel, "seeds": seeds,
                                             "latent_dim": LATENT_DIM, "estimator": "mws"},
                          device=device, wall_seconds=clock.seconds),
    notes=f"dSprites source: {dsprites.source}",
)
print(f"wrote {path.name}; wall time {clock.seconds:.1f} s")

# %% tags=["remove-cell"]
# The regression check that nbval compares: one line per checked metric of this chapter's
# figures, "ok" inside the band measured across CPU kernel paths (mrvae_companion.checks).
from mrvae_companion.checks import print_checks

print_checks("figure8_tcvae_dsprites")
