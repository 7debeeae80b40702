"""PanelResult: one panel measured once, written and read back in one layout; a renamed,
missing or mistyped field is an error that names it."""

from __future__ import annotations

import copy
import json
import math
import re

import pytest
import torch

from mrvae.hyper.gates import BetaRange
from mrvae.metrics.rate_distortion import rate_distortion_curve
from mrvae.models.benchmark import ArchitectureConfig, build_mr_vae, build_vae
from mrvae.models.objective import Likelihood
from mrvae_companion.panel_metrics import best_test_elbo, compare_at_betas, response_metrics
from mrvae_companion.panel_result import PanelResult
from mrvae_companion.schema import FigureSchemaError

RANGE = BetaRange(0.01, 10.0)


@pytest.fixture(scope="module")
def panel() -> tuple[PanelResult, dict]:
    """An untrained conv panel on random binary images: a constant and an annealed sweep of 3 β."""
    torch.manual_seed(0)
    arch, likelihood = ArchitectureConfig("conv", (1, 28, 28), 4, 1 / 32), Likelihood("bernoulli")
    mr_vae = build_mr_vae(arch, likelihood, RANGE)
    betas = RANGE.grid(3).tolist()
    constant = {b: build_vae(arch, likelihood) for b in betas}
    annealed = {b: build_vae(arch, likelihood) for b in betas}
    test = (torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(1)) > 0.7).float()
    result = PanelResult.evaluate(mr_vae, constant, annealed, test, source="synthetic", batch_size=8)
    curve = rate_distortion_curve(mr_vae, test, beta_range=RANGE, batch_size=8)
    rows = {name: compare_at_betas(mr_vae, sweep, test, batch_size=8)
            for name, sweep in (("constant", constant), ("annealed", annealed))}
    return result, {"curve": curve, "rows_constant": rows["constant"], "rows_annealed": rows["annealed"],
                    "response": response_metrics(curve, rows["constant"], rows["annealed"]),
                    "best_test_elbo": {"mr_vae": best_test_elbo(curve),
                                       **{name: best_test_elbo(r) for name, r in rows.items()}}}


def test_it_measures_the_curve_the_comparisons_and_the_response(panel) -> None:
    result, measured = panel
    assert [vars(p) for p in result.curve] == measured["curve"]
    assert [vars(r) for r in result.comparisons["constant"]] == measured["rows_constant"]
    assert [vars(r) for r in result.comparisons["annealed"]] == measured["rows_annealed"]
    assert result.response.to_json() == measured["response"]
    assert result.best_test_elbo == measured["best_test_elbo"]
    gaps = [r["gap"] for r in measured["rows_constant"]]
    assert result.worse_at() == (sum(g > 0 for g in gaps), 3) and result.finite


def test_the_figure_file_form_reads_back_equal(panel) -> None:
    result, _ = panel
    assert PanelResult.from_json(json.loads(json.dumps(result.to_json()))) == result
    constant_only = PanelResult.from_measurements(result.source, [vars(p) for p in result.curve],
                                                  {"constant": [vars(r) for r in result.comparisons["constant"]]})
    assert set(PanelResult.from_json(constant_only.to_json()).comparisons) == {"constant"}


@pytest.mark.parametrize(("path", "change"), [
    (("comparisons", "annealed"), lambda t, k: t.pop(k)),  # a sweep dropped, its gaps left in the response
    (("response", "rate_ratio"), lambda t, k: t.__setitem__(k, 99.0)),
    (("comparisons", "constant", 0, "gap"), lambda t, k: t.__setitem__(k, t[k] + 0.5)),
    (("best_test_elbo", "mr_vae"), lambda t, k: t.__setitem__(k, 1.0)),
])
def test_a_response_its_own_numbers_do_not_give_is_refused(panel, path, change) -> None:
    record = _changed(panel[0].to_json(), path, change)
    with pytest.raises(FigureSchemaError, match="is not the one its curve and comparisons give"):
        PanelResult.from_json(record)


def _changed(record: dict, path: tuple, change) -> dict:
    record = copy.deepcopy(record)
    *parents, last = path
    target = record
    for key in parents:
        target = target[key]
    change(target, last)
    return record


def _rename(new: str):
    return lambda target, key: target.__setitem__(new, target.pop(key))


@pytest.mark.parametrize(("path", "change", "message"), [
    (("curve",), _rename("points"), "panel fields missing ['curve'], unknown ['points']"),
    (("curve", 3, "rate"), _rename("rates"), "curve point 3: fields missing ['rate'], unknown ['rates']"),
    (("comparisons", "constant", 0, "gap"), lambda t, k: t.__setitem__(k, "+2%"), "gap must be numbers"),
    (("comparisons", "constant"), _rename("constant_beta"), "comparisons must map 'constant'"),
    (("comparisons", "annealed"), lambda t, k: t.__setitem__(k, []), "comparisons.annealed must be a non-empty list"),
    (("response", "rate_ratio"), _rename("span"), "response fields missing ['rate_ratio'], unknown ['span']"),
    (("best_test_elbo", "mr_vae"), _rename("mrvae"), "best_test_elbo must map 'mr_vae'"),
    (("source",), lambda t, k: t.__setitem__(k, None), "source must be a string"),
])
def test_a_renamed_missing_or_mistyped_field_is_named(panel, path, change, message) -> None:
    record = _changed(panel[0].to_json(), path, change)
    with pytest.raises(FigureSchemaError, match=re.escape(message)):
        PanelResult.from_json(record, "figures/x.json: panel")


def test_a_diverged_panel_reads_back_and_is_not_finite(panel) -> None:
    result = panel[0]
    curve = [{**vars(p), "rate": math.nan} if i == 0 else vars(p) for i, p in enumerate(result.curve)]
    diverged = PanelResult.from_measurements(result.source, curve,
                                             {k: [vars(r) for r in v] for k, v in result.comparisons.items()})
    assert not PanelResult.from_json(json.loads(json.dumps(diverged.to_json()))).finite


def test_a_panel_needs_a_curve_and_a_constant_sweep(panel) -> None:
    result = panel[0]
    with pytest.raises(ValueError, match="non-empty constant-β comparison"):
        PanelResult(result.source, (), result.comparisons, result.response, result.best_test_elbo)
    with pytest.raises(ValueError, match="unknown sweeps"):
        PanelResult(result.source, result.curve, {**result.comparisons, "cyclical": result.comparisons["constant"]},
                    result.response, result.best_test_elbo)
