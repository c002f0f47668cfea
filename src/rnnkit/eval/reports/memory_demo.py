"""What the memory demo shows: the terminal table, ``metrics.json`` and ``report.html``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from rnnkit.demo.memory import SOLVED_ACCURACY, MemoryDemoConfig
from rnnkit.eval.reports.document import Report, write_metrics
from rnnkit.eval.reports.plots import PAGE_WIDTH

CELL_NAMES = {"rnn": "Elman RNN", "lstm": "LSTM", "gru": "GRU", "mingru": "minGRU", "minlstm": "minLSTM"}
INTRO = (
    "Hochreiter & Schmidhuber (1997) showed that an LSTM learns to bridge time lags that defeat a plain "
    "recurrent network. Here an Elman RNN, an LSTM and a GRU of (nearly) equal parameter count get the same "
    "training budget on the adding problem and the temporal-order problem at growing lags. A problem counts as "
    f"solved when at least {SOLVED_ACCURACY:.0%} of 2,560 fresh test sequences are processed correctly "
    "(adding: absolute error below 0.04; temporal order: the right class)."
)


def table_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "problem": r["problem"], "lag": r["lag"], "cell": r["cell"], "hidden": r["hidden_size"],
            "params": r["parameters"], "solved": "yes" if r["solved"] else "no",
            "steps to solve": r["steps_to_solve"] if r["steps_to_solve"] is not None else "-",
            "test accuracy": round(r["test_accuracy"], 4),
            "test loss": round(r["test_loss"], 5),
            "seconds": round(r["seconds"], 1),
        }
        for r in sorted(results, key=lambda r: (r["problem"], r["lag"], r["cell"]))
    ]


def format_table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table for the terminal."""
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(str(row[c])) for row in rows)) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns), "  ".join("-" * widths[c] for c in columns)]
    lines += ["  ".join(str(row[c]).ljust(widths[c]) for c in columns) for row in rows]
    return "\n".join(lines)


def solved_matrix(results: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, bool]]]:
    """problem -> cell -> lag -> solved: the headline of metrics.json."""
    matrix: dict[str, dict[str, dict[str, bool]]] = {}
    for r in results:
        matrix.setdefault(r["problem"], {}).setdefault(r["cell"], {})[str(r["lag"])] = r["solved"]
    return matrix


def learning_curves_figure(results: list[dict[str, Any]], problem: str) -> Figure:
    runs = [r for r in results if r["problem"] == problem]
    lags = sorted({r["lag"] for r in runs})
    fig = Figure(figsize=(min(3.2 * len(lags), PAGE_WIDTH), 3.2), layout="constrained")
    axes = fig.subplots(1, len(lags), sharey=True, squeeze=False)[0]
    for ax, lag in zip(axes, lags):
        for r in sorted((r for r in runs if r["lag"] == lag), key=lambda r: r["cell"]):
            steps = [row["step"] for row in r["history"]]
            ax.plot(steps, [row.get("val_accuracy") for row in r["history"]], marker=".", label=r["cell"])
        ax.axhline(SOLVED_ACCURACY, color="grey", linestyle=":", linewidth=1)
        ax.set_title(f"lag {lag}")
        ax.set_xlabel("training step")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("validation accuracy")
    axes[-1].legend(fontsize="small")
    return fig


def gradient_figure(results: list[dict[str, Any]], problem: str, lag: int) -> Figure:
    """||dL/dh_t|| against distance on a log scale: one colour per cell, dashed at initialisation."""
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    ax = fig.subplots()
    runs = sorted((r for r in results if r["problem"] == problem and r["lag"] == lag and r["gradient_norms_init"]),
                  key=lambda r: r["cell"])
    for colour, r in zip((f"C{k}" for k in range(10)), runs):
        for key, style, when in (("gradient_norms_init", "--", "at initialisation"),
                                 ("gradient_norms_trained", "-", "after training")):
            norms = [v if v > 0 else float("nan") for v in r[key][:lag]]  # an exact 0 cannot sit on a log axis
            ax.plot(range(len(norms)), norms, style, color=colour, label=f"{r['cell']} {when}")
    ax.set_yscale("log")
    ax.set_xlabel("distance from the loss (steps)")
    ax.set_ylabel("mean ||dL/dh_t||")
    ax.set_title(f"{problem}, lag {lag}")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def write_outputs(out: Path, config: MemoryDemoConfig, results: list[dict[str, Any]], seconds: float) -> None:
    rows = table_rows(results)
    metrics = {
        "task": "demo",
        "config": config.__dict__,
        "solved": solved_matrix(results),
        "wall_seconds": round(seconds, 1),
        "results": [{k: v for k, v in r.items() if not k.startswith("gradient") and k != "history"}
                    for r in results],
    }
    write_metrics(out / "metrics.json", metrics)

    report = Report(f"Memory over long time lags: {', '.join(CELL_NAMES.get(c, c) for c in config.cells)}")
    report.add_text(INTRO)
    report.add_table(rows, caption=f"Results (budget {config.max_steps} steps of {config.batch_size} fresh "
                                   f"sequences; wall time {seconds:.0f} s)")
    for problem in config.problems:
        report.add_section(problem)
        report.add_figure(learning_curves_figure(results, problem),
                          "Validation accuracy while training; the dotted line is the 99% needed to count as solved.")
        lag = max(config.lags)
        if not any(r["gradient_norms_init"] for r in results if r["problem"] == problem and r["lag"] == lag):
            continue  # only stacked min cells here: their states are not traced one by one
        report.add_figure(
            gradient_figure(results, problem, lag),
            "The vanishing gradient: how strongly the loss at the end of a sequence reaches back to the hidden "
            "state t steps earlier (log scale). The Elman RNN's falls off geometrically; the gated cells keep it. "
            "(The stacked min cells are not traced: their states are computed in parallel.)")
    report.write(out / "report.html")
