"""Reports are one self-contained, escaped HTML file; plots are plain Figures; metrics.json is strict JSON."""

import base64
import io
import json
import math
import re

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.figure import Figure

from rnnkit.eval import Report, heatmap, learning_curves, line_plot, write_metrics
from rnnkit.eval.reports import add_training_section, document
from rnnkit.eval.reports.plots import PAGE_WIDTH

HISTORY = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "val_accuracy": 0.5 + e / 20} for e in (1, 2, 3)]


def images(html: str) -> list[bytes]:
    return [base64.b64decode(data) for data in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)]


def test_report_is_self_contained_with_its_figures(tmp_path):
    report = Report("Memory over long lags")
    report.add_text("Intro.")
    report.add_section("Adding problem").add_metrics({"test_mse": np.float32(0.00123), "solved": 0.99})
    report.add_figure(learning_curves(HISTORY), caption="Learning curves")
    report.add_section("Gradients").add_figure(line_plot([1, 2], {"rnn": [1.0, 1e-6]}, "distance", logy=True))
    report.add_section("Confusion").add_figure(heatmap(torch.eye(4), list("abcd"), list("abcd")))
    path = report.write(tmp_path / "sub" / "report.html")

    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)  # nothing fetched from anywhere
    assert "<script" not in html and "<link" not in html
    pngs = images(html)
    assert len(pngs) == 3 and all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in pngs)
    assert "<h2>Adding problem</h2>" in html and '<a href="#section-1">' in html  # a table of contents
    assert "0.00123" in html and "Learning curves" in html
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]  # no temporary file left behind


def test_user_text_is_escaped():
    hostile = '<script>alert("x")</script>'
    report = Report(hostile).add_text(hostile).add_section(hostile)
    report.add_table([{hostile: hostile, "n": 1}], caption=hostile).add_metrics({hostile: hostile})
    html = report.to_html()
    assert "<script" not in html
    assert html.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") == 9


def test_tables_from_rows_and_dataframes():
    rows = [{"model": "lstm", "mse": 0.000123456, "solved": None}, {"model": "rnn", "mse": math.nan, "extra": 3}]
    html = Report("t").add_table(rows, caption="Results").to_html()
    assert "<caption>Results</caption>" in html
    assert re.findall(r"<th>(\w+)</th>", html) == ["model", "mse", "solved", "extra"]  # first-seen order
    assert '<td class="num">0.0001235</td>' in html and "<td></td>" in html
    frame = pd.DataFrame({"lag": [100, 1000], "accuracy": [0.995, 0.25]})
    html = Report("t").add_table(frame).to_html()
    assert re.findall(r"<th>(\w+)</th>", html) == ["lag", "accuracy"]
    assert '<td class="num">1000</td><td class="num">0.25</td>' in html


def test_paragraphs_split_on_blank_lines():
    html = Report("t").add_text("one\ntwo\n\nthree").to_html()
    assert "<p>one\ntwo</p>" in html and "<p>three</p>" in html


def test_training_section_draws_the_curves_the_history_records(monkeypatch):
    drawn = []
    monkeypatch.setattr(document, "learning_curves", lambda history, keys: drawn.append(keys) or Figure())
    report = add_training_section(Report("t"), [], ["train_loss"])
    assert drawn == [] and "<h2>Training</h2>" not in report.to_html()  # no history: no section
    add_training_section(report, HISTORY, ["train_loss", "val_cer", "val_loss"], caption="Curves")
    assert drawn == [["train_loss", "val_loss"]]
    assert "<h2>Training</h2>" in report.to_html() and "<figcaption>Curves</figcaption>" in report.to_html()


def test_pyplot_figures_are_closed():
    pyplot = pytest.importorskip("matplotlib.pyplot")
    fig = pyplot.figure()
    fig.add_subplot().plot([1, 2], [3, 4])
    Report("t").add_figure(fig)
    assert not pyplot.fignum_exists(fig.number)


def test_plots_return_figures_and_stay_quiet():
    # warnings are errors: a log axis over zeros or gaps must not warn
    assert isinstance(learning_curves(HISTORY, metrics=["train_loss"], logy=True), Figure)
    fig = learning_curves(HISTORY)
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "accuracy"]  # train_/val_ pairs share a panel
    fig = line_plot([1, 2, 3], {"rnn": [1e-3, 0.0, None], "lstm": [1, 0.5, 0.25]}, "distance", "norm", logy=True)
    assert fig.axes[0].get_yscale() == "log"
    assert line_plot([1, 2], {"dead": [0.0, 0.0]}, logy=True).axes[0].get_yscale() == "linear"
    fig = heatmap(np.array([[1.0, np.nan], [0.0, 2.0]]), title="gates")
    assert fig.axes[0].get_title() == "gates"
    counts = heatmap(np.array([[2750, 383], [7, 0]]))  # a confusion matrix's counts print whole
    assert [t.get_text() for t in counts.axes[0].texts] == ["2750", "383", "7", "0"]
    shares = heatmap(np.array([[0.25, 0.125], [1.0, 2 / 3]]))
    assert [t.get_text() for t in shares.axes[0].texts] == ["0.25", "0.125", "1", "0.667"]
    for figure in (learning_curves(HISTORY), fig):
        figure.savefig(io.BytesIO(), format="png")


def test_plot_argument_errors():
    with pytest.raises(ValueError, match="empty"):
        learning_curves([])
    with pytest.raises(ValueError, match="3 values for 2 xs"):
        line_plot([1, 2], {"a": [1, 2, 3]})
    with pytest.raises(ValueError, match="2 row labels for 3 rows"):
        heatmap(np.zeros((3, 2)), row_labels=["a", "b"])


def test_write_metrics_is_strict_sorted_json(tmp_path):
    metrics = {
        "b_float32": np.float32(0.5),
        "a_tensor": torch.tensor(3),
        "c_nan": math.nan,
        "d_inf": float("inf"),
        "e_nested": {"lags": (100, 1000), "curve": torch.tensor([0.5, math.nan]), "path": tmp_path / "x"},
        "f_bool": np.bool_(True),
    }
    path = write_metrics(tmp_path / "metrics.json", metrics)
    text = path.read_text()
    assert list(json.loads(text)) == sorted(metrics)
    assert json.loads(text) == {
        "a_tensor": 3,
        "b_float32": 0.5,
        "c_nan": None,
        "d_inf": None,
        "e_nested": {"curve": [0.5, None], "lags": [100, 1000], "path": str(tmp_path / "x")},
        "f_bool": True,
    }
    assert text.startswith('{\n  "a_tensor": 3,') and text.endswith("}\n")
    write_metrics(path, {"again": 1})  # overwrites atomically
    assert json.loads(path.read_text()) == {"again": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


def test_write_metrics_refuses_what_json_cannot_hold(tmp_path):
    with pytest.raises(TypeError, match="cannot store a value of type object"):
        write_metrics(tmp_path / "metrics.json", {"x": object()})
    assert not (tmp_path / "metrics.json").exists()


def test_log_axes_keep_readable_tick_labels():
    # drawing without maths (a "$" in a label is a dollar) must not print a log axis's $\mathdefault{10^{-3}}$
    fig = line_plot([1, 2, 3], {"rnn": [1e-11, 1e-5, 1e-3], "costs $5": [1, 0.5, 0.25]}, logy=True)
    Report("t").add_figure(fig)
    labels = [text.get_text() for text in fig.axes[0].get_yticklabels()]
    assert "1e-04" in [label.replace("\u2212", "-") for label in labels]
    assert not any("$" in label or "mathdefault" in label for label in labels)


def test_one_epoch_curves_tick_that_epoch_only():
    fig = learning_curves([{"epoch": 1, "train_loss": 1.0, "val_loss": 0.9}])
    assert list(fig.axes[0].get_xticks()) == [1]


def test_narrow_panels_keep_their_epoch_ticks_apart():
    history = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.0, "val_accuracy": 0.5, "val_exact_match": 0.1,
                "val_bleu": 3.0} for e in range(1, 41)]
    fig = learning_curves(history)  # four panels across the page
    fig.savefig(io.BytesIO(), format="png")
    low, high = fig.axes[0].get_xlim()
    assert len([tick for tick in fig.axes[0].get_xticks() if low <= tick <= high]) <= 6


def test_figures_fit_the_page_so_their_text_keeps_its_size():
    history = [{"epoch": e, "train_loss": 1.0, "val_loss": 1.0, "val_accuracy": 0.5, "val_bleu": 3.0}
               for e in (1, 2)]
    for fig in (learning_curves(history), heatmap(np.zeros((30, 30)), [str(i) for i in range(30)],
                                                  [str(i) for i in range(30)])):
        assert fig.get_figwidth() <= PAGE_WIDTH
