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
# # Figures 6 and 7: active units, sample quality and samples across β
#
# An MR-VAE is one model for every β, so any metric can be traced along β from one training run.
# Figure 6 of the paper does this for **active units** (AU) and **FID**. The paper observes that
# MR-VAEs keep more latent units alive at large β and generate more realistic images at small
# β than separately trained β-VAEs. Figure 7 shows samples from the prior with the same z in every
# column: the MR-VAE's samples stay consistent across β because its base weights are shared.
#
# **What this chapter finds.** On the 28×28 panels the MR-VAE never has fewer than
# {glue:text}`small_mr_au_min:.0f` of its {glue:text}`small_latents:.0f` latents active at any β,
# while the β-VAEs start losing units at β = {glue:text}`small_bvae_first_drop_beta:.2g` and
# keep as few as {glue:text}`small_bvae_au_low:.0f`: the paper's resistance to dead units holds
# there. The RGB panels are trained for only {glue:text}`rgb_steps_min:.0f`–{glue:text}`rgb_steps_max:.0f`
# steps, and {glue:text}`rgb_beta_vaes_collapsed:.0f` of their {glue:text}`rgb_beta_vaes:.0f`
# β-VAEs have no active unit at all: their sample-quality numbers and samples show that the
# pipeline works, not whether the claim does.
#
# The models are those of the Figure 5 notebook (same profile, same cache under `runs/`; if
# they are missing they are trained here first). The set-up and the quick profile's reductions
# are described there.
#
# **Active units.** A latent $z_i$ is active if $\mathrm{Cov}_x\,\mathbb{E}_{q(z|x)}[z_i] > 0.01$
# {cite:p}`burda2016importance`, measured on the test images.
#
# **Sample quality: FID, or an honest substitute.** FID {cite:p}`heusel2017gans` is the Fréchet
# distance between Gaussians fitted to Inception-v3 {cite:p}`szegedy2016rethinking` pool features
# of real and generated images (`mrvae.metrics.fid`; the distance
# uses `scipy.linalg.sqrtm` and is unit-tested against closed forms). The Inception weights are
# not available offline. Then this notebook does **not** report FID. It reports the **Fréchet
# classifier distance (FCD)**: the same distance in the 128-d penultimate features of a small
# classifier trained here on CIFAR-10 training images. FCD ranks image sets similarly but is on
# a different scale, and it is not comparable with published FIDs. The FID panels appear
# whenever the weights are in the local torch cache (`mrvae.metrics.features.InceptionFeatures.download()`
# on a machine with internet).

# %% tags=["parameters"]
profile = "quick"  # "quick" (CPU) or "paper" (full size; a GPU)
seed = 0

# %% tags=["hide-input"]
import mrvae  # noqa: F401  (first: it lets a CUDA torchvision import on CPU torch; see mrvae._compat)

# isort: split
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import display
from myst_nb import glue
from torchvision.utils import make_grid

from mrvae_companion.experiments import BINARY_DATASETS, PAPER_BETA_RANGE, baseline_betas
from mrvae_companion.panels import train_image_experiments
from mrvae_companion.profiles import image_profile
from mrvae_companion.figures import (
    ANNEALED_STYLE,
    CONSTANT_STYLE,
    MR_STYLE,
    glue_figure,
    legend_below,
    mark_not_run,
    provenance,
    save_figure,
    use_book_style,
)
from mrvae_companion.prose import glue_number, panel_label, panel_title
from mrvae_companion.runtime import Stopwatch, pick_device, run_directory, seed_everything
from mrvae_companion.scoreboard import DATASET_NAMES
from mrvae.data.images import load_cifar10, subset
from mrvae.metrics.features import InceptionFeatures, accuracy, inception_weights_available, train_feature_classifier
from mrvae.metrics.fid import feature_statistics, frechet_distance
from mrvae.metrics.rate_distortion import active_units

settings = image_profile(profile)
seed_everything(seed)
device = pick_device()
KINDS = ("conv", "resnet")
BETAS = baseline_betas()
GRID = PAPER_BETA_RANGE.grid(20).tolist()
runs = run_directory(profile, "images")
clock = Stopwatch().__enter__()
use_book_style()
FEATURE_SETTINGS = {"quick": {"classifier_images": 10_000, "classifier_epochs": 3, "samples": 500},
                    "paper": {"classifier_images": None, "classifier_epochs": 10, "samples": 10_000}}[profile]


# %% tags=["nbval-ignore-output", "hide-input", "remove-output"]
panels, not_run = train_image_experiments(settings, KINDS, seed=seed, run_dir=runs, device=device)

# %% [markdown]
# ## Figure 6 (left): active units against β
#
# Active units of each panel's MR-VAE at the β of its constant-β sweep (10; in the quick
# profile, the conv panels and the RGB pipeline checks: the 4 decades), and of the β-VAE trained
# at each β of each sweep; the figures below also show the MR-VAE at its 20-point grid.

# %% tags=["hide-input", "nbval-ignore-output"]
def sweeps_of(panel) -> dict:
    """The panel's β-VAE sweeps by schedule; the quick profile trains the annealed one on Figure 1's panel only."""
    return {"constant": panel.constant, **({} if panel.annealed is None else {"annealed": panel.annealed})}


def sweep_betas(panel) -> list[float]:
    """The β of the panel's constant-β sweep, at which the MR-VAE is compared with it."""
    return sorted(panel.constant)


def betas_of(values: dict, series: str) -> list[float]:
    """The β of one series: a sweep trained at other β than the constant-β one (the quick
    profile's annealed sweep, at the decades) records them as ``<sweep>_betas``."""
    return values.get(f"{series}_betas", values["betas"])


au = {}
for (dataset, kind), panel in panels.items():
    test, betas = panel.data.test, sweep_betas(panel)
    au[(dataset, kind)] = {
        "grid": GRID, "betas": betas,
        "mrvae": [active_units(panel.mr_vae, test, b) for b in GRID],
        "mrvae_at_betas": [active_units(panel.mr_vae, test, b) for b in betas],
        **{name: [active_units(sweep[b], test, b) for b in sorted(sweep)] for name, sweep in sweeps_of(panel).items()},
        **{f"{name}_betas": sorted(sweep) for name, sweep in sweeps_of(panel).items() if sorted(sweep) != betas},
    }
NOT_TRAINED = "—"  # no β-VAE at this β on this panel
au_table = pd.DataFrame([
    {"panel": panel_label(panels[key].experiment.tag), "latents": panels[key].experiment.architecture().latent, "model": model,
     **{f"{b:.2g}": counts[series][betas_of(counts, series).index(b)] if b in betas_of(counts, series)
        else NOT_TRAINED for b in BETAS}}
    for key, counts in au.items()
    for model, series in (("MR-VAE", "mrvae_at_betas"), ("β-VAE, constant β", "constant"),
                          ("β-VAE, KL annealing", "annealed")) if series in counts
]).set_index(["panel", "latents", "model"])
au_table.columns.name = "β"
display(au_table)

# %% [markdown]
# ## Figure 6 (right): sample quality against β
#
# For every β, 500 samples (quick profile; 10,000 in the paper profile) are decoded from the same prior draws
# $z \sim N(0, I)$, clipped to [0, 1], and compared with as many test images.

# %% tags=["nbval-ignore-output", "hide-input"]
rgb = [key for key in panels if key[0] not in BINARY_DATASETS]
extractors = []
if rgb:
    cifar_train = load_cifar10("train")
    if FEATURE_SETTINGS["classifier_images"] is not None:
        cifar_train = subset(cifar_train, FEATURE_SETTINGS["classifier_images"], seed=seed)
    classifier = train_feature_classifier(cifar_train.images, cifar_train.labels,
                                          epochs=FEATURE_SETTINGS["classifier_epochs"], seed=seed, log=lambda line: None)
    classifier_accuracy = accuracy(classifier, load_cifar10("test").images, load_cifar10("test").labels)
    extractors.append(("FCD", classifier))
    if inception_weights_available():
        extractors.append(("FID", InceptionFeatures(device=device)))
metric_names = [name for name, _ in extractors]
print(f"feature spaces: {metric_names}; Inception weights available: {inception_weights_available()}")

# %% tags=["hide-input", "nbval-ignore-output"]
print(f"CIFAR-10 feature classifier: trained on {len(cifar_train):,} images, "
      f"test accuracy {classifier_accuracy:.3f}" if rgb else "no RGB dataset ran")


# %% tags=["hide-input", "nbval-ignore-output"]
@torch.no_grad()
def samples(model, beta, z):
    return model.decode_mean(z, beta).clamp(0, 1).cpu()


distances = {}
for (dataset, kind) in rgb:
    panel = panels[(dataset, kind)]
    latent = panel.experiment.architecture().latent
    z = torch.randn(FEATURE_SETTINGS["samples"], latent, generator=torch.Generator().manual_seed(seed)).to(device)
    real = panel.data.test[: FEATURE_SETTINGS["samples"]]
    for name, extractor in extractors:
        real_stats = feature_statistics(extractor, real)

        def distance(model, beta, extractor=extractor, real_stats=real_stats, z=z):
            return frechet_distance(*real_stats, *feature_statistics(extractor, samples(model, beta, z)))

        # The MR-VAE at the sweep's β, not at its 20-point grid: each distance decodes and
        # embeds a whole sample set, and the claim compares the two at the same β.
        betas = sweep_betas(panel)
        distances[(dataset, kind, name)] = {
            "grid": betas, "betas": betas,
            "mrvae": [distance(panel.mr_vae, b) for b in betas],
            **{sweep_name: [distance(sweep[b], b) for b in sorted(sweep)]
               for sweep_name, sweep in sweeps_of(panel).items()},
            **{f"{sweep_name}_betas": sorted(sweep) for sweep_name, sweep in sweeps_of(panel).items()
               if sorted(sweep) != betas},
        }
if distances:
    display(pd.DataFrame([
        {"panel": panel_label(panels[(dataset, kind)].experiment.tag), "distance": name,
         "best MR-VAE": f"{min(d['mrvae']):.2f}", "at β": f"{d['grid'][int(np.argmin(d['mrvae']))]:.2g}",
         "best β-VAE, constant β": f"{min(d['constant']):.2f}",
         "best β-VAE, KL annealing": f"{min(d['annealed']):.2f}" if "annealed" in d else "—"}
        for (dataset, kind, name), d in distances.items()
    ]).set_index(["panel", "distance"]))

# %% tags=["remove-input", "nbval-ignore-output"]
# The numbers the prose and the captions quote, glued from this run.
glue("not_run_datasets", ", ".join(DATASET_NAMES.get(d, d) for d in not_run) or "none", display=False)
glue("fid_status", "present" if "FID" in metric_names else "absent", display=False)
glue_number("fcd_samples", FEATURE_SETTINGS["samples"])
small = [key for key in au if key[0] in BINARY_DATASETS]
if small:
    latents = {panels[key].experiment.architecture().latent for key in small}
    sweep_minima = [min(au[key][sweep]) for key in small for sweep in ("constant", "annealed") if sweep in au[key]]
    dropped = [b for key in small for sweep in ("constant", "annealed") if sweep in au[key]
               for b, n in zip(betas_of(au[key], sweep), au[key][sweep], strict=True)
               if n < panels[key].experiment.architecture().latent]
    glue_number("small_latents", max(latents))
    glue_number("small_panels", len(small))
    glue_number("small_mr_full_panels", sum(min(au[key]["mrvae"]) == panels[key].experiment.architecture().latent
                                            for key in small))
    glue_number("small_mr_au_min", min(min(au[key]["mrvae"]) for key in small))
    glue_number("small_bvae_au_low", min(sweep_minima))
    glue_number("small_bvae_au_high", max(sweep_minima))
    glue_number("small_bvae_first_drop_beta", min(dropped) if dropped else float("nan"))
if rgb:
    rgb_steps = [panels[key].experiment.steps(panels[key].data.train.shape[0]) for key in rgb]
    glue_number("rgb_steps_min", min(rgb_steps))
    glue_number("rgb_steps_max", max(rgb_steps))
    glue_number("rgb_panels", len(rgb))
    rgb_sweeps = [au[key][sweep] for key in rgb for sweep in ("constant", "annealed") if sweep in au[key]]
    glue_number("rgb_beta_vaes", sum(map(len, rgb_sweeps)))
    glue_number("rgb_beta_vaes_collapsed", sum(n == 0 for sweep in rgb_sweeps for n in sweep))
    glue_number("rgb_mr_collapsed_panels", sum(max(au[key]["mrvae"]) == 0 for key in rgb))
    fcd = {key: distances[(*key, "FCD")] for key in rgb if (*key, "FCD") in distances}
    glue_number("fcd_panels", len(fcd))
    glue_number("fcd_mr_better", sum(min(d["mrvae"]) < min(min(d[s]) for s in ("constant", "annealed") if s in d)
                                     for d in fcd.values()))


# %% tags=["hide-input", "nbval-ignore-output"]
def draw_against_beta(fig, rows: list[tuple[str, str]], datasets: list[str]) -> None:
    """Rows of (metric, kind), one column per dataset; a single note where nothing ran."""
    if not rows or not datasets:
        mark_not_run(fig.subplots(), "", "no dataset of this group ran in this profile")
        return
    axes = fig.subplots(len(rows), len(datasets), squeeze=False)
    for row, (metric, kind) in enumerate(rows):
        for col, dataset in enumerate(datasets):
            ax = axes[row, col]
            values = au[(dataset, kind)] if metric == "active units" else distances[(dataset, kind, metric)]
            ax.plot(values["grid"], values["mrvae"], label="MR-VAE", **{**MR_STYLE, "ms": 2.5})
            ax.plot(betas_of(values, "constant"), values["constant"], label="β-VAE, constant β",
                    **{**CONSTANT_STYLE, "ms": 4.5})
            if "annealed" in values:
                ax.plot(betas_of(values, "annealed"), values["annealed"], label="β-VAE, KL annealing",
                        **{**ANNEALED_STYLE, "ms": 4.5})
            ax.set_xscale("log")
            if metric != "active units":
                ax.set_yscale("log")
            ax.set_title(panel_title((dataset, kind)))
            ax.set_xlabel("β")
            ax.set_ylabel(metric if metric == "active units" else f"{metric} (lower is better)")
    legend_below(fig)


ran = [d for d in settings.datasets if d not in not_run]
ran_small = [d for d in ran if d in BINARY_DATASETS]
ran_rgb = [d for d in ran if d not in BINARY_DATASETS]
au_rows = [("active units", kind) for kind in KINDS]
frechet_rows = [(metric, kind) for metric in metric_names for kind in KINDS]
figure6_parts = {"figure6_au_small": (au_rows, ran_small), "figure6_au_rgb": (au_rows, ran_rgb),
                 "figure6_frechet": (frechet_rows, ran_rgb)}
for key, (rows, datasets) in figure6_parts.items():
    part = plt.figure(figsize=(7.2, 2.6 * len(rows)) if rows and datasets else (7.2, 1.5), dpi=150,
                      layout="constrained")
    draw_against_beta(part, rows, datasets)
    glue_figure(key, part)

# Every panel that ran in one figure: the committed figures/figure6_active_units_fcd.png.
fig6 = plt.figure(figsize=(3.0 * max(1, len(ran)), 2.6 * (len(au_rows) + len(frechet_rows))), layout="constrained")
if frechet_rows and ran_rgb:
    top, bottom = fig6.subfigures(2, 1, height_ratios=[len(au_rows), len(frechet_rows)])
    draw_against_beta(top, au_rows, ran)
    draw_against_beta(bottom, frechet_rows, ran_rgb)
else:
    draw_against_beta(fig6, au_rows, ran)
plt.close(fig6)

# %% [markdown]
# ```{glue:figure} figure6_au_small
# :name: fig-figure6-active-units-28x28
#
# **The paper's Figure 6 (active units, 28×28 panels).** Active latent units on the test images against β:
# one MR-VAE read at 20 β, and β-VAEs trained at each of 10 β with a constant β and with KL
# annealing. The models are those of {doc}`Figure 5 <04_figure5_rate_distortion>` (quick
# profile: 1,000 Adam steps per model; KL annealing on the binary MNIST ResNet panel only).
# ```
#
# ```{glue:figure} figure6_au_rgb
# :name: fig-figure6-active-units-rgb
#
# **The paper's Figure 6 (active units, RGB panels).** As {numref}`fig-figure6-active-units-28x28`, for the RGB
# panels, trained for {glue:text}`rgb_steps_min:.0f`–{glue:text}`rgb_steps_max:.0f` Adam steps
# per model, with β-VAEs at the four decades only (pipeline checks). Not run (files not
# available offline): {glue:text}`not_run_datasets`.
# ```
#
# ```{glue:figure} figure6_frechet
# :name: fig-figure6-sample-quality
#
# **The paper's Figure 6 (sample quality, RGB panels).** Fréchet distance between
# {glue:text}`fcd_samples:,.0f` decoded prior samples and as many test images, against β, for
# the MR-VAE and the β-VAEs at the β of the panel's sweep. FCD is measured in the features of a CIFAR-10 classifier trained in this notebook: it is
# **not FID** and cannot be compared with the paper's FIDs (Inception weights in this build:
# {glue:text}`fid_status`). The 28×28 binary panels have no sample-quality row, as in the
# paper; {glue:text}`not_run_datasets` was not run.
# ```

# %% [markdown]
# ## Figure 7: samples across β, same z in every column
#
# Rows are β = 0.01, 0.1, 1 and 10; each column decodes one prior draw z. Left: the MR-VAE (one
# model). Right: the β-VAE with constant β trained at each β (four models).

# %% tags=["hide-input", "nbval-ignore-output"]
show_betas = [BETAS[i] for i in (0, 3, 6, 9)]
sample_panels = [key for key in rgb if key[1] == "resnet"]
fig7, axes = plt.subplots(len(sample_panels) or 1, 2, figsize=(7.2, 2.1 * max(1, len(sample_panels))), squeeze=False,
                          dpi=150)
for row, key in enumerate(sample_panels):
    panel = panels[key]
    z = torch.randn(8, panel.experiment.architecture().latent, generator=torch.Generator().manual_seed(seed + 1))
    z = z.to(device)
    for col, (label, model_at) in enumerate([("MR-VAE (one model)", lambda b, panel=panel: panel.mr_vae),
                                             ("β-VAEs (one per β)", lambda b, panel=panel: panel.constant[b])]):
        images = torch.cat([samples(model_at(b), b, z) for b in show_betas])
        grid = make_grid(images, nrow=8, padding=1, pad_value=1.0)
        ax = axes[row, col]
        ax.imshow(grid.permute(1, 2, 0).numpy())
        ax.set_yticks([(i + 0.5) * grid.shape[1] / len(show_betas) for i in range(len(show_betas))])
        ax.set_yticklabels([f"β={b:.2g}" for b in show_betas])
        ax.set_xticks([])
        ax.grid(False)
        ax.set_title(f"{DATASET_NAMES.get(key[0], key[0])}: {label}")
if not sample_panels:
    mark_not_run(axes[0, 0], "Figure 7", "no RGB dataset ran")
    axes[0, 1].set_visible(False)
fig7.tight_layout()
glue_figure("figure7", fig7, vector=False)

# %% [markdown]
# ```{glue:figure} figure7
# :name: fig-figure7-samples
#
# **The paper's Figure 7.** Prior samples of the ResNet panels, one row per β (0.01, 0.1, 1, 10) and one
# prior draw z per column, the same z in every row and in both halves. Left: the MR-VAE, one
# model evaluated at each β. Right: the β-VAEs with a constant β, one model per β. Quick
# profile: {glue:text}`rgb_steps_min:.0f`–{glue:text}`rgb_steps_max:.0f` Adam steps per model.
# The paper shows SVHN and CelebA; SVHN was not run here (files not available offline), so the
# figure shows CIFAR-10 and CelebA 64.
# ```

# %% [markdown]
# **Reading the numbers.** *(The quick-profile run the book is built from; every number below
# is this run's.)*
#
# - **Active units, 28×28 panels** ({numref}`fig-figure6-active-units-28x28`). The MR-VAE keeps all
#   {glue:text}`small_latents:.0f` latents active at every β of its grid on
#   {glue:text}`small_mr_full_panels:.0f` of the {glue:text}`small_panels:.0f` panels, and
#   never fewer than {glue:text}`small_mr_au_min:.0f`. The β-VAEs first lose units at β =
#   {glue:text}`small_bvae_first_drop_beta:.2g`, and the fewest active units in a β-VAE sweep
#   range from {glue:text}`small_bvae_au_low:.0f` to {glue:text}`small_bvae_au_high:.0f` of
#   {glue:text}`small_latents:.0f`. The paper observes that MR-VAEs are more resistant to dead
#   latent units at large β; these numbers are that comparison at this budget. Where the MR-VAE
#   keeps all its units, its rate still falls with β ({numref}`fig-figure5-28x28`): it puts less
#   information in each unit rather than switching units off.
# - **RGB panels** ({numref}`fig-figure6-active-units-rgb`) are trained for
#   {glue:text}`rgb_steps_min:.0f`–{glue:text}`rgb_steps_max:.0f` steps: there the numbers show
#   the pipeline, not the result. {glue:text}`rgb_beta_vaes_collapsed:.0f` of their
#   {glue:text}`rgb_beta_vaes:.0f` β-VAEs have no active unit at all, and on
#   {glue:text}`rgb_mr_collapsed_panels:.0f` of the {glue:text}`rgb_panels:.0f` RGB panels the
#   MR-VAE has none at any β.
# - **FCD** ({numref}`fig-figure6-sample-quality`) values are on their own scale: identical image
#   sets score 0 (a unit test checks it), and they cannot be compared with the paper's FIDs.
#   The best MR-VAE FCD is lower than the best β-VAE's on {glue:text}`fcd_mr_better:.0f` of
#   the {glue:text}`fcd_panels:.0f` RGB panels. The FID row appears when the Inception weights
#   are present; in this build they are {glue:text}`fid_status`.
# - **Figure 7** ({numref}`fig-figure7-samples`): at this budget the samples are far from the paper's.
#   In each column the MR-VAE decodes the same z with the same base weights at every β, which
#   is the consistency the paper points out; the β-VAEs' rows come from four separate models.

# %% tags=["nbval-ignore-output", "hide-input", "remove-output"]
clock.__exit__()
run_config = {"profile": profile, "settings": settings.describe(), "features": FEATURE_SETTINGS,
              "grid": GRID, "betas": BETAS}
au_data = {f"{d}-{k}": counts for (d, k), counts in au.items()}
distance_data = {f"{d}-{k}-{name}": values for (d, k, name), values in distances.items()}
path6 = save_figure(
    fig6, "figure6_active_units_fcd", figure="Figure 6", notebook="06_figures6_7_active_units_samples", profile=profile,
    data={"active_units": au_data, "frechet": distance_data},
    metrics={"active_units": au_data, "frechet_distance": distance_data, "feature_spaces": metric_names,
             "classifier_test_accuracy": classifier_accuracy if rgb else None, "not_run": not_run},
    provenance=provenance(seed=seed, config=run_config, device=device, wall_seconds=clock.seconds),
    notes="FCD is the Fréchet distance in the features of a CIFAR-10 classifier trained in this notebook; "
          "it is not FID. FID is reported only when Inception-v3 weights are available.",
)
path7 = save_figure(
    fig7, "figure7_samples", figure="Figure 7", notebook="06_figures6_7_active_units_samples", profile=profile,
    data={"betas": show_betas, "panels": [panels[k].experiment.tag for k in sample_panels]},
    metrics={"betas_shown": show_betas, "samples_per_row": 8},
    provenance=provenance(seed=seed, config=run_config, device=device, wall_seconds=clock.seconds),
)
print(f"wrote {path6.name} and {path7.name}; wall time {clock.seconds:.1f} s")

# %% tags=["remove-cell"]
# The regression check that nbval compares: one line per checked metric of this chapter's
# figures, "ok" inside the band measured across CPU kernel paths (mrvae_companion.checks).
from mrvae_companion.checks import print_checks

print_checks("figure6_active_units_fcd")
