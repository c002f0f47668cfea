"""The results of a sequence-to-sequence model as ``metrics.json`` content and a self-contained ``report.html``.

    metrics, report, outputs = seq2seq_report(model, sources, references, beam=5, history=result.history)
    write_metrics(out / "metrics.json", metrics); report.write(out / "report.html")

How outputs are scored (``rnnkit.eval.sequence_metrics.seq2seq_metrics``): references are first put through the
model's own target tokenizer (its lowercasing and word pattern) and re-joined the way the model joins its outputs, so
that both sides are compared on the same tokenisation; on those strings

- ``bleu``, ``chrf``: corpus scores from sacrebleu (default 13a tokenisation on top, one reference each);
- ``exact_match``: share of outputs equal to their reference; ``wer``: word error rate (word edit distance over
  reference words); ``ter``: token error rate on the model's target tokens (characters or words);
- ``copy_*``: the same scores for the copy-the-input baseline (output = input), the bar to beat when source and
  target are close (spelling modernisation); meaningless when they are different alphabets;
- ``capped``: outputs that reached the model's maximum output length without ending (cut there), with the two
  settings of that limit, ``max_output_length`` and ``output_length_ratio``; the report warns when it is not 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rnnkit.eval.reports.document import Report, add_training_section
from rnnkit.eval.reports.plots import heatmap
from rnnkit.eval.sequence_metrics import capped_message, seq2seq_metrics
from rnnkit.tasks.models.seq2seq import OUTPUT_LIMIT

EXAMPLE_MAX_TOKENS = 30  # attention maps only for sources this short: longer ones are unreadable
SCORING = ("References are put through the model's target tokenizer (its lowercasing and word pattern) and joined "
           "as the model joins its outputs; BLEU and chrF are sacrebleu corpus scores on those strings, wer the word "
           "error rate, ter the error rate on the model's target tokens. copy_* scores the copy-the-input baseline "
           "(output = input).")
LIMIT_SETTINGS = "--max-output-length / --output-length-ratio (max_output_length / output_length_ratio)"


def normalise(model: Any, text: str) -> str:
    """``text`` as the model writes outputs: its target tokenizer's tokens, joined as it joins them."""
    return model.detokenize(model.target_vocab.split(text))


def seq2seq_report(model: Any, sources: Sequence[str], references: Sequence[str], *, beam: int = 1,
                   alpha: float = 0.0, history: Sequence[dict] | None = None, title: str = "Sequence to sequence",
                   examples: int = 3, extra: dict[str, Any] | None = None,
                   ensemble: Sequence[Any] = (), progress: Any = None) -> tuple[dict[str, Any], Report, list[str]]:
    """Score ``model`` (a ``Seq2Seq``, decoding together with the models in ``ensemble`` when given) on
    ``sources`` against ``references`` with beam search ``beam`` (and greedy decoding too when ``beam > 1``): the
    metrics, the report (metrics, learning curves, attention maps, a few outputs) and the outputs. ``progress``:
    called ``(done, total)`` as each decoding goes (``rnnkit.train.progress.CountProgress``)."""
    sources, references = list(sources), [normalise(model, text) for text in references]
    outputs, details = model.translate(sources, beam=beam, alpha=alpha, return_details=True, ensemble=ensemble,
                                       progress=progress)
    split = model.target_vocab.split
    metrics: dict[str, Any] = dict(extra or {})
    capped = [d["capped"] for d in details]
    metrics.update(count=len(sources), beam=beam, **seq2seq_metrics(references, outputs, split, capped=capped),
                   max_output_length=model.config.max_output_length,
                   output_length_ratio=model.config.output_length_ratio)
    if beam > 1:
        greedy, greedy_details = model.translate(sources, beam=1, ensemble=ensemble, return_details=True,
                                                 progress=progress)
        greedy_capped = [d["capped"] for d in greedy_details]
        metrics.update({f"greedy_{k}": v for k, v in
                        seq2seq_metrics(references, greedy, split, capped=greedy_capped).items()})
    copies = [normalise(model, text) for text in sources]
    metrics.update({f"copy_{k}": v for k, v in seq2seq_metrics(references, copies, split).items()})

    report = Report(title).add_text(SCORING)
    warning = capped_message(metrics["capped"], len(sources), OUTPUT_LIMIT, LIMIT_SETTINGS)
    if warning:
        report.add_warning(warning)
    report.add_section("Metrics").add_metrics(metrics)
    add_training_section(report, history, ("train_loss", "val_loss", "val_token_accuracy", "val_exact_match"))
    chosen = [i for i, d in enumerate(details) if len(d["source_tokens"]) <= EXAMPLE_MAX_TOKENS][:examples]
    if chosen:
        report.add_section("Attention")
        for i in chosen:
            d = details[i]
            caption = f"example {i}: attention of each output token (rows) over the source tokens (columns)"
            rows = d["output_tokens"] + ["</s>"] * (len(d["attention"]) - len(d["output_tokens"]))  # no EOS at the cap
            report.add_figure(heatmap(d["attention"], rows, d["source_tokens"],
                                      xlabel="source", ylabel="output", annotate=False), caption=caption)
    report.add_section("Examples")
    report.add_table([{"source": s, "reference": r, "output": o, "cut at the limit": "yes" if cut else ""}
                      for s, r, o, cut in list(zip(sources, references, outputs, capped))[:20]])
    return metrics, report, outputs
