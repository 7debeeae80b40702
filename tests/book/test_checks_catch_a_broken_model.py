"""Chapter 4's regression checks still fail when the claim fails.

The checks compare bands, not digits, so they must be shown to catch a real failure: an MR-VAE
whose gates are frozen at their initial value (open, the same for every β) is trained on the
Figure 1 panel's data and scored against the panel's committed β-VAEs. Its rate cannot depend on
β, and the check cell of the committed chapter-3 reference must read differently for it, which
is what makes nbval fail.
"""

from __future__ import annotations

import json
import statistics

import nbformat
import pytest
import torch

from mrvae.data import DatasetNotFoundError
from mrvae.hyper import BetaGate
from mrvae.metrics.rate_distortion import evaluate, rate_distortion_curve
from mrvae.models.benchmark import GatePlacement, build_mr_vae
from mrvae.training import MultiRateBeta, TrainConfig, train
from mrvae_companion import checks
from mrvae_companion.experiments import PAPER_BETA_RANGE, likelihood_for, load_experiment_data
from mrvae_companion.figures import REPO_ROOT, committed_figure_dir
from mrvae_companion.panel_metrics import response_metrics
from mrvae_companion.profiles import image_profile

FIGURE = "figure1_resnet_binary_mnist"
REFERENCE = REPO_ROOT / "tests" / "notebooks" / "04_figure5_rate_distortion.ipynb"


def _reference_check_lines() -> list[str]:
    """The lines chapter 4's committed reference prints for Figure 1 in its check cell."""
    notebook = nbformat.read(REFERENCE, as_version=4)
    cells = [cell for cell in notebook.cells if cell.cell_type == "code" and "print_checks(" in cell.source]
    assert len(cells) == 1, "chapter 4 should have exactly one regression-check cell"
    text = "".join(output.get("text", "") for output in cells[0].outputs)
    return [line for line in text.splitlines() if line.startswith(FIGURE + ":")]


def _check_lines(directory, capsys) -> list[str]:
    checks.print_checks(FIGURE, directory=directory)
    return [line for line in capsys.readouterr().out.splitlines() if line.startswith(FIGURE + ":")]


@pytest.fixture(scope="module")
def frozen_gate_figure(tmp_path_factory):
    """Figure 1's JSON as the notebook would write it for an MR-VAE with frozen gates."""
    experiment = image_profile("quick").experiment("binary_mnist", "resnet")
    try:
        data = load_experiment_data(experiment)
    except DatasetNotFoundError as error:
        pytest.skip(f"binary MNIST is not available: {error}")
    torch.manual_seed(experiment.seed)
    model = build_mr_vae(experiment.architecture(), likelihood_for("binary_mnist"), PAPER_BETA_RANGE,
                         GatePlacement())
    gates = [module for module in model.modules() if isinstance(module, BetaGate)]
    assert gates
    for gate in gates:
        gate.requires_grad_(False)
    before = [p.clone() for gate in gates for p in gate.parameters()]
    train(model, data.train[:512], MultiRateBeta(PAPER_BETA_RANGE.low, PAPER_BETA_RANGE.high),
          TrainConfig(epochs=1, batch_size=64, lr=3e-3), transform=data.transform, log=lambda _: None)
    assert all(torch.equal(a, p) for a, p in zip(before, (p for g in gates for p in g.parameters()), strict=True))

    committed = json.loads((committed_figure_dir() / f"{FIGURE}.json").read_text())
    curve = rate_distortion_curve(model, data.test, beta_range=PAPER_BETA_RANGE, seed=0)
    rows = []
    (panel,) = committed["data"]["panels"].values()  # the Figure 1 panel, as committed
    for row in panel["comparisons"]["constant"]:  # its β-VAEs
        mr = evaluate(model, data.test, row["beta"], seed=0)
        rows.append({**row, "mr_rate": mr["rate"], "mr_distortion": mr["distortion"], "mr_loss": mr["loss"],
                     "gap": (mr["loss"] - row["loss"]) / abs(row["loss"])})
    response = response_metrics(curve, rows)
    target_met = response["rate_ratio"] >= 10 and response["monotone"] and response["median_gap"]["constant"] <= 0.03
    folder = tmp_path_factory.mktemp("frozen")
    (folder / f"{FIGURE}.json").write_text(json.dumps({**committed, "metrics": {"response": response,
                                                                                "target_met": target_met}}))
    return folder, response, statistics.median(r["gap"] for r in rows)


def test_the_committed_figure_prints_what_the_reference_compares(capsys) -> None:
    assert _check_lines(committed_figure_dir(), capsys) == _reference_check_lines()


def test_frozen_gates_fail_chapter_3s_checks(frozen_gate_figure, capsys) -> None:
    folder, response, _ = frozen_gate_figure
    assert response["rate_ratio"] == pytest.approx(1.0, abs=1e-3)  # the rate no longer moves with β
    lines = _check_lines(folder, capsys)
    assert lines != _reference_check_lines()  # nbval fails the cell
    failed = [line for line in lines if "FAILED" in line]
    assert any(line.startswith(f"{FIGURE}: response.rate_ratio: FAILED = ") for line in failed), lines
