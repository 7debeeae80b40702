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
# **β-response function** (with $a_i = \max(0, \lambda_i - \beta\sigma^2)$):
#
# $$D^*(\beta) = U_k\,\mathrm{diag}(\sqrt{a_i}),\qquad
#   E^*(\beta) = \mathrm{diag}(\sqrt{a_i}/\lambda_i)\,U_k^\top,\qquad
#   C^*(\beta) = \mathrm{diag}(\min(\beta\sigma^2/\lambda_i, 1)).$$
#
# Latent $i$ **collapses** at $\beta = \lambda_i/\sigma^2$. Theorem 1 says the MR-VAE's
# gated two-layer parameterisation (Eq. 10) can represent this response exactly. This
# notebook first checks the closed form. It then builds the hypernetwork parameters ψ\*
# explicitly and measures how exact they are under each choice of gate. Last, it trains a
# linear MR-VAE by gradient descent and watches it approach the closed form.
#
# Everything here is in `mrvae.models.linear` (and its trainer, `mrvae.training.train_population`);
# this notebook only calls them and plots.

# %% tags=["parameters"]
profile = "quick"  # "quick" (CPU, minutes) or "paper" (longer training)
seed = 0

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import numpy as np
import torch

from mrvae.book.figures import provenance, save_figure
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
plt.rcParams.update({"figure.dpi": 90, "axes.grid": True, "grid.alpha": 0.3})

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

# %%
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

print(f"{'beta':>8} {'|grad|max':>10} {'formula ok':>10} {'best restart - closed form':>28}")
for row in checks:
    print(f"{row['beta']:>8g} {'<1e-10' if row['max_gradient'] < 1e-10 else row['max_gradient']:>10} "
          f"{str(row['formula_error'] < 1e-10):>10} {row['best_restart_minus_closed_form']:>28.6f}")
print("no restart beat the closed form:", all(r["best_restart_minus_closed_form"] > -1e-9 for r in checks))

# %% [markdown]
# ## Theorem 1: constructing ψ\* explicitly
#
# With $v_i = \log\beta + \log(\sigma^2/\lambda_i)$, the decoder's gate
# $\sqrt{\mathrm{ReLU}(1-e^{v_i})} = \sqrt{a_i/\lambda_i}$. So the decoder takes
# $D_1 = I$ gated with weight 1 and bias $\log(\sigma^2/\lambda_i)$ (in $\log\beta$; the
# code rewrites both in the standardised ν), and $D_2 = U_k\Lambda_k^{1/2}$. The two
# encoder factors are:
#
# * **encoder mean E.** $E^*$ has rows $\sqrt{a_i}/\lambda_i\,u_i^\top$, which must vanish
#   exactly at collapse. With the same sqrt gate ($E_1 = \Lambda_k^{-1/2}U_k^\top$,
#   $E_2 = I$ gated like $D_1$) this is exact. Eq. 7's sigmoid gate is smooth and never 0,
#   so it can only approximate. We fit the two sigmoid factors (and a scale) per latent
#   to minimise the maximum error, and report what that reaches.
# * **encoder variance C.** $\min(\beta\sigma^2/\lambda_i, 1)$ has a kink at collapse and
#   is positive for every β. A product of gates that never vanishes must use only sigmoid
#   gates, because a sqrt gate with $w \neq 0$ is 0 on a half-line. Such a product is
#   analytic in $\log\beta$, so **no choice of Eq. 7's gates represents $C^*$ exactly.**
#   Both constructions use the best sigmoid fit for C.
#
# "exact" below means sqrt gates on D and on E. "paper_gates" means Eq. 7: sqrt on D,
# sigmoid on E and C. The errors are maxima over all matrix entries and all 400 values of β.

# %%
construction_range = BetaRange(1e-4, 1e3)
errors, gate_fit = {}, {}
hypers = {}
for name, encoder_gate in (("exact", "sqrt"), ("paper_gates", "sigmoid")):
    hypers[name], gate_fit[name] = theorem1_construction(spectrum, SIGMA2, K, construction_range,
                                                         encoder_gate=encoder_gate, fit_betas=beta_grid)
    errors[name] = response_errors(hypers[name], spectrum, SIGMA2, K, beta_grid)


def show(err: float) -> str:
    return "<1e-12" if err < 1e-12 else f"{err:.3f}"


print(f"{'construction':>12} {'D':>8} {'E':>8} {'C':>8}   (max abs error over the β grid)")
for name, err in errors.items():
    print(f"{name:>12} {show(err['D']):>8} {show(err['E']):>8} {show(err['C']):>8}")
print("decoder exact to <= 1e-10 under both:", all(errors[n]["D"] <= 1e-10 for n in errors))

# %% [markdown]
# Under both choices the decoder is exact to machine precision. The encoder mean is exact
# only with the sqrt gate; with Eq. 7's sigmoid it is off by the amount printed above. The
# encoder variance is never exact. So Theorem 1 holds exactly for D and for E, but only if
# the encoder uses the decoder's gate. For C it holds only approximately, whatever the gates.
# The figure shows where the sigmoid approximations miss: at the collapse points.

# %%
def summarise(matrices):
    """Per-latent curves that don't depend on sign: ‖E_i,:‖, C_ii, ‖D_:,i‖²."""
    e, c, d = matrices
    return {"E": e.norm(dim=1), "C": c, "D": (d**2).sum(0)}


truth = [summarise(closed_form_response(spectrum, SIGMA2, b, K)) for b in beta_grid.tolist()]
paper = [summarise(hypers["paper_gates"].response(b)) for b in beta_grid.tolist()]
curves = {"beta": beta_grid.tolist()}
fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
colors = plt.cm.viridis(np.linspace(0, 0.85, K))
for ax, key, title in zip(axes, "DEC", ["decoder: $\\|D_{:,i}(\\beta)\\|^2$", "encoder mean: $\\|E_{i,:}(\\beta)\\|$",
                                         "encoder variance: $C_{ii}(\\beta)$"]):
    exact_curve = torch.stack([t[key] for t in truth]).numpy()
    paper_curve = torch.stack([t[key] for t in paper]).numpy()
    curves[f"{key}_closed_form"], curves[f"{key}_paper_gates"] = exact_curve.tolist(), paper_curve.tolist()
    for i in range(K):
        ax.plot(beta_grid, exact_curve[:, i], color=colors[i], lw=2.2, label="closed form" if i == 0 else None)
        ax.plot(beta_grid, paper_curve[:, i], color=colors[i], ls="--", lw=1.2,
                label="ψ* with Eq. 7 gates" if i == 0 else None)
    ax.set_xscale("log")
    ax.set_xlabel("β")
    ax.set_title(title)
axes[0].legend(fontsize=8)
fig.suptitle("Theorem 1: closed-form β-response (solid) and the constructed MR-VAE with Eq. 7's gates (dashed)")
fig.tight_layout()
save_figure(
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
plt.show()

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

# %%
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

print(f"{'epochs':>6} {'max |‖D_i‖² - a_i|':>20} {'max |C - C*|':>14} {'max rel. gap to optimum':>24}")
for row in snapshot_errors:
    print(f"{row['epochs']:>6} {row['D_norm_max_error']:>20.3f} {row['C_max_error']:>14.3f} {row['max_relative_gap']:>24.4f}")

# %% [markdown]
# **What training reaches, and what it does not.** The table above has the numbers of this
# run. As training goes on, the top latents' $\|D_{:,i}(\beta)\|^2$ move towards
# $(\lambda_i - \beta\sigma^2)_+$ and switch off near the right β. In our quick-profile run,
# however, three of the four latents become active but settle below the closed form (the
# largest near 7 where the optimum is 10), and the smallest stays collapsed at every β: its
# decoder column is zero. The variances follow the closed form's slope but sit below it at
# small β. More epochs (30 → 100) did not close this, so the worst relative gap to the
# optimum stays far from 0. (With the gates' 30× learning rate, the package default since
# the *Learning the β response* study, one more latent becomes active than with a shared
# learning rate, which left two collapsed.) This is an optimisation failure of minibatch Adam
# from our initialisation. It is not a limit of
# the parameterisation: the construction above represents D exactly. We have not yet
# found a training recipe that recovers every latent here. For MNIST, the exact-objective
# training of Figure 4 (next chapter) gets much closer.

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
eb = eval_betas.numpy()
shades = plt.cm.Oranges(np.linspace(0.35, 1.0, len(snapshots)))
for (epochs, (d_norms, variances)), shade in zip(snapshots.items(), shades):
    axes[0].plot(eb, d_norms.numpy(), color=shade, lw=1.2)
    axes[1].plot(eb, variances.numpy(), color=shade, lw=1.2)
    axes[0].plot([], [], color=shade, label=f"MR-VAE after {epochs} epochs")
axes[0].plot(eb, truth_d.numpy(), color="k", ls="--", lw=1.5)
axes[1].plot(eb, truth_c.numpy(), color="k", ls="--", lw=1.5)
axes[0].plot([], [], color="k", ls="--", label="closed form")
for ax, title in zip(axes, ["sorted $\\|D_{:,i}(\\beta)\\|^2$ vs $(\\lambda_i-\\beta\\sigma^2)_+$",
                            "sorted $C_{ii}(\\beta)$ vs $\\min(\\beta\\sigma^2/\\lambda_i, 1)$"]):
    ax.set_xscale("log")
    ax.set_xlabel("β")
    ax.set_title(title)
axes[1].set_yscale("log")
axes[0].legend(fontsize=8)
fig.suptitle("A linear MR-VAE trained by minibatch Adam (solid) against the closed-form response (dashed)")
fig.tight_layout()
clock.__exit__()
save_figure(
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
plt.show()

