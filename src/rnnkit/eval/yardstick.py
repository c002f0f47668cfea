"""Every result beside its yardstick: the baseline a model has to beat, the target of a calibration figure.

    sticks = [versus("accuracy", 0.81, "majority class", 0.40),
              calibration("80% interval covered", 0.78, target=0.80)]
    print(said(sticks))   # accuracy 0.8100 (majority class 0.4000); 80% interval covered 0.78 (target 0.80)

A model that does worse than its baseline, or a calibration further than ``tolerance`` from its target, carries
a warning; ``said`` prints it on its own line starting with ``WARNING:`` and ``add_to_report`` puts the same
lines at the top of a report. Recipes list their yardsticks (``Recipe.yardsticks``); the driver does the rest.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any


@dataclasses.dataclass(frozen=True)
class Yardstick:
    """One result in words, and what is wrong with it (None: nothing)."""

    text: str
    warning: str | None = None


def versus(name: str, value: float, baseline: str, baseline_value: float, *, higher_is_better: bool = True,
           digits: int = 4) -> Yardstick:
    """``name`` of the model beside the same figure of ``baseline``; a warning when the model is not better."""
    text = f"{name} {value:.{digits}f} ({baseline} baseline {baseline_value:.{digits}f})"
    worse = value < baseline_value if higher_is_better else value > baseline_value
    if not (math.isfinite(value) and math.isfinite(baseline_value)) or not worse:
        return Yardstick(text)
    return Yardstick(text, f"the model's {name} is worse than the {baseline} baseline's")


def calibration(name: str, observed: float, target: float, *, tolerance: float = 0.1) -> Yardstick:
    """A calibration figure beside its target: "80% interval covered 0.78 (target 0.80)"."""
    text = f"{name} {observed:.2f} (target {target:.2f})"
    if math.isfinite(observed) and abs(observed - target) <= tolerance:
        return Yardstick(text)
    return Yardstick(text, f"{name} {observed:.2f} is far from its target {target:.2f}")


def warnings(sticks: Sequence[Yardstick]) -> list[str]:
    return [stick.warning for stick in sticks if stick.warning]


def said(sticks: Sequence[Yardstick], *rest: str) -> str:
    """The yardsticks and ``rest`` in one line, then a ``WARNING:`` line per warning."""
    line = "; ".join([stick.text for stick in sticks] + [part for part in rest if part])
    return "\n".join([line] + [f"WARNING: {warning}" for warning in warnings(sticks)])


def add_to_report(report: Any, sticks: Sequence[Yardstick]) -> None:
    """The yardsticks as the report's first section, "Result against its baseline", warnings first."""
    if sticks:
        report.add_section("Result against its baseline")
        for warning in warnings(sticks):
            report.add_text(f"WARNING: {warning}.")
        report.add_table([{"result": stick.text, "verdict": "WARNING" if stick.warning else "ok"}
                          for stick in sticks])
        report.move_last_section_first()
