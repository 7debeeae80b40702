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
# # Figure 5, continued: a hierarchical VAE and an LSTM text VAE
#
# Figure 5 of the paper has two more kinds of panel than the conv and ResNet ones of the
# previous chapter: an **NVAE-style hierarchical VAE** (Vahdat & Kautz 2020) on binary MNIST,
# Omniglot and CelebA64, and an **autoregressive LSTM VAE** on Yahoo Answers (He et al. 2019).
# The claim is the same: one MR-VAE, trained once with $\log\beta \sim U[\log 0.01, \log 10]$,
# traces a rate–distortion curve as good as a sweep of separately trained β-VAEs.
#
# **The hierarchical VAE** (`mrvae.models.hierarchical`) follows the authors' fork of NVAE:
# residual encoder cells (BN–Swish–conv ×2 with squeeze-and-excitation), inverted-residual
# decoder cells, a bidirectional encoder whose top-down path the decoder shares, and groups of
# latents at two scales with residual-normal posteriors. The rate is the sum over groups of the
# analytic KL between each group's posterior and prior. Every conv but the output conv, and
# both linear layers of every squeeze-and-excitation block, carry a sigmoid gate (the fork's
# choice); the norms carry none. Its baselines are 4 β-VAEs at $\beta = $ `logspace(-2, 1, 4)`
# with a constant β, as in the paper.
#
# **The text VAE** (`mrvae.models.text`) is Appendix C's: word embeddings, one-layer LSTM
# encoder and decoder, a 32-dimensional latent fed to the decoder at every step and into its
# initial state, dropout 0.5 on the decoder's inputs and outputs. Sigmoid gates sit on the
# encoder's embedding, its final state and the μ/log σ² heads; sqrt gates on the decoder's word
# embedding and the $z \to$ initial-state projection (the authors' placement). Its baselines
# are 10 β-VAEs at `logspace(-2, 1, 10)`, once with a constant β and once with KL annealing
# (β rises linearly over the first 25% of training, as in the authors' schedule).
#
# **What the quick profile changes.** It is sized for a 2-core CPU, so every network is far
# smaller than the paper's and every model trains for about 300 steps:
#
# - hierarchical VAE: 4 channels, two scales of two 4-channel latent groups, one cell per
#   block; 4,800 training images, batch 64, 4 epochs of Adamax (lr 1e-2, one warm-up epoch,
#   then cosine decay, weight decay 3e-4); 1,000 test images. CelebA64 is not run: the paper's
#   CelebA64 NVAE is a different, much larger network.
# - text VAE: embedding 32, hidden 64, the 2,000 most frequent words, documents cut to 30
#   words; batch 64, 2 epochs of Adam (lr 3e-3, cosine decay); 1,000 test documents.
# - **Yahoo's training split is not available offline.** We train on a fixed-seed 9,000 of
#   the 10,000 documents of `yahoo.valid.txt`, validate on the other 1,000 and test on
#   `yahoo.test.txt`. With the official `yahoo.train.txt` beside them, the loader uses it.
#
# The `cpu` profile trains the authors' hierarchical network on the full binary-MNIST training
# set and the paper-sized text network; the `paper` profile (a GPU) uses the paper's budgets:
# 400 epochs for the hierarchical VAE and 100 for the text VAE.

# %% tags=["parameters"]
profile = "quick"  # "quick" (CPU, a few minutes), "cpu" (hours) or "paper" (a GPU)
seed = 0

# %%
import matplotlib.pyplot as plt

from mrvae.book.experiments import PAPER_BETA_RANGE
from mrvae.book.families import evaluate_family_panel, family_profile, fit_hierarchical_panel, fit_text_panel
from mrvae.book.figures import plot_rate_distortion, provenance, save_figure
from mrvae.book.runtime import Stopwatch, pick_device, run_directory, seed_everything
from mrvae.hyper.convert import count_parameters
from mrvae.metrics.text import evaluate_text
from mrvae.models.hierarchical import HierarchicalConfig, build_hierarchical_mr_vae
from mrvae.models.objective import Likelihood
from mrvae.models.text import AUTHORS_MR_HEAD_HIDDEN, TextVAEConfig, text_vae_parameter_count

settings = family_profile(profile)
seed_everything(seed)
device = pick_device()
runs = run_directory(profile, "families")
clock = Stopwatch().__enter__()
plt.rcParams.update({"figure.dpi": 90, "axes.grid": True, "grid.alpha": 0.3})
print(f"profile {profile}")

# %% [markdown]
# ## Parameter counts against Table 1
#
# Table 1 of the paper prints 88.68 and 89.50 ×10⁵ parameters for the hierarchical β-VAE and
# MR-VAE, and 88.21 and 93.51 ×10⁴ for the text ones. For the conv and ResNet rows the table's
# powers of ten are off by one, so we count the authors' configurations and see which reading
# fits.

# %%
nvae = count_parameters(build_hierarchical_mr_vae(HierarchicalConfig.paper(), Likelihood("bernoulli"),
                                                  PAPER_BETA_RANGE))
print(f"hierarchical VAE, the authors' MNIST/Omniglot network: β-VAE {nvae['base']:,}  MR-VAE {nvae['total']:,} "
      f"(+{nvae['hyper'] / nvae['base']:.2%})")
print("  Table 1, read as x 10^5:                            β-VAE 8,868,000  MR-VAE 8,950,000 (+0.92%)")

# The authors' text networks: LSTMs without biases (texar's "bias": 0.), a linear μ/log σ² head in
# the β-VAE but a 512-wide MLP head in the MR-VAE. Vocabulary 10,000 is the one size that fits.
authors_plain = TextVAEConfig(vocab_size=10_000, lstm_bias=False)
authors_gated = TextVAEConfig(vocab_size=10_000, lstm_bias=False, head_hidden=AUTHORS_MR_HEAD_HIDDEN)
plain_count = text_vae_parameter_count(10_000, authors_plain, gated=False)
gated_count = text_vae_parameter_count(10_000, authors_gated, gated=True)
print(f"text VAE, the authors' networks, 10,000 words: β-VAE {plain_count:,}  MR-VAE {gated_count:,} "
      f"(+{gated_count / plain_count - 1:.2%})")
print("  Table 1, read as x 10^5:                       β-VAE 8,821,000  MR-VAE 9,351,000 (+6.01%)")
ours = {v: (text_vae_parameter_count(v, gated=False), text_vae_parameter_count(v, gated=True))
        for v in (10_000, 20_001)}
for vocab, (plain, gated) in ours.items():
    print(f"text VAE, ours (linear heads, LSTM biases), {vocab:,} words: β-VAE {plain:,}  MR-VAE {gated:,} "
          f"(+{gated / plain - 1:.2%})")

# %% [markdown]
# Both rows fit Table 1 read as ×10⁵ (for the text VAE, ×10⁴ would be ten times too small: a
# 256-wide embedding of a 10,000-word vocabulary alone has 2.56M parameters). The hierarchical
# MR-VAE matches to four digits. Its β-VAE comes out 15k below the table's 88.68 ×10⁵: the
# table's figure equals the MR-VAE less only the gates of the cells' and combiners' convs,
# which suggests the gates on the stem, heads, skip paths and squeeze-and-excitation layers
# were counted as base parameters. The text MR-VAE's +6.01% is not the gates (0.06%) but the
# 512-wide MLP heads that the authors' MR-VAE has and their β-VAE lacks; ours uses the same
# heads for both, so its gates cost +0.02%.

# %% [markdown]
# ## Training
#
# Each hierarchical panel trains 5 models and the text panel 21. Models are cached under
# `runs/`, keyed by the package's source.

# %%
# NBVAL_IGNORE_OUTPUT
panels = [fit_hierarchical_panel(exp, run_dir=runs, device=device) for exp in settings.hierarchical]
if settings.text is not None:
    panels.append(fit_text_panel(settings.text, run_dir=runs, device=device))
results = {panel.tag: evaluate_family_panel(panel, seed=seed) for panel in panels}
print(f"{len(panels)} panels evaluated")

# %% [markdown]
# ## Does the MR-VAE learn its β response, and match the sweeps?
#
# For each panel: the MR-VAE's rate span over the 20-point grid, R(0.01)/R(10); whether its
# rate falls monotonically with β; the relative gap in $D + \beta R$ to each β-VAE sweep at
# the sweep's β (negative: MR-VAE better), as for the conv and ResNet panels; and its
# *coverage*, the MR-VAE's rate at β = 0.01 over the β-VAE's there. A span can be large just
# because the rate at β = 10 is near 0, and at small β the loss barely depends on the rate, so
# a small gap there is no evidence that the MR-VAE reaches the sweep's high-rate end; the
# coverage says whether it does.

# %%
print(f"{'panel':<28} {'R(a)/R(b)':>10} {'monotone':>9} {'sweep':>9} {'median gap':>11} {'worst gap':>10} "
      f"{'coverage':>9} {'β-VAEs monotone':>16}")
for tag, result in results.items():
    response = result["response"]
    # Two significant digits of span and whole percent of gap: what holds from run to run.
    span = float(f"{response['rate_ratio']:.2g}")
    for sweep in response["median_gap"]:
        print(f"{tag:<28} {span:>10g} {str(response['monotone']):>9} {sweep:>9} "
              f"{response['median_gap'][sweep]:>+11.0%} {response['worst_gap'][sweep]:>+10.0%} "
              f"{response['rate_coverage'][sweep]:>9.1f} {str(response['beta_vae_monotone'][sweep]):>16}")

# %% [markdown]
# ## The text metrics: perplexity, mutual information and active units
#
# At four β of the sweep, the MR-VAE (evaluated at that β) and the constant-β and annealed
# β-VAEs trained at it: per-word perplexity from the importance-weighted bound (Burda et al.
# 2016; `</s>` counted as a word, as He et al. do), the mutual information $I(x; z)$ under the
# encoder (He et al.'s estimator) and the number of active latent units.

# %%
text_metrics = {}
if settings.text is not None:
    text = panels[-1]
    documents = text.test[: settings.text_metric_documents]
    options = {"iw_samples": settings.iw_samples, "seed": seed}
    print(f"{len(documents)} test documents, {settings.iw_samples} importance samples")
    print(f"{'β':>6} {'model':>18} {'rate':>6} {'IW perplexity':>14} {'MI':>5} {'AU':>3}")
    for beta in (0.01, 0.1, 1.0, 10.0):
        models = {"MR-VAE": text.mr_vae, "β-VAE, constant": text.constant[beta], "β-VAE, annealed": text.annealed[beta]}
        for name, model in models.items():
            m = evaluate_text(model, documents, beta, **options)
            text_metrics[f"{name} @ {beta:g}"] = m
            print(f"{beta:>6g} {name:>18} {m['rate']:>6.1f} {m['iw_ppl']:>14.0f} {m['mi']:>5.1f} {m['au']:>3.0f}")

# %%
fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.3), squeeze=False)
for ax, panel in zip(axes[0], panels):
    result = results[panel.tag]
    plot_rate_distortion(ax, result["curve"], result["rows_constant"], result.get("rows_annealed"), title=panel.tag)
    ax.legend(fontsize=8)
fig.suptitle(f"Figure 5, other families ({profile} profile)")
fig.tight_layout()
plt.show()

# %% [markdown]
# **Reading the numbers.** *(The quick-profile run the book is built from: about 300 steps per
# model.)*
#
# - **Hierarchical VAE: the response is learned, the match is not, at this budget.** On both
#   datasets the MR-VAE's rate falls monotonically over the whole range, by a factor of 250 on
#   binary MNIST and 1,200 on Omniglot, and the β-VAE sweeps are monotone too. But its
#   $D + \beta R$ is 9% (binary MNIST) and 13% (Omniglot) above the β-VAEs' in the median,
#   and 22% and 35% in the worst case, at the low-β end, where it reaches about 0.6–0.7 of
#   the β-VAEs' rate. The paper's claim, a curve as good as the sweep, is not reproduced at
#   300 steps; the `cpu` and `paper` profiles test it at larger budgets.
# - **Text VAE: a small gap that hides a missing high-rate end.** The median gap to both
#   sweeps is about 0% and the worst 3%. Yet at β = 0.01 the MR-VAE's rate is 1.8 nats
#   against 27.8 (constant β) and 23.9 (annealed) for the β-VAEs, a coverage of 0.1: at small
#   β the loss barely depends on the rate, so the gap cannot see it. From β = 1 on, every model
#   has collapsed to a rate near 0, the well-known posterior collapse of LSTM VAEs (Bowman et
#   al. 2016; He et al. 2019), which KL annealing does not prevent at this budget either. The
#   best importance-weighted perplexity in the table is a β-VAE's (145, annealed, β = 0.1),
#   against the MR-VAE's 156–158. The claim is not reproduced at this budget.

# %%
# NBVAL_IGNORE_OUTPUT
clock.__exit__()
run_config = {"profile": profile, "settings": settings.describe()}
path = save_figure(
    fig, "figure5_other_families", figure="Figure 5", notebook="09_figure5_other_families", profile=profile,
    data={tag: {k: v for k, v in r.items() if k != "response"} for tag, r in results.items()},
    metrics={"response": {tag: r["response"] for tag, r in results.items()},
             "best_test_elbo": {tag: r["best_test_elbo"] for tag, r in results.items()},
             "parameters": {panel.tag: panel.parameters for panel in panels},
             "table1_parameters": {"nvae_paper_config": nvae, "text_authors_10k": {"beta_vae": plain_count,
                                                                                   "mr_vae": gated_count},
                                   "text_ours": {str(v): {"beta_vae": p, "mr_vae": g} for v, (p, g) in ours.items()}},
             "text": text_metrics},
    provenance=provenance(seed=seed, config=run_config, device=device, wall_seconds=clock.seconds),
    notes="Yahoo: trained on a fixed-seed 9,000 of the 10,000 documents of yahoo.valid.txt (the training "
          "split is not available offline); sources: " + "; ".join(f"{p.tag}: {p.source}" for p in panels),
)
print(f"wrote {path.name}; wall time {clock.seconds:.1f} s")
