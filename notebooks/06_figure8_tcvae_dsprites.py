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
# the choice of β. Here the MR-VAE is trained once with β ∈ [0.1, 10] and evaluated at many β.
# The baselines are 10 β-TCVAEs at log-spaced β in [0.1, 10], each trained with several seeds.

# %% [markdown]
# ## What this chapter finds
#
# *(The quick-profile run the book is built from: 8,192 procedurally rendered images, hidden
# width 256, 8 epochs, two seeds per β-TCVAE. The numbers are this run's, from the tables below.)*
#
# - **Robustness across β: not shown by this run.** The MR-VAE's MIG hardly moves with β: it
#   stays between {glue:text}`mr_mig_min:.3f` and {glue:text}`mr_mig_max:.3f` at all 19 β, while
#   the β-TCVAEs' seed means range from {glue:text}`tc_mean_min:.3f` to
#   {glue:text}`tc_mean_max:.3f`. But the MR-VAE barely responds to β at all: its rate falls only
#   from {glue:text}`mr_rate_first:.1f` to {glue:text}`mr_rate_last:.1f` nats over β ∈ [0.1, 10]
#   (a factor {glue:text}`mr_rate_factor:.1f`), where the β-TCVAEs' falls from
#   {glue:text}`tc_rate_first:.1f` to {glue:text}`tc_rate_last:.1f` (a factor
#   {glue:text}`tc_rate_factor:.1f`). A model that barely uses β is trivially robust to it, so its
#   flat MIG is no evidence for the paper's claim that MR-VAEs are more robust to β. Trained
#   {glue:text}`longer:.0f`× as long, its rate span is {glue:text}`span_longer:.1f`: the
#   response does not come with training.
# - **Best MIG: not matched.** The MR-VAE's best MIG, {glue:text}`mr_mig_max:.3f`, is below the
#   best β-TCVAE seed mean ({glue:text}`tc_mean_max:.3f`, at β = {glue:text}`tc_best_mean_beta:.3g`)
#   and the best single β-TCVAE run ({glue:text}`tc_best_run:.3f`), of which it reaches
#   {glue:text}`mr_best_percent:.0f`%. The paper reports the two as competitive. The MR-VAE is
#   above the β-TCVAEs' seed mean at {glue:text}`mr_wins:.0f` of the {glue:text}`n_betas:.0f` β.

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
import dataclasses

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import display

from mrvae.book.figures import glue_figure, provenance, save_figure, use_book_style
from mrvae.book.prose import glue_number
from mrvae.book.runtime import (
    Stopwatch,
    pick_device,
    run_directory,
    seed_everything,
    select_profile,
)
from mrvae.book.seeds import BudgetTrend
from mrvae.data.dsprites import N_IMAGES, load_dsprites, subsample_indices
from mrvae.hyper.convert import convert, count_parameters
from mrvae.hyper.gates import BetaRange
from mrvae.metrics.mig import model_mig
from mrvae.metrics.rate_distortion import evaluate
from mrvae.models.tcvae import ChenMLPVAE
from mrvae.training import ConstantBeta, MultiRateBeta, TrainConfig, train

PROFILES = {
    # CPU: a random 8,192-image subsample, a narrow MLP, a few epochs, two seeds.
    "quick": {"train_images": 8192, "mig_images": 4096, "hidden": 256, "epochs": 8, "batch_size": 128,
              "lr": 3e-3, "seeds": 2, "mig_samples": 1000},
    # Chen et al.'s set-up as the paper uses it: all 737,280 images, batch 2048, 50 epochs, Adam.
    "paper": {"train_images": N_IMAGES, "mig_images": N_IMAGES, "hidden": 1200, "epochs": 50, "batch_size": 2048,
              "lr": 1e-3, "seeds": 3, "mig_samples": 10_000},
}
settings = select_profile(PROFILES, profile)
seed_everything(seed)
device = pick_device()
BETA_RANGE = BetaRange(0.1, 10.0)
LATENT_DIM = 10
clock = Stopwatch().__enter__()
use_book_style()
runs = run_directory(profile, "06_figure8")

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
# ## Training: one MR-VAE and the β-TCVAE baselines
#
# The encoder and decoder are {cite:t}`chen2018isolating`'s MLPs, 4096–1200–1200–(2×10) with ReLU and
# 10–1200–1200–1200–4096 with tanh, and a Bernoulli likelihood. The quick profile narrows the
# hidden layers to 256 units (stated in the figure's caption). Every model gets the same budget:
# the same epochs, batch size and learning rate. Trained models are cached under `runs/`, keyed
# by the package's source, so the book build reuses what the regression test trained.

# %% tags=["nbval-ignore-output", "hide-input", "remove-output"]
config = TrainConfig(epochs=settings["epochs"], batch_size=settings["batch_size"], lr=settings["lr"], seed=seed,
                     log_lines=2)


def chen_vae() -> ChenMLPVAE:
    return ChenMLPVAE(dataset_size=len(dsprites), latent_dim=LATENT_DIM, hidden=settings["hidden"]).to(device)


torch.manual_seed(seed)
mr_vae = convert(chen_vae(), BETA_RANGE)
mr_result = train(mr_vae, images, MultiRateBeta(BETA_RANGE.low, BETA_RANGE.high), config,
                  checkpoint_dir=runs / "mr_vae")
baseline_betas = BETA_RANGE.grid(10).tolist()
seeds = [seed + s for s in range(settings["seeds"])]
baselines: dict[tuple[int, float], ChenMLPVAE] = {}
baseline_seconds = 0.0
for s in seeds:
    for beta in baseline_betas:
        torch.manual_seed(s)
        model = chen_vae()
        result = train(model, images, ConstantBeta(beta), dataclasses.replace(config, seed=s),
                       checkpoint_dir=runs / f"tcvae_seed{s}_beta{beta:.4g}", log=lambda line: None)
        baselines[(s, beta)] = model
        baseline_seconds += sum(h["seconds"] for h in result.history)
mr_seconds = sum(h["seconds"] for h in mr_result.history)
print(f"MR-VAE: {mr_seconds:.0f} s; {len(baselines)} β-TCVAEs: {baseline_seconds:.0f} s in all")

# The MR-VAE again at LONGER x the epochs: whether more training makes it respond to β (the
# budget trend the scoreboard judges a miss by).
LONGER = 4
torch.manual_seed(seed)
mr_longer = convert(chen_vae(), BETA_RANGE)
train(mr_longer, images, MultiRateBeta(BETA_RANGE.low, BETA_RANGE.high),
      dataclasses.replace(config, epochs=LONGER * config.epochs), checkpoint_dir=runs / f"mr_vae_x{LONGER}",
      log=lambda line: None)

# %% tags=["hide-input", "nbval-ignore-output"]
print(f"trained 1 MR-VAE and {len(baselines)} β-TCVAEs ({len(baseline_betas)} β × {len(seeds)} seeds), "
      f"{config.epochs} epochs each")
print(f"final training loss, MR-VAE (β sampled): {mr_result.final['loss']:.2f}")

# %% [markdown]
# ## MIG across β
#
# The MR-VAE is evaluated at 19 log-spaced β (the baselines' 10 and the geometric midpoints); each
# β-TCVAE is evaluated at the β it was trained with.

# %% tags=["hide-input", "nbval-ignore-output"]
midpoints = [float(np.sqrt(a * b)) for a, b in zip(baseline_betas, baseline_betas[1:])]
mr_betas = sorted(baseline_betas + midpoints)
mig_options = {"num_samples": settings["mig_samples"], "seed": seed}
mr_mig = [model_mig(mr_vae, mig_images, mig_classes, b, **mig_options) for b in mr_betas]
baseline_mig = {key: model_mig(model, mig_images, mig_classes, key[1], **mig_options)
                for key, model in baselines.items()}
baseline_mig_array = np.array([[baseline_mig[(s, b)].mig for b in baseline_betas] for s in seeds])
mr_at_baseline = [mr_mig[mr_betas.index(b)].mig for b in baseline_betas]

# Three decimals of MIG, as before: what holds from run to run.
display(pd.DataFrame([
    {"β": f"{b:.3f}", "MR-VAE": f"{mr_at_baseline[i]:.3f}", "β-TCVAE, seed mean": f"{baseline_mig_array[:, i].mean():.3f}",
     "min": f"{baseline_mig_array[:, i].min():.3f}", "max": f"{baseline_mig_array[:, i].max():.3f}"}
    for i, b in enumerate(baseline_betas)
]).set_index("β"))
best_mr = max(r.mig for r in mr_mig)
display(pd.DataFrame([
    {"model": "MR-VAE (19 β)", "best MIG": f"{best_mr:.3f}",
     "spread (max − min)": f"{best_mr - min(r.mig for r in mr_mig):.3f}"},
    {"model": "β-TCVAEs, seed means (10 β)", "best MIG": f"{baseline_mig_array.mean(0).max():.3f}",
     "spread (max − min)": f"{np.ptp(baseline_mig_array.mean(0)):.3f}"},
    {"model": "β-TCVAEs, single runs", "best MIG": f"{baseline_mig_array.max():.3f}",
     "spread (max − min)": f"{np.ptp(baseline_mig_array):.3f}"},
]).set_index("model"))

# %% [markdown]
# ## Rate–distortion of both
#
# Rate is the analytic KL(q(z|x) ‖ p(z)) and distortion the Bernoulli negative log-likelihood,
# both in nats per image on the MIG images, one posterior sample each.

# %% tags=["hide-input", "nbval-ignore-output"]
mr_rd = [evaluate(mr_vae, mig_images, b) for b in mr_betas]
baseline_rd = {key: evaluate(model, mig_images, key[1]) for key, model in baselines.items()}
longer_rd = [evaluate(mr_longer, mig_images, b) for b in (mr_betas[0], mr_betas[-1])]
steps_per_epoch = -(-len(dsprites) // config.batch_size)
span_trend = BudgetTrend((config.epochs * steps_per_epoch, LONGER * config.epochs * steps_per_epoch),
                         (mr_rd[0]["rate"] / mr_rd[-1]["rate"], longer_rd[0]["rate"] / longer_rd[-1]["rate"]),
                         "Adam steps")
rd_table = []
for b in baseline_betas:
    mr_point = mr_rd[mr_betas.index(b)]
    rd_table.append({"β": f"{b:.3f}", "MR-VAE rate": f"{mr_point['rate']:.2f}",
                     "MR-VAE distortion": f"{mr_point['distortion']:.2f}",
                     "β-TCVAE rate (seed mean)": f"{np.mean([baseline_rd[(s, b)]['rate'] for s in seeds]):.2f}",
                     "β-TCVAE distortion (seed mean)": f"{np.mean([baseline_rd[(s, b)]['distortion'] for s in seeds]):.2f}"})
display(pd.DataFrame(rd_table).set_index("β"))

# %% tags=["hide-input", "nbval-ignore-output"]
# Two panels at the book's column width (about 7 in), so 8-pt text stays 8 pt on the page.
fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.0), dpi=150)
ax = axes[0]
ax.plot(mr_betas, [r.mig for r in mr_mig], "o-", ms=3, color="C3", label="MR-VAE (one run)")
mean, low, high = baseline_mig_array.mean(0), baseline_mig_array.min(0), baseline_mig_array.max(0)
ax.errorbar(baseline_betas, mean, yerr=[mean - low, high - mean], fmt="s", ms=5, mfc="none", mew=1.2, capsize=3,
            color="C0", label=f"β-TCVAEs (mean, min–max\nover {len(seeds)} seeds)")
ax.set_xscale("log")
ax.set_xlabel("β (weight on total correlation)")
ax.set_ylabel("MIG")
ax.set_title("Disentanglement across β")
ax.legend(loc="upper left")
ax = axes[1]
ax.plot([p["rate"] for p in mr_rd], [p["distortion"] for p in mr_rd], "o-", ms=3, color="C3", label="MR-VAE")
for k, s in enumerate(seeds):
    ax.plot([baseline_rd[(s, b)]["rate"] for b in baseline_betas],
            [baseline_rd[(s, b)]["distortion"] for b in baseline_betas], "s", ms=5, mfc="none", mew=1.2,
            color="C0", alpha=0.6 + 0.4 * (k == 0), label="β-TCVAEs" if k == 0 else None)
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
# **Figure 8.** Left: MIG of one MR-VAE trained with the β-TCVAE objective over β ∈ [0.1, 10]
# (read at 19 β) and of β-TCVAEs trained separately at 10 β (mean and range over seeds).
# Right: their rate and distortion. Quick profile: 8,192 procedurally rendered dSprites
# images (not the official file), MLPs of width 256 instead of 1,200, 8 epochs, two seeds per
# β-TCVAE; the paper profile was not run.
# ```

# %% tags=["remove-input", "nbval-ignore-output"]
# The numbers the prose quotes, glued from this run (myst-nb) so that none is typed by hand.

seed_means = baseline_mig_array.mean(0)
tc_rates = np.array([[baseline_rd[(s, b)]["rate"] for b in baseline_betas] for s in seeds]).mean(0)
tc_dists = np.array([[baseline_rd[(s, b)]["distortion"] for b in baseline_betas] for s in seeds]).mean(0)
glue_number("mr_mig_min", min(r.mig for r in mr_mig))
glue_number("mr_mig_max", best_mr)
glue_number("mr_mig_spread", best_mr - min(r.mig for r in mr_mig))
glue_number("tc_mean_min", seed_means.min())
glue_number("tc_mean_max", seed_means.max())
glue_number("tc_mean_spread", np.ptp(seed_means))
glue_number("tc_best_mean_beta", baseline_betas[int(seed_means.argmax())])
glue_number("tc_best_run", baseline_mig_array.max())
glue_number("tc_run_min", baseline_mig_array.min())
glue_number("mr_best_percent", 100 * best_mr / baseline_mig_array.max())
glue_number("mr_wins", sum(m > t for m, t in zip(mr_at_baseline, seed_means)))
glue_number("n_betas", len(baseline_betas))
glue_number("mr_rate_first", mr_rd[0]["rate"])
glue_number("mr_rate_last", mr_rd[-1]["rate"])
glue_number("mr_rate_factor", mr_rd[0]["rate"] / mr_rd[-1]["rate"])
glue_number("mr_dist_first", mr_rd[0]["distortion"])
glue_number("mr_dist_last", mr_rd[-1]["distortion"])
glue_number("tc_rate_first", tc_rates[0])
glue_number("tc_rate_last", tc_rates[-1])
glue_number("tc_rate_factor", tc_rates[0] / tc_rates[-1])
glue_number("tc_dist_last", tc_dists[-1])
glue_number("mr_other_gap_max", max(max(r.gap_per_factor["scale"], r.gap_per_factor["orientation"]) for r in mr_mig))
glue_number("mr_pos_gap_min", min(min(r.gap_per_factor["pos_x"], r.gap_per_factor["pos_y"]) for r in mr_mig))
glue_number("longer", LONGER)
glue_number("longer_steps", span_trend.budgets[-1])
glue_number("longer_rate_first", longer_rd[0]["rate"])
glue_number("longer_rate_last", longer_rd[-1]["rate"])
glue_number("span_first", span_trend.values[0])
glue_number("span_longer", span_trend.values[-1])

# %% [markdown]
# **Reading the numbers.** *(The quick-profile run the book is built from: 8,192 procedurally
# rendered images, hidden width 256, 8 epochs of 64 steps.)*
#
# - **A flat MIG from a model that barely uses β.** Over β ∈ [0.1, 10] the MR-VAE's MIG stays
#   between {glue:text}`mr_mig_min:.3f` and {glue:text}`mr_mig_max:.3f` (a spread of
#   {glue:text}`mr_mig_spread:.3f`), while the β-TCVAEs' seed means spread over
#   {glue:text}`tc_mean_spread:.3f` and single runs range from {glue:text}`tc_run_min:.3f` to
#   {glue:text}`tc_best_run:.3f` ({numref}`fig-figure8-tcvae-dsprites`, left). Its rate, though,
#   falls only from {glue:text}`mr_rate_first:.1f` to {glue:text}`mr_rate_last:.1f` nats and its
#   distortion rises from {glue:text}`mr_dist_first:.0f` to {glue:text}`mr_dist_last:.0f`; the
#   β-TCVAEs' rate falls from {glue:text}`tc_rate_first:.1f` to {glue:text}`tc_rate_last:.1f`
#   (seed means).
# - **More training does not make it respond.** Trained {glue:text}`longer:.0f`× as long
#   ({glue:text}`longer_steps:,.0f` steps), the MR-VAE's rate falls from
#   {glue:text}`longer_rate_first:.1f` to {glue:text}`longer_rate_last:.1f` nats over the range:
#   a span of {glue:text}`span_longer:.1f`, against {glue:text}`span_first:.1f` at the quick
#   budget. The shortfall is a plateau, not a short budget, so its flat MIG is not evidence of
#   robustness to β, and the scoreboard reads *differs*. At its low-β end the MR-VAE keeps much
#   less information than the β-TCVAE trained there. The authors' own plotting script draws
#   their MR-VAE's MIG almost flat over the same range, and their final β-TCVAE baselines were
#   trained only at β ≥ 1 (`experiments/misc/tc_vae` in their repository), so their figure
#   does not show whether their MR-VAE responds at small β either.
# - **The MR-VAE's MIG comes from position alone.** At every β its gaps for x and y position
#   are at least {glue:text}`mr_pos_gap_min:.3f`, while those for scale and orientation stay
#   below {glue:text}`mr_other_gap_max:.3f`.
# - **Best MIG: not matched at this budget.** The best β-TCVAE seed mean is
#   {glue:text}`tc_mean_max:.3f` (at β = {glue:text}`tc_best_mean_beta:.3g`) and the best single
#   run {glue:text}`tc_best_run:.3f`, against the MR-VAE's best {glue:text}`mr_mig_max:.3f`
#   ({glue:text}`mr_best_percent:.0f`% of the best run). The paper reports the two as
#   competitive. Absolute MIG values are low for both, after 8 epochs on 1% of dSprites.
# - **Rate–distortion.** At β = 10 the MR-VAE's distortion is {glue:text}`mr_dist_last:.0f` nats
#   at a rate of {glue:text}`mr_rate_last:.1f`, the β-TCVAEs' {glue:text}`tc_dist_last:.0f` at
#   {glue:text}`tc_rate_last:.1f` ({numref}`fig-figure8-tcvae-dsprites`, right). In the β-TCVAE
#   objective β weights only the total-correlation part of the rate, so this is not the
#   trade-off either model is trained to make; it is shown for completeness.
# - The paper profile (all 737,280 images, batch 2048, 50 epochs, full width, three seeds) needs
#   a GPU and was not run for this build.

# %% tags=["hide-input"]
params_mr, params_plain = count_parameters(mr_vae), count_parameters(next(iter(baselines.values())))
print(f"parameters: β-TCVAE {params_plain['total']:,}; MR-VAE {params_mr['total']:,} "
      f"(ratio {params_mr['total'] / params_plain['total']:.4f})")

# %% tags=["nbval-ignore-output", "hide-input", "remove-output"]
clock.__exit__()
path = save_figure(
    fig, "figure8_tcvae_dsprites", figure="Figure 8", notebook="06_figure8_tcvae_dsprites", profile=profile,
    data={"dsprites_source": dsprites.source, "train_images": len(dsprites), "mig_images": len(mig_rows),
          "mrvae": {"beta": mr_betas, "rate": [p["rate"] for p in mr_rd], "distortion": [p["distortion"] for p in mr_rd]},
          "beta_tcvae": {"beta": baseline_betas, "seeds": seeds,
                         "rate": [[baseline_rd[(s, b)]["rate"] for b in baseline_betas] for s in seeds],
                         "distortion": [[baseline_rd[(s, b)]["distortion"] for b in baseline_betas] for s in seeds]}},
    metrics={"mig": {"mrvae": {"beta": mr_betas, "mig": [r.mig for r in mr_mig],
                               "gap_per_factor": [r.gap_per_factor for r in mr_mig]},
                     "beta_tcvae": {"beta": baseline_betas, "seeds": seeds, "mig": baseline_mig_array.tolist()}},
             "overhead": {"parameter_ratio": params_mr["total"] / params_plain["total"],
                          "extra_parameters": params_mr["hyper"]},
             "train_seconds": {"mrvae": mr_seconds, "beta_tcvae_total": baseline_seconds},
             "budget_trend": {"rate_ratio": span_trend.to_json()}},
    provenance=provenance(seed=seed, config={"profile": settings, "beta_range": [BETA_RANGE.low, BETA_RANGE.high],
                                             "latent_dim": LATENT_DIM, "estimator": "mws"},
                          device=device, wall_seconds=clock.seconds),
    notes=f"dSprites source: {dsprites.source}",
)
print(f"wrote {path.name}; wall time {clock.seconds:.1f} s")

# %% tags=["remove-cell"]
# The regression check that nbval compares: one line per checked metric of this chapter's
# figures, "ok" inside the band measured across CPU kernel paths (mrvae.book.checks).
from mrvae.book.checks import print_checks

print_checks("figure8_tcvae_dsprites")
