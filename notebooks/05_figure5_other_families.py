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
# previous chapter: an **NVAE-style hierarchical VAE** {cite:p}`vahdat2020nvae` on binary MNIST,
# Omniglot and CelebA64, and an **autoregressive LSTM VAE** on Yahoo Answers {cite:p}`he2019lagging`.
# The claim is the same: one MR-VAE, trained once with $\log\beta \sim U[\log 0.01, \log 10]$,
# traces a rate–distortion curve as good as a sweep of separately trained β-VAEs.
#
# **What this chapter finds.** Both families learn a response to β but neither matches its
# sweep at this budget. The hierarchical MR-VAE's rate falls by a factor of
# {glue:text}`binary_mnist_span:,.0f` on binary MNIST and {glue:text}`omniglot_span:,.0f` on
# Omniglot, yet its $D + \beta R$ is {glue:text}`binary_mnist_median_gap:+.0f`% and
# {glue:text}`omniglot_median_gap:+.0f`% from the β-VAEs' in the median. The text MR-VAE's
# median gap is small, at most {glue:text}`yahoo_median_gap:.0f`%, but only because the curve
# is flat where it falls short: at β = {glue:text}`yahoo_low_beta:g` it reaches
# {glue:text}`yahoo_coverage:.2f` of the β-VAEs' rate.
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
#   words; batch 64, 2 epochs of Adam (lr 3e-3, cosine decay); 1,000 test documents. Its
#   KL-annealed β-VAEs train at the four decades β = 0.01, 0.1, 1 and 10 only (where the text
#   metrics below are read), so that the whole book builds in 50 minutes on 2 CPU cores.
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

# %% tags=["hide-input"]
import textwrap

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

from mrvae_companion.experiments import PAPER_BETA_RANGE
from mrvae_companion.families import (
    evaluate_family_panel,
    family_profile,
    text_budget_study,
    train_family_panels,
)
from mrvae_companion.figures import (
    glue_figure,
    plot_panel,
    provenance,
    save_figure,
    use_book_style,
)
from mrvae_companion.prose import glue_number, panel_label, two_digits, yes_no
from mrvae_companion.runtime import Stopwatch, pick_device, run_directory, seed_everything
from mrvae.hyper.convert import count_parameters
from mrvae.metrics.text import evaluate_text
from mrvae.models.hierarchical import HierarchicalConfig, build_hierarchical_mr_vae
from mrvae.models.objective import Likelihood
from mrvae.models.text import AUTHORS_MR_HEAD_HIDDEN, TextVAEConfig, text_vae_parameter_count

settings = family_profile(profile)
seed_everything(seed)
device = pick_device()
runs = run_directory(profile, "families")
text_data = settings.text.load_data() if settings.text is not None else None
clock = Stopwatch().__enter__()
use_book_style()
print(f"profile {profile}")

# %% [markdown]
# ## Parameter counts against Table 1
#
# Table 1 of the paper prints 88.68 and 89.50 ×10⁵ parameters for the hierarchical β-VAE and
# MR-VAE, and 88.21 and 93.51 ×10⁴ for the text ones. For the conv and ResNet rows the table's
# powers of ten are off by one, so we count the authors' configurations and see which reading
# fits.

# %% tags=["hide-input"]
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
# Each hierarchical panel trains 5 models and the text panel
# {glue:text}`text_models:.0f`. Models are cached under `runs/`, keyed by the package's source.

# %% tags=["nbval-ignore-output", "hide-input", "remove-output"]
panels = train_family_panels(settings, text_data=text_data, run_dir=runs, device=device)
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

# %% tags=["hide-input", "nbval-ignore-output"]

# Whole percent of gap and one decimal of coverage: claim-level numbers that hold from run to run.
table = pd.DataFrame([
    {"panel": panel_label(tag), "β-VAE sweep": sweep, "rate span R(0.01)/R(10)": two_digits(r.rate_ratio),
     "monotone": yes_no(r.monotone), "median gap": f"{r.median_gap[sweep]:+.0%}",
     "worst gap": f"{r.worst_gap[sweep]:+.0%}", "coverage": f"{r.rate_coverage[sweep]:.1f}",
     "β-VAEs monotone": yes_no(r.beta_vae_monotone[sweep])}
    for tag, r in ((tag, result.response) for tag, result in results.items()) for sweep in r.median_gap
]).set_index(["panel", "β-VAE sweep"])
display(table)

# %% [markdown]
# ## The text metrics: perplexity, mutual information and active units
#
# At four β of the sweep, the MR-VAE (evaluated at that β) and the constant-β and annealed
# β-VAEs trained at it: per-word perplexity from the importance-weighted bound
# {cite:p}`burda2016importance`, counting `</s>` as a word as {cite:t}`he2019lagging` do; the mutual
# information $I(x; z)$ under the encoder (He et al.'s estimator); and the number of active latent units.

# %% tags=["hide-input", "nbval-ignore-output"]
text_metrics = {}
if settings.text is not None:
    text = panels[-1]
    documents = text.test[: settings.text_metric_documents]
    options = {"iw_samples": settings.iw_samples, "seed": seed}
    print(f"{len(documents)} test documents, {settings.iw_samples} importance samples")
    for beta in (0.01, 0.1, 1.0, 10.0):
        models = {"MR-VAE": text.mr_vae, "β-VAE, constant": text.constant[beta], "β-VAE, annealed": text.annealed[beta]}
        for name, model in models.items():
            text_metrics[(beta, name)] = evaluate_text(model, documents, beta, **options)
    display(pd.DataFrame([
        {"β": f"{beta:g}", "model": name, "rate (nats)": f"{m['rate']:.1f}", "IW perplexity": f"{m['iw_ppl']:.0f}",
         "MI (nats)": f"{m['mi']:.1f}", "active units": f"{m['au']:.0f}"}
        for (beta, name), m in text_metrics.items()
    ]).set_index(["β", "model"]))

# %% [markdown]
# ## Does a longer run let the text MR-VAE reach the high-rate end?
#
# The text MR-VAE is the one model here whose rate at small β stays far below the β-VAEs'.
# To tell a budget limit from a failure, we retrain it alone at multiples of its budget
# (each run with its own full learning-rate schedule) and read its rate at β = 0.01 and its
# coverage against the constant-β β-VAE there, trained at the base budget.

# %% tags=["hide-input", "nbval-ignore-output"]
budget_rows = []
if settings.text is not None and settings.text_budget_multipliers:
    budget_rows = text_budget_study(panels[-1], settings.text, text_data, settings.text_budget_multipliers,
                                    run_dir=runs, device=device)
    display(pd.DataFrame([{"epochs": int(r["epochs"]), "MR-VAE rate at β = 0.01": f"{r['rate']:.1f}",
                           "distortion": f"{r['distortion']:.0f}", "coverage": f"{r['coverage']:.2f}"}
                          for r in budget_rows]).set_index("epochs"))

# %% tags=["hide-input", "nbval-ignore-output"]
# Two panels a row at the book's column width (about 7 in), so 8-pt text stays 8 pt on the page.
columns = min(2, len(panels))
rows = -(-len(panels) // columns)
fig, axes = plt.subplots(rows, columns, figsize=(7.2, 3.2 * rows), squeeze=False, dpi=150)
for ax, panel in zip(axes.flat, panels):
    # Two panels share a row: a long panel name wraps rather than running into its neighbour's.
    plot_panel(ax, results[panel.tag], title=textwrap.fill(panel_label(panel.tag), 40))
    ax.legend()
for ax in list(axes.flat)[len(panels):]:
    ax.set_visible(False)
fig.tight_layout()
glue_figure("figure5_families", fig)

# %% [markdown]
# ```{glue:figure} figure5_families
# :name: fig-figure5-families
#
# **The paper's Figure 5 (other families).** Test rate–distortion curves of one MR-VAE (trained once over
# β ∈ [0.01, 10], read at 20 β) against β-VAEs trained separately at each β, with a constant β
# and, for the text VAE, with KL annealing (quick profile: at the four decades only). Quick
# profile: narrow networks and about 300 steps per model; Yahoo trained on 9,000 documents of its validation split (see above). CelebA64
# was not run.
# ```

# %% tags=["remove-input", "nbval-ignore-output"]
# The numbers the prose below quotes, glued from this run (myst-nb) so that none is typed by hand.

for exp in settings.hierarchical:
    response = results[exp.tag].response
    glue_number(f"{exp.dataset}_span", float(format(response.rate_ratio, ".2g")))
    glue_number(f"{exp.dataset}_median_gap", 100 * response.median_gap["constant"])
    glue_number(f"{exp.dataset}_worst_gap", 100 * response.worst_gap["constant"])
    glue_number(f"{exp.dataset}_coverage", response.rate_coverage["constant"])
if settings.text is not None:
    text_result = results[panels[-1].tag]
    glue_number("text_models", 1 + len(panels[-1].constant) + len(panels[-1].annealed or {}))
    response = text_result.response
    glue_number("yahoo_span", float(format(response.rate_ratio, ".2g")))
    glue_number("yahoo_median_gap", 100 * max(abs(g) for g in response.median_gap.values()))
    glue_number("yahoo_worst_gap", 100 * max(response.worst_gap.values()))
    glue_number("yahoo_coverage", response.rate_coverage["constant"])
    low = {name: text_result.comparisons[name][0] for name in ("constant", "annealed")}
    glue_number("yahoo_low_beta", low["constant"].beta)
    glue_number("yahoo_mr_rate", low["constant"].mr_rate)
    glue_number("yahoo_constant_rate", low["constant"].rate)
    glue_number("yahoo_annealed_rate", low["annealed"].rate)
    # Perplexities compared at the same β: the β at which a β-VAE's is lowest, and how often the
    # MR-VAE at a β is at least as good as both β-VAEs trained there.
    ppl_betas = sorted({beta for beta, _ in text_metrics})
    best_beta = min(ppl_betas, key=lambda b: min(text_metrics[(b, n)]["iw_ppl"]
                                                 for n in ("β-VAE, constant", "β-VAE, annealed")))
    glue_number("yahoo_ppl_beta", best_beta)
    glue_number("yahoo_ppl_mr", text_metrics[(best_beta, "MR-VAE")]["iw_ppl"])
    glue_number("yahoo_ppl_constant", text_metrics[(best_beta, "β-VAE, constant")]["iw_ppl"])
    glue_number("yahoo_ppl_annealed", text_metrics[(best_beta, "β-VAE, annealed")]["iw_ppl"])
    glue_number("yahoo_ppl_mr_wins", sum(text_metrics[(b, "MR-VAE")]["iw_ppl"] <= min(
        text_metrics[(b, n)]["iw_ppl"] for n in ("β-VAE, constant", "β-VAE, annealed")) for b in ppl_betas))
    glue_number("yahoo_ppl_betas", len(ppl_betas))
if budget_rows:
    glue_number("yahoo_budget_first_epochs", budget_rows[0]["epochs"])
    glue_number("yahoo_budget_first_rate", budget_rows[0]["rate"])
    glue_number("yahoo_budget_last_epochs", budget_rows[-1]["epochs"])
    glue_number("yahoo_budget_last_rate", budget_rows[-1]["rate"])
    glue_number("yahoo_budget_last_coverage", budget_rows[-1]["coverage"])

# %% [markdown]
# **Reading the numbers.** *(The quick-profile run the book is built from: about 300 steps per
# model. Every number below is this run's.)*
#
# - **Hierarchical VAE: the response is learned, the match is not, at this budget.** On both
#   datasets the MR-VAE's rate falls monotonically over the whole range, by a factor of
#   {glue:text}`binary_mnist_span:,.0f` on binary MNIST and {glue:text}`omniglot_span:,.0f` on
#   Omniglot, and the β-VAE sweeps are monotone too. But its $D + \beta R$ is
#   {glue:text}`binary_mnist_median_gap:+.0f`% (binary MNIST) and
#   {glue:text}`omniglot_median_gap:+.0f`% (Omniglot) away from the β-VAEs' in the median, and
#   {glue:text}`binary_mnist_worst_gap:+.0f`% and {glue:text}`omniglot_worst_gap:+.0f`% in the
#   worst case, at the low-β end, where it reaches {glue:text}`binary_mnist_coverage:.1f` and
#   {glue:text}`omniglot_coverage:.1f` of the β-VAEs' rate. So the claim holds in part (the
#   scoreboard's *partly*): one network learns the response, but its curve is not as good as
#   the sweep's at 300 steps; the `cpu` and `paper` profiles test it at larger budgets.
# - **Text VAE: a small gap that hides a missing high-rate end.** The median gap to either
#   sweep is at most {glue:text}`yahoo_median_gap:.0f`% and the worst
#   {glue:text}`yahoo_worst_gap:+.0f`%. Yet at β = {glue:text}`yahoo_low_beta:g` the MR-VAE's
#   rate is {glue:text}`yahoo_mr_rate:.1f` nats against {glue:text}`yahoo_constant_rate:.1f`
#   (constant β) and {glue:text}`yahoo_annealed_rate:.1f` (annealed) for the β-VAEs, a coverage
#   of {glue:text}`yahoo_coverage:.2f`: the rate–distortion curve is so flat here that the loss
#   barely depends on the rate, and the gap cannot see it. From β = 1 on, every model has
#   collapsed to a rate near 0, the well-known posterior collapse of LSTM VAEs
#   {cite:p}`bowman2016generating,he2019lagging`. Compared at the same β, the β-VAEs'
#   importance-weighted perplexity is lowest at β = {glue:text}`yahoo_ppl_beta:g`: there it is
#   {glue:text}`yahoo_ppl_constant:.0f` (constant β) and {glue:text}`yahoo_ppl_annealed:.0f`
#   (annealed), against the MR-VAE's {glue:text}`yahoo_ppl_mr:.0f` at that β. The MR-VAE is
#   at least as good as both β-VAEs at {glue:text}`yahoo_ppl_mr_wins:.0f` of the
#   {glue:text}`yahoo_ppl_betas:.0f` β of the table.
# - **More steps help, then stall.** Retrained alone (the table above), the MR-VAE's rate at
#   β = 0.01 goes from {glue:text}`yahoo_budget_first_rate:.1f` nats at
#   {glue:text}`yahoo_budget_first_epochs:.0f` epochs to {glue:text}`yahoo_budget_last_rate:.1f`
#   at {glue:text}`yahoo_budget_last_epochs:.0f` (coverage
#   {glue:text}`yahoo_budget_last_coverage:.2f`), while its distortion keeps falling: the longer
#   runs fit the text better but put little more information into $z$. The β-VAE at β = 0.01
#   reaches {glue:text}`yahoo_constant_rate:.1f` nats in {glue:text}`yahoo_budget_first_epochs:.0f`
#   epochs. So at this network size the shortfall is not only a matter of budget. The
#   scoreboard's *partly* for this panel rests on the small gap; the missing high-rate end is
#   the part of the claim that does not hold here. The authors trained a network 4–8× wider for
#   100 epochs on 100,000 documents, and the `paper` profile runs that set-up.

# %% tags=["nbval-ignore-output", "hide-input", "remove-output"]
clock.__exit__()
run_config = {"profile": profile, "settings": settings.describe()}
path = save_figure(
    fig, "figure5_other_families", figure="Figure 5", notebook="05_figure5_other_families", profile=profile,
    data={"panels": {tag: r.to_json() for tag, r in results.items()}},
    metrics={"response": {tag: r.response.to_json() for tag, r in results.items()},
             "best_test_elbo": {tag: dict(r.best_test_elbo) for tag, r in results.items()},
             "parameters": {panel.tag: panel.parameters for panel in panels},
             "table1_parameters": {"nvae_paper_config": nvae, "text_authors_10k": {"beta_vae": plain_count,
                                                                                   "mr_vae": gated_count},
                                   "text_ours": {str(v): {"beta_vae": p, "mr_vae": g} for v, (p, g) in ours.items()}},
             "text": {f"{name} @ {beta:g}": m for (beta, name), m in text_metrics.items()}, "text_budget": budget_rows},
    provenance=provenance(seed=seed, config=run_config, device=device, wall_seconds=clock.seconds),
    notes="Yahoo: trained on a fixed-seed 9,000 of the 10,000 documents of yahoo.valid.txt (the training "
          "split is not available offline); sources: " + "; ".join(f"{p.tag}: {p.source}" for p in panels),
)
print(f"wrote {path.name}; wall time {clock.seconds:.1f} s")

# %% tags=["remove-cell"]
# The regression check that nbval compares: one line per checked metric of this chapter's
# figures, "ok" inside the band measured across CPU kernel paths (mrvae_companion.checks).
from mrvae_companion.checks import print_checks

print_checks("figure5_other_families")
