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

from mrvae.book.figures import glue_figure, provenance, save_figure, use_book_style
from mrvae.book.runtime import Stopwatch, seed_everything, select_profile
from mrvae.hyper.gates import BetaRange
from mrvae.models.linear import (
    LinearVAE,
    Spectrum,
    closed_form_response,
    expected_rate_distortion,
    minimise_from_random_starts,
    optimal_rate_distortion,
    response_errors,
    theorem1_construction,
)
from mrvae.training import MultiRateBeta, TrainConfig, train

PROFILES = {
    "quick": {"train_samples": 20_000, "snapshots": [1, 10, 30, 100], "batch_size": 128, "lr": 1e-2},
    "paper": {"train_samples": 100_000, "snapshots": [1, 10, 30, 100, 300], "batch_size": 128, "lr": 1e-2},
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
     "formula holds": str(row["formula_error"] < 1e-10),
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
# **Figure 1 (Theorem 1).** The closed-form β-response of the synthetic linear VAE (solid) and
# the explicitly constructed MR-VAE with Eq. 7's gates (dashed), per latent (colour), over
# 400 values of β; dotted lines mark each latent's collapse point. Left to right: squared
# decoder column norms (exact), encoder row norms (fitted sigmoids) and encoder variances
# (fitted sigmoids). The sqrt-gated encoder is not drawn: it lies on the closed form.
# ```

# %% [markdown]
# ## Training a linear MR-VAE by gradient descent
#
# The closed form is one thing; can the training objective (Eq. 11) find it? We sample
# data from $N(0, S)$ and train the two-layer gated linear VAE (Eq. 10) with Eq. 7's
# gates. The loop is the package's ordinary minibatch loop (Adam, β sampled per example
# in [0.01, 100]). We stop at a few snapshots: each snapshot **resumes** the previous
# checkpoint, which gives exactly the same run as an uninterrupted one.
#
# Latents are identifiable only up to order and sign. So we compare quantities that don't
# depend on those: the sorted squared column norms of $D(\beta)$, which should equal
# $a_i = (\lambda_i - \beta\sigma^2)_+$, and the sorted $C(\beta)$.

# %% tags=["hide-input", "nbval-ignore-output"]
import tempfile

train_range = BetaRange(0.01, 100.0)
gen = torch.Generator().manual_seed(seed + 1)
samples = torch.randn(settings["train_samples"], 8, generator=gen, dtype=torch.float64) @ (
    basis * EIGENVALUES.sqrt()).T
samples = samples.float()
model = LinearVAE(8, K, SIGMA2, samples.mean(0)).multi_rate(train_range)
eval_betas = train_range.grid(60)
sample_cov = torch.cov(samples.double().T, correction=0)
sample_spectrum = Spectrum.of(sample_cov)


def response_summary(m: LinearVAE):
    d_norms, variances = [], []
    for b in eval_betas.tolist():
        e, c, d = m.response(b)
        d_norms.append(torch.sort((d**2).sum(0), descending=True).values)
        variances.append(torch.sort(c).values)
    return torch.stack(d_norms), torch.stack(variances)


truth_d = torch.stack([torch.clamp(sample_spectrum.eigenvalues[:K] - b * SIGMA2, min=0) for b in eval_betas.tolist()])
truth_c = torch.stack([torch.sort(torch.clamp(b * SIGMA2 / sample_spectrum.eigenvalues[:K], max=1)).values
                       for b in eval_betas.tolist()])
snapshots, snapshot_errors = {}, []
with tempfile.TemporaryDirectory() as run_dir:
    for epochs in settings["snapshots"]:
        config = TrainConfig(epochs=epochs, batch_size=settings["batch_size"], lr=settings["lr"], seed=seed, log_lines=0)
        train(model, samples, MultiRateBeta(train_range.low, train_range.high), config, checkpoint_dir=run_dir,
              log=lambda line: None)
        d_norms, variances = response_summary(model)
        snapshots[epochs] = (d_norms, variances)
        optimum_gaps = []
        for b in eval_betas.tolist():
            r, dist = model.exact_rate_distortion(sample_cov, b)
            r0, d0 = optimal_rate_distortion(sample_spectrum.eigenvalues, SIGMA2, b, K)
            optimum_gaps.append((dist + b * r - (d0 + b * r0)) / (d0 + b * r0))
        snapshot_errors.append({"epochs": epochs, "D_norm_max_error": float((d_norms - truth_d).abs().max()),
                                "C_max_error": float((variances - truth_c).abs().max()),
                                "max_relative_gap": max(optimum_gaps)})

# The same rounding as the fixed-width table this replaced (3 and 4 decimals).
display(pd.DataFrame([
    {"epochs": row["epochs"], "max |‖D_i‖² − a_i|": f"{row['D_norm_max_error']:.3f}",
     "max |C − C*|": f"{row['C_max_error']:.3f}", "max rel. gap to optimum": f"{row['max_relative_gap']:.4f}"}
    for row in snapshot_errors
]).set_index("epochs"))

# %% tags=["remove-input", "nbval-ignore-output"]
# What the prose below quotes about training, from the last snapshot. A latent counts as active
# if its ‖D_i‖² exceeds 1e-3 at some β of the evaluation grid.
last_d = snapshots[settings["snapshots"][-1]][0].double()  # (β, K), sorted per β, largest first
peak = last_d.max(0).values
active = peak > 1e-3
glue("train_epochs_last", float(snapshot_errors[-1]["epochs"]), display=False)
glue("train_gap_last", 100 * float(snapshot_errors[-1]["max_relative_gap"]), display=False)
glue("train_epochs_prev", float(snapshot_errors[-2]["epochs"]), display=False)
glue("train_gap_prev", 100 * float(snapshot_errors[-2]["max_relative_gap"]), display=False)
glue("train_active", float(active.sum()), display=False)
glue("train_collapsed_peak", float(peak[~active].max()) if (~active).any() else 0.0, display=False)
glue("train_low_beta", float(eval_betas[0]), display=False)
ratio = last_d[0, active] / truth_d[0, active] if active.any() else torch.zeros(1, dtype=torch.float64)
glue("train_active_low", 100 * float(ratio.min()), display=False)
glue("train_active_high", 100 * float(ratio.max()), display=False)
glue("train_top_d", float(last_d[0, 0]), display=False)
glue("train_top_truth", float(truth_d[0, 0]), display=False)

# %% [markdown]
# **What training reaches, and what it does not.** The table above has the numbers of this
# run and {numref}`fig-theorem1-training` its curves. As training goes on, the top latents'
# $\|D_{:,i}(\beta)\|^2$ move towards $(\lambda_i - \beta\sigma^2)_+$ and switch off near the
# right β. But after {glue:text}`train_epochs_last:.0f` epochs only
# {glue:text}`train_active:.0f` of the 4 latents are active ($\|D_{:,i}\|^2$ above $10^{-3}$
# at some β); the others' $\|D_{:,i}\|^2$ stays below {glue:text}`train_collapsed_peak:.0e`
# at every β: their decoder columns are zero. At β = {glue:text}`train_low_beta:g` the active
# latents reach {glue:text}`train_active_low:.0f`–{glue:text}`train_active_high:.0f`% of the
# closed form's value (the largest {glue:text}`train_top_d:.1f` where the optimum is
# {glue:text}`train_top_truth:.1f`). The active latents' variances follow the closed form's
# slope in β but not its level at small β, and a collapsed latent's variance stays at 1. The worst relative gap to the optimum is
# {glue:text}`train_gap_prev:.0f`% after {glue:text}`train_epochs_prev:.0f` epochs and
# {glue:text}`train_gap_last:.0f`% after {glue:text}`train_epochs_last:.0f`. (With the gates'
# 30× learning rate, the package default since the *Learning the β response* study, one more
# latent becomes active than with a shared learning rate, which left two collapsed.) This is
# an optimisation failure of minibatch Adam from our initialisation. It is not a limit of the
# parameterisation: the construction above represents D exactly. We have not yet found a
# training recipe that recovers every latent here. For MNIST, the exact-objective training of
# Figure 4 (next chapter) gets much closer.

# %% tags=["hide-input", "nbval-ignore-output"]
# Two panels a row at the book's column width (about 7 in), so 8-pt text stays 8 pt on the page.
fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.0), dpi=150)
eb = eval_betas.numpy()
shades = plt.cm.Oranges(np.linspace(0.35, 1.0, len(snapshots)))
for (epochs, (d_norms, variances)), shade in zip(snapshots.items(), shades):
    axes[0].plot(eb, d_norms.numpy(), color=shade, lw=1.2)
    axes[1].plot(eb, variances.numpy(), color=shade, lw=1.2)
    axes[0].plot([], [], color=shade, label=f"MR-VAE after {epochs} epoch{'s' if epochs > 1 else ''}")
axes[0].plot(eb, truth_d.numpy(), color="k", ls="--", lw=1.5)
axes[1].plot(eb, truth_c.numpy(), color="k", ls="--", lw=1.5)
axes[0].plot([], [], color="k", ls="--", label="closed form")
for ax, title in zip(axes, ["sorted $\\|D_{:,i}(\\beta)\\|^2$\nagainst $(\\lambda_i-\\beta\\sigma^2)_+$",
                            "sorted $C_{ii}(\\beta)$\nagainst $\\min(\\beta\\sigma^2/\\lambda_i, 1)$"]):
    ax.set_xscale("log")
    ax.set_xlabel("β")
    ax.set_title(title)
axes[1].set_yscale("log")
handles, labels = axes[0].get_legend_handles_labels()
fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False)
fig.tight_layout(rect=(0, 0.12, 1, 1))
glue_figure("theorem1_training_fig", fig)
clock.__exit__()
path = save_figure(
    fig, "theorem1_training", figure="Theorem 1 (trained by gradient descent)", notebook="01_linear_vae_theory",
    profile=profile,
    data={"beta": eb.tolist(), "closed_form_D_norms": truth_d.tolist(), "closed_form_C": truth_c.tolist(),
          "snapshots": {str(k): {"D_norms": v[0].tolist(), "C": v[1].tolist()} for k, v in snapshots.items()}},
    metrics={"snapshots": snapshot_errors},
    provenance=provenance(seed=seed, config={"profile": settings, "sigma2": SIGMA2, "latent_dim": K,
                                             "train_range": [train_range.low, train_range.high]},
                          device=torch.device("cpu"), wall_seconds=clock.seconds),
    notes="Synthetic Gaussian data; errors are against the closed form for the sample covariance.",
)

# %% [markdown]
# ```{glue:figure} theorem1_training_fig
# :name: fig-theorem1-training
#
# **Figure 2 (Theorem 1, trained).** A linear MR-VAE with Eq. 7's gates trained by minibatch
# Adam on samples of the synthetic problem (solid, one shade per snapshot), against the closed
# form for the sample covariance (dashed), at 60 values of β in [0.01, 100]. Left: the sorted
# squared decoder column norms; right: the sorted encoder variances (log scale). Quick profile:
# 20,000 samples, snapshots after 1, 10, 30 and 100 epochs of one resumed run.
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
# deep VAE. Finally, what a parameterisation can represent is not what training finds:
# minibatch Adam here stays up to {glue:text}`train_gap_last:.0f`% from the optimum.

# %% tags=["remove-cell"]
# The regression check that nbval compares: one line per checked metric of this chapter's
# figures, "ok" inside the band measured across CPU kernel paths (mrvae.book.checks).
from mrvae.book.checks import print_checks

print_checks("theorem1_linear_response", "theorem1_training")
