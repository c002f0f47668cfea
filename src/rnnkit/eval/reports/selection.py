"""The section every budgeted selection adds to its report: what was chosen and why, and each candidate tried.

    add_selection_section(report, summary, candidates)   # summary: "chosen", "why", ...; candidates: table rows
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rnnkit.eval.reports.document import Report


def add_selection_section(report: Report, summary: dict[str, Any], candidates: Sequence[dict[str, Any]], *,
                          scored_on: str) -> Report:
    """``scored_on`` says what a candidate's score is (lower is better)."""
    report.add_section("Selection")
    text = f"Chosen: {summary['chosen']}."
    if summary.get("why"):
        text += f" {summary['why'][0].upper()}{summary['why'][1:]}."
    spent = f" in {summary['seconds']:.0f} s of a {summary['budget_s']:.0f} s budget" if "seconds" in summary else ""
    report.add_text(f"{text}\n\nEvery candidate was scored on {scored_on} (lower is better); a candidate that would "
                    f"not fit in what was left of the budget was skipped{spent}.")
    report.add_table(list(candidates), caption="Candidates, in the order tried")
    if summary.get("ensembles"):  # a classifier's ensemble chosen on out-of-fold probabilities
        report.add_table(summary["ensembles"], caption="The ensembles compared on the out-of-fold probabilities "
                                                       "of the training data")
    if summary.get("mixtures"):  # a text classifier's mixtures with its n-gram partner
        report.add_table(summary["mixtures"], caption="The chosen network mixed with the n-gram model, on the same "
                                                      "validation share (weight 1: the n-gram model alone)")
    return report
