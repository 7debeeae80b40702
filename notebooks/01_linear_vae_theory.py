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
# # Linear VAEs and Theorem 1
#
# A linear VAE (Section 2.2, Eq. 4) has closed-form optimal parameters. Replacing the
# decoder variance σ² by βσ² in {cite:t}`lucas2019dont`'s solution gives the whole
# **β-response function** (with $a_i = \max(0, \lambda_i - \beta\sigma^2)$, $\lambda_i$ the
# data covariance's eigenvalues and $U_k$ its top $k$ eigenvectors):
#
# $$
# \begin{aligned}
# D^*(\beta) &= U_k\,\mathrm{diag}\big(\sqrt{a_i}\big),\\
# E^*(\beta) &= \mathrm{diag}\big(\sqrt{a_i}/\lambda_i\big)\,U_k^\top,\\
# C^*(\beta) &= \mathrm{diag}\big(\min(\beta\sigma^2/\lambda_i,\ 1)\big).
# \end{aligned}
# $$
#
# Latent $i$ **collapses** at $\beta = \lambda_i/\sigma^2$. Section 3.2 of the paper
# {cite:p}`bae2023multirate` claims that the MR-VAE's gated two-layer parameterisation (Eq. 10)
# represents this response exactly:
#
# > **Theorem 1.** Consider the linear VAE model introduced in Eqn. 10. Let the encoder weight,
# > diagonal covariance matrix, and decoder weight be parameterized as
# > $E_\psi(\beta) = E^{(2)}_\psi(\beta)E^{(1)}_\psi(\beta)$,
# > $C_\psi(\beta) = C^{(2)}_\psi(\beta)C^{(1)}_\psi(\beta)$, and
# > $D_\psi(\beta) = D^{(2)}_\psi(\beta)D^{(1)}_\psi(\beta)$, respectively. Then, there exist
# > hypernetwork parameters $\psi^\star \in \mathbb{R}^h$ such that $E_{\psi^\star}(\beta)$,
# > $C_{\psi^\star}(\beta)$, and $D_{\psi^\star}(\beta)$ are the exact response functions for
# > linear VAEs.
#
# The paper adds: "we use a separate activation function (described in Eqn. 7) for encoder
# and decoder parameters to exactly represent the response functions": a sigmoid gate in the
# encoder and $\sqrt{\mathrm{ReLU}(1-e^x)}$ (the *sqrt gate*) in the decoder.
#
# **What this chapter finds: Theorem 1 does not hold as stated.** With Eq. 7's gates we can
# build ψ\* so that the decoder matches $D^*(\beta)$ to {glue:text}`thm1_D_error:.1e`
# (machine precision), but the encoder mean only to {glue:text}`thm1_E_error_sigmoid:.3f`.
# $E^*(\beta)$ is exactly representable (error {glue:text}`thm1_E_error_sqrt:.1e`) only if
# the encoder uses the decoder's sqrt gate instead of Eq. 7's sigmoid. The encoder variance
# $C^*(\beta)$ is not exactly representable by any product of Eq. 7's gates; the best sigmoid
# fit we found is off by {glue:text}`thm1_C_error:.3f` (all errors are maxima over matrix
# entries and β). The gap is in the proof: Appendix A.2 builds the encoder for a *fixed*
# decoder, while the response function's decoder changes with β
# ({ref}`where-the-proof-breaks`).
#
# The chapter first checks the closed form. It then shows the step of the proof that fails,
# builds the hypernetwork parameters ψ\* explicitly and measures how exact they are under each
# choice of gate. Last, it trains a linear MR-VAE by gradient descent and watches it approach
# the closed form. Everything here is in `mrvae.models.linear` (and the package's training
# loop, `mrvae.training.train`); this notebook only calls them and plots.

# %% tags=["parameters"]
profile = "quick"  # "quick" (CPU, minutes) or "paper" (longer training)
seed = 0

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import display
from myst_nb import glue

from mrvae_companion.figures import glue_figure, provenance, save_figure, use_book_style
from mrvae_companion.prose import yes_no
from mrvae_companion.runtime import Stopwatch, seed_everything, select_profile
from mrvae.hyper.gates import BetaRange
from mrvae.models.linear import LinearVAE, minimise_from_random_starts
from mrvae.models.linear_closed_form import (
    Spectrum,
    closed_form_response,
    expected_rate_distortion,
    optimal_rate_distortion,
    response_errors,
    theorem1_construction,
)
from mrvae.training import MultiRateBeta

PROFILES = {
    "quick": {"train_samples": 20_000, "steps": 1_000, "betas_per_step": 32, "lr": 1e-2,
              "choice_seeds": [0, 1, 2], "score_seeds": [3, 4, 5]},
    "paper": {"train_samples": 100_000, "steps": 20_000, "betas_per_step": 64, "lr": 1e-2,
              "choice_seeds": [0, 1, 2, 3, 4], "score_seeds": [5, 6, 7, 8, 9]},
}
settings = select_profile(PROFILES, profile)
seed_everything(seed)
clock = Stopwatch().__enter__()
use_book_style()

# %% [markdown]
# ## A synthetic problem with known covariance
#
# The data are 8-dimensional with eigenvalues λ = (10, 4, 1.5, 0.6, 0.3, 0.2, 0.1, 0.05) in a
# random basis. There are k = 4 latents and σ² = 1, so latents collapse at β = 10, 4, 1.5 and 0.6.
# The β grid runs from 1e-4 to 1e3 and crosses every collapse point.

# %%
SIGMA2, K = 1.0, 4
EIGENVALUES = torch.tensor([10.0, 4.0, 1.5, 0.6, 0.3, 0.2, 0.1, 0.05], dtype=torch.float64)
basis, _ = torch.linalg.qr(torch.randn(8, 8, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
spectrum = Spectrum(EIGENVALUES, basis)
covariance = spectrum.covariance()
beta_grid = torch.logspace(-4, 3, 400, dtype=torch.float64)
print("collapse points β = λ_i/σ²:", [round(float(v), 3) for v in EIGENVALUES[:K] / SIGMA2])

# %% [markdown]
# ## The closed form is the optimum
#
# We verify the closed form rather than trust it. At each β we check two things:
# 1. The exact rate and distortion of the closed form equal the formulas
#    $R^* = \tfrac12\sum_i \max(0, \log\frac{\lambda_i}{\beta\sigma^2})$ and
#    $D^* = \frac{1}{2\sigma^2}\big[\sum_{i\le k}\min(\lambda_i, \beta\sigma^2) + \sum_{i>k}\lambda_i\big]$.
# 2. The autograd gradient of the exact expected loss $D + \beta R$ vanishes there.
#
# Then L-BFGS from random starts must never beat the closed form.

# %% tags=["hide-input", "nbval-ignore-output"]
def loss_at(encoder, log_var, decoder, beta):
    rate, distortion = expected_rate_distortion(encoder, log_var.exp(), decoder, covariance, SIGMA2)
    return distortion + beta * rate


checks = []
for beta in [1e-3, 0.1, 1.0, 2.0, 5.0, 100.0]:
    e, c, d = (t.clone().requires_grad_(True) for t in closed_form_response(spectrum, SIGMA2, beta, K))
    log_var = c.detach().log().requires_grad_(True)
    value = loss_at(e, log_var, d, beta)
    value.backward()
    gradient = max(float(g.abs().max()) for g in (e.grad, log_var.grad, d.grad))
    rate, distortion = optimal_rate_distortion(EIGENVALUES, SIGMA2, beta, K)
    restarts = minimise_from_random_starts(covariance, SIGMA2, beta, K, restarts=4, seed=100)
    checks.append({"beta": beta, "formula_error": abs(float(value.detach()) - (distortion + beta * rate)),
                   "max_gradient": gradient, "closed_form_loss": float(value.detach()),
                   "best_restart_minus_closed_form": min(restarts) - float(value.detach())})

# The same rounding as the fixed-width table this replaced: claim-level, stable from run to run.
display(pd.DataFrame([
    {"β": f"{row['beta']:g}",
     "max |gradient|": "<1e-10" if row["max_gradient"] < 1e-10 else f"{row['max_gradient']}",
     "formula holds": yes_no(row["formula_error"] < 1e-10),
     "best restart − closed form": f"{row['best_restart_minus_closed_form']:.6f}"}
    for row in checks
]).set_index("β"))
print("no restart beat the closed form:", all(r["best_restart_minus_closed_form"] > -1e-9 for r in checks))

# %% [markdown]
# (where-the-proof-breaks)=
# ## Where the proof of Theorem 1 breaks
#
# Appendix A.2 proves the theorem one matrix at a time, writing $\eta = \log\beta$ and taking
# σ² = 1. For the encoder mean it takes the singular value decomposition of the decoder,
# $D = ASB^\top$, and the encoder that is optimal *for that decoder* (Eq. 24):
#
# $$
# E^\star(\eta) = B\,\big(S^2 + e^{\eta} I\big)^{-1} S A^\top .
# $$
#
# It then sets $E^{(1)}_{\text{base}} = A^\top$, $v^{(1)} = -1$, $s^{(1)}_i = 2\log S_{ii}$ and
# $E^{(2)}_\psi = BS^{-1}$, so that the sigmoid gate gives (Eqs. 27–28)
#
# $$
# \begin{aligned}
# \sigma_E\big(v^{(1)}\eta + s^{(1)}\big)_i
#   &= \frac{1}{1 + \exp\big(\eta - 2\log S_{ii}\big)}
#    = \frac{S_{ii}^2}{S_{ii}^2 + e^{\eta}},\\
# E^{(2)}_\psi(\eta)\,E^{(1)}_\psi(\eta) &= B\,\big(S^2 + e^{\eta} I\big)^{-1} S A^\top .
# \end{aligned}
# $$
#
# The encoder variance is handled the same way (Eqs. 29–32): the optimal variance for a
# decoder $D$ is a sigmoid in η once $\mathrm{diag}(D^\top D)$ is fixed,
#
# $$
# \begin{aligned}
# C^\star(\eta) &= e^{\eta}\,\big(\mathrm{diag}(D^\top D) + e^{\eta} I\big)^{-1},\\
# \text{with}\quad t^{(1)}_i &= 1,\qquad p^{(1)}_i = -\log\,\mathrm{diag}(D^\top D)_{ii} .
# \end{aligned}
# $$
#
# **This is the step that fails.** ψ\* is built from $S$ and $\mathrm{diag}(D^\top D)$ as if
# they were constants, but the response function pairs each β with its own optimal decoder
# $D = D^*(\beta)$ (Eq. 33), whose squared singular values are
# $S_{ii}^2 = \mathrm{diag}(D^\top D)_{ii} = a_i = (\lambda_i - \beta\sigma^2)_+$. The biases
# $s^{(1)}_i$ and $p^{(1)}_i$ would then have to change with β, which a hypernetwork
# parameter cannot do, and at collapse ($S_{ii} = 0$) neither they nor $BS^{-1}$ exist.
# Substituting $D^*(\beta)$ into Eqs. 24 and 29, and using $a_i + \beta\sigma^2 = \lambda_i$
# while latent $i$ is active, gives the response functions the MR-VAE must represent:
#
# $$
# \begin{aligned}
# E^*(\beta)_{i,:} &= \frac{\sqrt{a_i}}{a_i + \beta\sigma^2}\,u_i^\top
#   = \lambda_i^{-1/2}\,\sqrt{\mathrm{ReLU}\big(1 - e^{\log(\beta\sigma^2/\lambda_i)}\big)}\;u_i^\top,\\
# C^*(\beta)_{ii} &= \frac{\beta\sigma^2}{a_i + \beta\sigma^2}
#   = \min\!\big(\beta\sigma^2/\lambda_i,\ 1\big).
# \end{aligned}
# $$
#
# The encoder mean is exactly Eq. 7's *decoder* gate, which is 0 for all
# $\beta \ge \lambda_i/\sigma^2$; a sigmoid is never 0, so Eq. 7's sigmoid encoder can only
# approximate it. The variance has a kink at the collapse point: a product of sigmoid gates is
# analytic in $\log\beta$ and has none, and a sqrt gate with a nonzero slope is 0 on a
# half-line, which a variance cannot be. So **no choice of Eq. 7's gates represents $C^*$
# exactly.** The decoder half of the proof (Eqs. 33–39) is sound: $D^*$ depends on β only
# through $(\lambda_i - \beta\sigma^2)_+$ with the data's $\lambda_i$ fixed, and the sqrt gate
# represents it exactly.

# %% [markdown]
# ## Constructing ψ\* explicitly
#
# With $v_i = \log\beta + \log(\sigma^2/\lambda_i)$, the decoder's gate
# $\sqrt{\mathrm{ReLU}(1-e^{v_i})} = \sqrt{a_i/\lambda_i}$. So the decoder takes
# $D_1 = I$ gated with weight 1 and bias $\log(\sigma^2/\lambda_i)$ (in $\log\beta$; the
# code rewrites both in the standardised ν), and $D_2 = U_k\Lambda_k^{1/2}$. The two
# encoder factors are:
#
# * **encoder mean E.** With the decoder's sqrt gate ($E_1 = \Lambda_k^{-1/2}U_k^\top$,
#   $E_2 = I$ gated like $D_1$) the construction is exact. With Eq. 7's sigmoid we fit the
#   two sigmoid factors (and a scale) per latent to minimise the maximum error, and report
#   what that reaches.
# * **encoder variance C.** Both constructions use the best fit of two sigmoid factors to
#   $\min(\beta\sigma^2/\lambda_i, 1)$, since no product of Eq. 7's gates is exact.
#
# "sqrt gate on E" below means sqrt gates on D and on E. "Eq. 7 gates" means sqrt on D,
# sigmoid on E and C. The errors are maxima over all matrix entries and all 400 values of β.

# %% tags=["hide-input", "nbval-ignore-output"]
construction_range = BetaRange(1e-4, 1e3)
errors, gate_fit = {}, {}
hypers = {}
for name, encoder_gate in (("exact", "sqrt"), ("paper_gates", "sigmoid")):
    hypers[name], gate_fit[name] = theorem1_construction(spectrum, SIGMA2, K, construction_range,
                                                         encoder_gate=encoder_gate, fit_betas=beta_grid)
    errors[name] = response_errors(hypers[name], spectrum, SIGMA2, K, beta_grid)


def show(err: float) -> str:
    return "<1e-12" if err < 1e-12 else f"{err:.3f}"


# Rows: the three matrices; columns: the two constructions (same rounding as before: "<1e-12" or 3 decimals).
HOLDS = {"D": "yes, with Eq. 7's sqrt gate", "E": "only with the sqrt gate, not Eq. 7's sigmoid",
         "C": "no: best sigmoid fit (kink at collapse)"}
NAMES = {"D": "D (decoder)", "E": "E (encoder mean)", "C": "C (encoder variance)"}
display(pd.DataFrame([
    {"matrix": NAMES[key], "max |error|, sqrt gate on E": show(errors["exact"][key]),
     "max |error|, Eq. 7 gates": show(errors["paper_gates"][key]), "exactly representable?": HOLDS[key]}
    for key in "DEC"
]).set_index("matrix"))
print("decoder exact to <= 1e-10 under both:", all(errors[n]["D"] <= 1e-10 for n in errors))

# %% tags=["remove-input", "nbval-ignore-output"]
# The numbers the prose quotes, glued from this run (myst-nb) so that none is typed by hand.
glue("thm1_D_error", float(max(errors[n]["D"] for n in errors)), display=False)
glue("thm1_E_error_sqrt", float(errors["exact"]["E"]), display=False)
glue("thm1_E_error_sigmoid", float(errors["paper_gates"]["E"]), display=False)
glue("thm1_C_error", float(max(errors[n]["C"] for n in errors)), display=False)
glue("thm1_max_gradient", float(max(r["max_gradient"] for r in checks)), display=False)

# %% [markdown]
# **What holds exactly, under which gates.** The closed form is a critical point (largest
# gradient entry {glue:text}`thm1_max_gradient:.0e`) that no random restart beats. Under
# both constructions the decoder is exact to machine precision
# ({glue:text}`thm1_D_error:.1e`). The encoder mean is exact
# ({glue:text}`thm1_E_error_sqrt:.1e`) only with the sqrt gate; with Eq. 7's sigmoid the
# fitted gates miss by up to {glue:text}`thm1_E_error_sigmoid:.3f`. The encoder variance is
# not exact under either choice: the best sigmoid fit misses by up to
# {glue:text}`thm1_C_error:.3f`, on a quantity that lies between 0 and 1. So Theorem 1 holds
# exactly for D, for E only if the encoder uses the decoder's gate, and for C only
# approximately, whatever the gates. {numref}`fig-theorem1-response` shows where the sigmoid
# approximations miss. A fit that minimises the maximum error spreads it over a wide range of
# β, with errors of both signs: the encoder-mean rows fall off too smoothly and stay above 0
# past their collapse point, and the variances, which should be exactly 1 past collapse, swing
# above and below 1 there.

# %% tags=["hide-input", "nbval-ignore-output"]
def summarise(matrices):
    """Per-latent curves that don't depend on sign: ‖E_i,:‖, C_ii, ‖D_:,i‖²."""
    e, c, d = matrices
    return {"E": e.norm(dim=1), "C": c, "D": (d**2).sum(0)}


truth = [summarise(closed_form_response(spectrum, SIGMA2, b, K)) for b in beta_grid.tolist()]
paper = [summarise(hypers["paper_gates"].response(b)) for b in beta_grid.tolist()]
curves = {"beta": beta_grid.tolist()}
# Three panels a row at the book's column width (about 7 in), so 8-pt text stays 8 pt on the page.
fig, axes = plt.subplots(1, 3, figsize=(7.2, 2.7), dpi=150)
colors = plt.cm.viridis(np.linspace(0, 0.85, K))
for ax, key, title in zip(axes, "DEC", ["decoder\n$\\|D_{:,i}(\\beta)\\|^2$", "encoder mean\n$\\|E_{i,:}(\\beta)\\|$",
                                         "encoder variance\n$C_{ii}(\\beta)$"]):
    exact_curve = torch.stack([t[key] for t in truth]).numpy()
    paper_curve = torch.stack([t[key] for t in paper]).numpy()
    curves[f"{key}_closed_form"], curves[f"{key}_paper_gates"] = exact_curve.tolist(), paper_curve.tolist()
    for i in range(K):
        ax.axvline(float(EIGENVALUES[i]) / SIGMA2, color=colors[i], ls=":", lw=0.8,
                   label="collapse point $\\lambda_i/\\sigma^2$" if i == 0 else None)
        ax.plot(beta_grid, exact_curve[:, i], color=colors[i], lw=2.0, label="closed form" if i == 0 else None)
        ax.plot(beta_grid, paper_curve[:, i], color=colors[i], ls="--", lw=1.1,
                label="ψ* with Eq. 7's gates" if i == 0 else None)
    ax.set_xscale("log")
    ax.set_xlabel("β")
    ax.set_title(title)
handles, labels = axes[0].get_legend_handles_labels()
fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False)
fig.tight_layout(rect=(0, 0.08, 1, 1))
glue_figure("theorem1_response", fig)
path = save_figure(
    fig, "theorem1_linear_response", figure="Theorem 1", notebook="01_linear_vae_theory", profile=profile,
    data=curves,
    metrics={"max_abs_error": {name: {k: errors[name][k] for k in "DEC"} for name in errors},
             "gate_fit_max_error_per_latent": {name: {k: v.tolist() for k, v in fits.items()}
                                               for name, fits in gate_fit.items()},
             "closed_form_checks": checks},
    provenance=provenance(seed=seed, config={"sigma2": SIGMA2, "latent_dim": K, "eigenvalues": EIGENVALUES,
                                             "beta_grid": [1e-4, 1e3, 400]},
                          device=torch.device("cpu"), wall_seconds=clock.seconds),
    notes="'exact': sqrt gates on E and D; 'paper_gates': Eq. 7 (sigmoid encoder, sqrt decoder). "
          "C uses the best sigmoid fit in both; no product of Eq. 7 gates represents C* exactly.",
)

# %% [markdown]
# ```{glue:figure} theorem1_response
# :name: fig-theorem1-response
#
# **Theorem 1, closed form.** The closed-form β-response of the synthetic linear VAE (solid) and
# the explicitly constructed MR-VAE with Eq. 7's gates (dashed), per latent (colour), over
# 400 values of β; dotted lines mark each latent's collapse point. Left to right: squared
# decoder column norms (exact), encoder row norms (fitted sigmoids) and encoder variances
# (fitted sigmoids). The sqrt-gated encoder is not drawn: it lies on the closed form.
# ```

# %% [markdown]
# ## Training a linear MR-VAE by gradient descent
#
# The closed form is one thing; can the training objective (Eq. 11) find it? Each seed draws
# its own 20,000 samples from $N(0, S)$, its own initialisation and its own β draws, and
# trains the two-layer gated linear VAE (Eq. 10) on the exact expected objective for that
# sample's covariance (`mrvae.training.train_population`: Adam, log β drawn uniformly in
# [0.01, 100] at every step, the learning rate decaying on a cosine). The data enter only
# through their covariance, so what is left is pure optimisation.
#
# We compare training recipes, each on the same seeds:
# - **every factor gated**: Eq. 6 on each of the six factors, the decoder's output factor
#   included, gates starting open and training at 30× the learning rate (the package
#   default since the *Learning the β response* study);
# - **Theorem 1's placement**: the decoder's output factor $D_2$ left plain, as in the
#   construction above (and as the authors' networks leave the decoder's last layer);
# - the same with **the authors' gate initialisation**, $U(-1, 1)$ (their `nn.Linear(1, n)`);
# - the same with **one learning rate** for gates and weights, as in the authors' code.
#
# The recipe with the lowest median worst gap on these seeds is then scored on fresh seeds,
# so the verdict does not rest on the runs that chose it, and again at a quarter of the budget
# to see whether more training would help. Latents are identifiable only up to order and sign,
# so we compare quantities that don't depend on those: the worst relative gap of $D + \beta R$
# to the optimum over 60 β, the sorted squared column norms of $D(\beta)$ (which should equal
# $a_i = (\lambda_i - \beta\sigma^2)_+$), and the sorted $C(\beta)$. A latent is *active* if its
# $\|D_{:,i}\|^2$ exceeds $10^{-3}$ at some β.

# %% tags=["hide-input", "nbval-ignore-output"]
from mrvae_companion.seeds import BudgetTrend, summarize
from mrvae.models.linear import dead_gates, learned_response
from mrvae.training import train_population

train_range = BetaRange(0.01, 100.0)
eval_betas = train_range.grid(60)
RECIPES = {
    "every factor gated": {"gate_decoder_output": True, "init": "open", "hyper_lr_multiplier": 30.0},
    "Theorem 1's placement": {"gate_decoder_output": False, "init": "open", "hyper_lr_multiplier": 30.0},
    "+ authors' init U(−1, 1)": {"gate_decoder_output": False, "init": "uniform", "hyper_lr_multiplier": 30.0},
    "+ authors' init, one learning rate": {"gate_decoder_output": False, "init": "uniform",
                                           "hyper_lr_multiplier": 1.0},
}


def sample_covariance(data_seed: int):
    """The mean and covariance of one seed's samples of the synthetic problem."""
    gen = torch.Generator().manual_seed(data_seed + 1)
    samples = torch.randn(settings["train_samples"], 8, generator=gen, dtype=torch.float64) @ (
        basis * EIGENVALUES.sqrt()).T
    return samples.mean(0), torch.cov(samples.T, correction=0)


def train_recipe(recipe: dict, run_seed: int, steps: int):
    """One linear MR-VAE trained by ``recipe`` with seed ``run_seed``: its report and the model."""
    mean, cov = sample_covariance(run_seed)
    torch.manual_seed(run_seed)
    model = LinearVAE(8, K, SIGMA2, mean, dtype=torch.float64).multi_rate(
        train_range, init=recipe["init"], gate_decoder_output=recipe["gate_decoder_output"])
    train_population(model, cov, MultiRateBeta(train_range.low, train_range.high), steps=steps, lr=settings["lr"],
                     betas_per_step=settings["betas_per_step"], seed=run_seed,
                     hyper_lr_multiplier=recipe["hyper_lr_multiplier"], log_lines=0)
    report = learned_response(model, cov, eval_betas)
    report["dead_gates"] = sum(dead_gates(model).values())
    return report, model, cov


runs = {name: {s: train_recipe(recipe, s, settings["steps"])[0] for s in settings["choice_seeds"]}
        for name, recipe in RECIPES.items()}
recipe_rows = {name: {key: summarize([r[key] for r in by_seed.values()], list(by_seed))
                      for key in ("max_relative_gap", "active_latents", "dead_gates")}
               for name, by_seed in runs.items()}
chosen = min(recipe_rows, key=lambda name: recipe_rows[name]["max_relative_gap"].median)
scored = {s: train_recipe(RECIPES[chosen], s, settings["steps"]) for s in settings["score_seeds"]}
shorter = {s: train_recipe(RECIPES[chosen], s, settings["steps"] // 4)[0] for s in settings["score_seeds"]}
verdict_seeds = {key: summarize([scored[s][0][key] for s in scored], list(scored))
                 for key in ("max_relative_gap", "active_latents", "dead_gates")}
trends = {key: BudgetTrend((settings["steps"] // 4, settings["steps"]),
                           (summarize([r[key] for r in shorter.values()]).median, verdict_seeds[key].median), "steps")
          for key in ("max_relative_gap", "active_latents")}
trend = trends["max_relative_gap"]


def interval(summary, fmt):
    return f"{fmt(summary.median)} [{fmt(summary.low)}, {fmt(summary.high)}]"


table = [{"recipe": name, "seeds": ", ".join(map(str, settings["choice_seeds"])),
          "worst gap to optimum, median [range]": interval(rows["max_relative_gap"], lambda v: f"{v:+.1%}"),
          "active latents (of 4)": interval(rows["active_latents"], lambda v: f"{v:g}"),
          "dead decoder gates": interval(rows["dead_gates"], lambda v: f"{v:g}")}
         for name, rows in recipe_rows.items()]
table.append({"recipe": f"{chosen}, fresh seeds", "seeds": ", ".join(map(str, settings["score_seeds"])),
              "worst gap to optimum, median [range]": interval(verdict_seeds["max_relative_gap"],
                                                                lambda v: f"{v:+.1%}"),
              "active latents (of 4)": interval(verdict_seeds["active_latents"], lambda v: f"{v:g}"),
              "dead decoder gates": interval(verdict_seeds["dead_gates"], lambda v: f"{v:g}")})
display(pd.DataFrame(table).set_index("recipe"))
print(f"{chosen}, by budget (medians over seeds {settings['score_seeds']}): " + ", ".join(
    f"after {b:,.0f} steps worst gap {v:+.1%} and {n:g} active latents"
    for b, v, n in zip(trend.budgets, trend.values, trends["active_latents"].values)))

# %% tags=["remove-input", "nbval-ignore-output"]
# What the prose below quotes, from the tables above.
every, placed = recipe_rows["every factor gated"], recipe_rows["Theorem 1's placement"]
glue("train_every_gap", 100 * every["max_relative_gap"].median, display=False)
glue("train_every_dead", every["dead_gates"].median, display=False)
glue("train_placed_gap", 100 * placed["max_relative_gap"].median, display=False)
glue("train_chosen", chosen, display=False)
glue("train_chosen_gap", 100 * verdict_seeds["max_relative_gap"].median, display=False)
glue("train_chosen_gap_low", 100 * verdict_seeds["max_relative_gap"].low, display=False)
glue("train_chosen_gap_high", 100 * verdict_seeds["max_relative_gap"].high, display=False)
glue("train_chosen_active_low", verdict_seeds["active_latents"].low, display=False)
glue("train_chosen_active_high", verdict_seeds["active_latents"].high, display=False)
glue("train_short_steps", trend.budgets[0], display=False)
glue("train_short_gap", 100 * trend.values[0], display=False)
glue("train_steps", trend.budgets[1], display=False)
best_seed = min(scored, key=lambda s: scored[s][0]["max_relative_gap"])
glue("train_best_seed_gap", 100 * scored[best_seed][0]["max_relative_gap"], display=False)

# %% [markdown]
# **What training reaches, and what it does not.** With every factor gated, the median worst
# gap to the optimum is {glue:text}`train_every_gap:.0f`%: a median of
# {glue:text}`train_every_dead:.0f` of the sqrt gates are closed at every β of the range. Such a
# gate, $\sqrt{\mathrm{ReLU}(1 - e^{x})}$ with $x = w\nu + c \ge 0$ on the whole range, is zero
# with zero gradient, so nothing in training can reopen it. On the decoder's output factor a
# dead gate drops a data dimension from every reconstruction, which costs most at small β,
# where the optimal distortion is smallest. Leaving that factor plain, as Theorem 1's
# construction does, brings the median worst gap to {glue:text}`train_placed_gap:.0f`%. The
# remaining failures are latents whose gate on $D_1$ dies within the first few dozen Adam
# steps, while the large-β losses, which dominate the average, push every latent towards
# collapse faster than the gate learns to tell β apart. Scored on fresh seeds, the best recipe
# (*{glue:text}`train_chosen`*) has a median worst gap of {glue:text}`train_chosen_gap:.0f`%
# (range {glue:text}`train_chosen_gap_low:.0f`–{glue:text}`train_chosen_gap_high:.0f`%), with
# {glue:text}`train_chosen_active_low:.0f` to {glue:text}`train_chosen_active_high:.0f` of the
# 4 latents active; its best seed reaches {glue:text}`train_best_seed_gap:.1f`%. A quarter of
# the budget ({glue:text}`train_short_steps:,.0f` steps) gives {glue:text}`train_short_gap:.0f`%
# against {glue:text}`train_chosen_gap:.0f`% after {glue:text}`train_steps:,.0f`, and the same
# number of active latents: the surviving latents keep converging, but dead gates do not come
# back with more steps. So what is not learned is the decoder's response $D(\beta)$ of
# the collapsed latents (and with it their rows of $E(\beta)$); the parameterisation can
# represent it, as the construction above shows, but gradient descent from these starts does
# not find it.

# %% tags=["hide-input", "nbval-ignore-output"]
import seaborn as sns

# Two panels a row at the book's column width (about 7 in), so 8-pt text stays 8 pt on the page.
fig, axes = plt.subplots(1, 3, figsize=(7.2, 2.9), dpi=150, gridspec_kw={"width_ratios": [1.25, 1, 1]})
per_seed = pd.DataFrame([{"recipe": name.replace("+ ", "").replace("authors' ", "authors'\n"), "seed": s,
                          "worst gap (%)": 100 * r["max_relative_gap"]}
                         for name, by_seed in runs.items() for s, r in by_seed.items()])
sns.stripplot(data=per_seed, y="recipe", x="worst gap (%)", ax=axes[0], color="0.35", size=4, jitter=0.15)
sns.pointplot(data=per_seed, y="recipe", x="worst gap (%)", ax=axes[0], estimator="median", errorbar=None,
              linestyle="none", marker="|", markersize=12, color="C1")
axes[0].set(xscale="log", ylabel="", title="worst gap per seed\n(bar: median)")
axes[0].axvline(5, color="k", lw=0.8, ls=":")
eb = eval_betas.numpy()
spectrum_of = {s: Spectrum.of(scored[s][2]) for s in scored}
for s, (report, trained, cov) in scored.items():
    d_norms = torch.stack([torch.sort((trained.response(b)[2] ** 2).sum(0), descending=True).values
                           for b in eval_betas.tolist()])
    variances = torch.stack([torch.sort(trained.response(b)[1]).values for b in eval_betas.tolist()])
    axes[1].plot(eb, d_norms.numpy(), color="C1", lw=1.0, alpha=0.7)
    axes[2].plot(eb, variances.numpy(), color="C1", lw=1.0, alpha=0.7)
first = next(iter(scored))
truth_d = torch.stack([torch.clamp(spectrum_of[first].eigenvalues[:K] - b * SIGMA2, min=0) for b in eval_betas.tolist()])
truth_c = torch.stack([torch.sort(torch.clamp(b * SIGMA2 / spectrum_of[first].eigenvalues[:K], max=1)).values
                       for b in eval_betas.tolist()])
axes[1].plot(eb, truth_d.numpy(), color="k", ls="--", lw=1.2)
axes[2].plot(eb, truth_c.numpy(), color="k", ls="--", lw=1.2)
for ax, title in zip(axes[1:], ["sorted $\\|D_{:,i}(\\beta)\\|^2$", "sorted $C_{ii}(\\beta)$"]):
    ax.set(xscale="log", xlabel="β", title=title)
axes[2].set_yscale("log")
fig.tight_layout()
glue_figure("theorem1_training_fig", fig)
clock.__exit__()
recipe_metrics = {name: {key: summary.to_json() for key, summary in rows.items()} for name, rows in recipe_rows.items()}
path = save_figure(
    fig, "theorem1_training", figure="Theorem 1 (trained by gradient descent)", notebook="01_linear_vae_theory",
    profile=profile,
    data={"beta": eb.tolist(), "closed_form_D_norms": truth_d.tolist(), "closed_form_C": truth_c.tolist(),
          "recipes": {name: {str(s): {k: v for k, v in r.items() if k != "relative_gaps"} for s, r in by_seed.items()}
                      for name, by_seed in runs.items()},
          "scored": {str(s): {k: v for k, v in r[0].items()} for s, r in scored.items()}},
    metrics={"recipes": recipe_metrics, "chosen_recipe": chosen, "latent_dim": K,
             "seeds": {key: summary.to_json() for key, summary in verdict_seeds.items()},
             "budget_trend": {key: t.to_json() for key, t in trends.items()}},
    provenance=provenance(seed=seed, config={"profile": settings, "sigma2": SIGMA2, "latent_dim": K,
                                             "train_range": [train_range.low, train_range.high], "recipes": RECIPES},
                          device=torch.device("cpu"), wall_seconds=clock.seconds),
    notes="Synthetic Gaussian data; errors are against the closed form for each seed's sample covariance. "
          "Recipes compared on the choice seeds; the best one scored on the score seeds.",
)

# %% [markdown]
# ```{glue:figure} theorem1_training_fig
# :name: fig-theorem1-training
#
# **Theorem 1, trained.** Left: the worst relative gap of $D + \beta R$ to the
# closed-form optimum over 60 values of β in [0.01, 100], one dot per seed and recipe (bar: the
# median; dotted: 5%). Middle and right: the recipe chosen there, on fresh seeds (one line per
# seed), against the closed form for the first seed's sample covariance (dashed): the sorted
# squared decoder column norms and the sorted encoder variances (log scale). A latent whose
# decoder gate died stays at zero. Quick profile: exact-objective Adam, 20,000 samples per seed.
# ```

# %% [markdown]
# ## Takeaway
#
# Theorem 1 holds exactly for the decoder, whose sqrt gate reproduces $D^*(\beta)$ to
# {glue:text}`thm1_D_error:.1e`, but not as stated for the encoder: $E^*(\beta)$ is exact
# ({glue:text}`thm1_E_error_sqrt:.1e`) only with the decoder's sqrt gate, Eq. 7's sigmoid
# leaves an error of up to {glue:text}`thm1_E_error_sigmoid:.3f`, and no choice of Eq. 7's
# gates represents $C^*(\beta)$ exactly (best fit {glue:text}`thm1_C_error:.3f`). The flaw is
# in Appendix A.2's proof, which builds the encoder for a fixed decoder while $D^*(\beta)$
# moves with β. The later chapters keep Eq. 7's gates because they are the method the paper
# evaluates, so what they test is an MR-VAE that only approximates the optimal response even
# in the linear case, not one that provably contains it. The next chapter also trains a
# sqrt-gated encoder on MNIST, and the gate-ablation chapter (Appendix D) compares gates in a
# deep VAE. Finally, what a parameterisation can represent is not what training finds: the best
# recipe we found leaves a median worst gap of {glue:text}`train_chosen_gap:.0f`% to the
# optimum, because sqrt gates that close over the whole range never reopen.

# %% tags=["remove-cell"]
# The regression check that nbval compares: one line per checked metric of this chapter's
# figures, "ok" inside the band measured across CPU kernel paths (mrvae_companion.checks).
from mrvae_companion.checks import print_checks

print_checks("theorem1_linear_response", "theorem1_training")
