"""The claims scoreboard on the book's first page, generated from ``figures/*.json``.

One :class:`Claim` row per claim of the paper (one per family where the claim is made per
family): the paper's words in short, the number this build measured, the profile it came
from and a verdict. Every number is read from the figure JSON files the notebooks and the
benchmark scripts write; nothing is typed by hand. A missing file or metric gives a row that
says ``not run`` and prints no number.

Verdicts, and the rules that give them (thresholds are the constants of :mod:`.rules`; the
book's reproducing page gives each with its reason):

``reproduced``
    the claim holds by the rule of its row, over the whole interval of at least
    :data:`MIN_SEEDS` seeds (an analytic claim or a measurement needs no seeds);
``partly``
    part of it holds: some panels or sub-claims, an interval that straddles the rule, or a
    rule met by a single seed (a verdict one rerun could flip is not settled);
``not at this budget``
    it misses the rule, and the same claim measured at a smaller and a larger budget
    (``metrics.budget_trend``) moves toward the rule: more training may meet it;
``missed``
    it misses the rule, and no budget trend was measured: we cannot yet tell a short budget
    from a real difference;
``differs``
    it misses the rule where the budget is no excuse: a closed-form check, a measurement, a
    run at the paper's budget, or a budget trend that has stopped moving (a plateau);
``pipeline check``
    every panel the row rests on is one its profile trains too briefly to test the claim
    (``ImageProfile.pipeline_checks``, written to ``metrics.pipeline_checks`` of the Figure 5
    file): it shows that the code runs, and the bottom line does not count it;
``not run``
    the figure file or the metric the rule needs is missing.

Rate–distortion response (Figures 1 and 5, per panel): no response (a miss, judged by the
budget trend of the span) unless the MR-VAE's rate falls monotonically with β by at least
:data:`MIN_RATE_SPAN` over [a, b]; *reproduced* if in addition its median relative gap in
``D + βR`` to the β-VAEs (the worse of the sweeps) is at most :data:`MAX_MEDIAN_GAP`, its
rate coverage is at least :data:`MIN_RATE_COVERAGE` and every β-VAE sweep is itself
monotone in rate; *partly* otherwise. A family's row combines its panels with
:func:`combine_verdicts`. The other rows' rules are in the docstrings of their builders.

The modules: :mod:`.rules` (verdicts, thresholds, reading and judging), :mod:`.claims` and
:mod:`.quality` (the rows), :mod:`.format` and :mod:`.markdown` (what the book prints).
"""

from mrvae_companion.scoreboard.claims import CLAIMS, MAX_TRAIN_ONCE_FRACTION, ClaimSpec, scoreboard
from mrvae_companion.scoreboard.format import DATASET_NAMES, KIND_NAMES, fmt_percent, fmt_span, panel_name
from mrvae_companion.scoreboard.markdown import VERDICT_MEANINGS, bottom_line, rules_markdown, scoreboard_markdown
from mrvae_companion.scoreboard.rules import (
    ABLATION_TOLERANCE,
    COMPETITIVE_FRACTION,
    GAP_RULE,
    MAX_MEDIAN_GAP,
    MAX_OVERHEAD_RATIO,
    MIN_RATE_COVERAGE,
    MIN_RATE_SPAN,
    MIN_SEEDS,
    SCRIPT_CHAPTERS,
    UNGRADED,
    VERDICTS,
    Claim,
    NotRun,
    Verdict,
    combine_verdicts,
    kernel_readings,
)

__all__ = [
    "ABLATION_TOLERANCE", "CLAIMS", "COMPETITIVE_FRACTION", "DATASET_NAMES", "GAP_RULE", "KIND_NAMES",
    "MAX_MEDIAN_GAP", "MAX_OVERHEAD_RATIO", "MAX_TRAIN_ONCE_FRACTION", "MIN_RATE_COVERAGE", "MIN_RATE_SPAN",
    "MIN_SEEDS", "SCRIPT_CHAPTERS", "UNGRADED", "VERDICTS", "VERDICT_MEANINGS", "Claim", "ClaimSpec", "NotRun",
    "Verdict", "bottom_line", "combine_verdicts", "fmt_percent", "fmt_span", "kernel_readings", "panel_name",
    "rules_markdown",
    "scoreboard", "scoreboard_markdown",
]
