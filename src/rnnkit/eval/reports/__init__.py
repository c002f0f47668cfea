"""Reports: the HTML document and ``metrics.json`` (``document``), the plots (``plots``), and one module per task
section, each building that task's metrics and report from a trained model:

    forecast        backtest beside the baselines, forecasts with intervals       (``rnnkit forecast``)
    classification  per-class table, confusion matrix, which steps drove it        (``rnnkit classify``)
    seq2seq         BLEU, chrF, WER beside the copy baseline, attention maps       (``rnnkit seq2seq``)
    caption         captions beside their images, attention over the image         (``rnnkit caption``)
    recognition     CER, WER, inputs beside transcripts, the CTC alignment          (``rnnkit recognize``)
    language_model  samples and what the memory holds                              (``rnnkit generate``)
    memory_demo     Elman RNN vs LSTM vs GRU on long time lags                     (``rnnkit demo``)

The task sections are imported from their modules (``from rnnkit.eval.reports.forecast import forecast_report``);
this package exports the shared pieces.
"""

from rnnkit.eval.reports.document import Report, add_training_section, write_metrics
from rnnkit.eval.reports.plots import draw_trajectory, heatmap, learning_curves, line_plot

__all__ = ["Report", "add_training_section", "draw_trajectory", "heatmap", "learning_curves", "line_plot",
           "write_metrics"]
