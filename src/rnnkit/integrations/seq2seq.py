"""Sequence to sequence from a pairs file to a results folder: what ``rnnkit seq2seq train|translate|eval`` runs.

    metrics = train_seq2seq("train.tsv", "runs/x", test="test.tsv", config=Seq2SeqConfig(decoder=...))
    outputs = translate_texts("runs/x", ["thou art"], beam=5)
    outputs = translate_texts("runs/x", ["thou art"], beam=5, ensemble=["runs/y"])   # decode x and y together
    metrics = evaluate_seq2seq("runs/x", "test.tsv", "runs/x-test", beam=5)

``train_seq2seq`` holds out a random validation share of the training pairs (early stopping and the best epoch),
builds the vocabularies on the rest, trains, and writes ``model/`` (the model folder, vocabularies inside),
``metrics.json``, ``report.html`` (metrics, learning curves, attention maps) and ``history.json``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rnnkit.data.pairs import pair_collate, read_pairs
from rnnkit.errors import UserError
from rnnkit.eval.reports import write_metrics
from rnnkit.eval.reports.seq2seq import seq2seq_report
from rnnkit.integrations.fit import validation_split
from rnnkit.nn import count_parameters
from rnnkit.tasks.models.seq2seq import Seq2Seq, Seq2SeqConfig
from rnnkit.tasks.vocabulary import VocabularyConfig
from rnnkit.train import TrainConfig, Trainer, save_model, seed_everything
from rnnkit.train.model_folder import load_model_of


def train_seq2seq(data: str | Path, out: str | Path, *, test: str | Path | None = None, validation: float = 0.1,
                  beam: int = 5, config: Seq2SeqConfig | None = None,
                  source_vocabulary: VocabularyConfig | None = None, target_vocabulary: VocabularyConfig | None = None,
                  training: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train on the pairs file ``data`` and write the results into ``out``; returns the metrics (on ``test``
    when given, else on the validation split). ``config`` and the vocabularies: as ``Seq2Seq.for_data``."""
    out = Path(out)
    pairs = read_pairs(data)
    if len(pairs) < 2:
        raise UserError(f"{data}: need at least 2 pairs (one to train on, one to validate with), got {len(pairs)}")
    train_config = TrainConfig(**{"progress": "none", **(training or {})})
    train, held = validation_split([0] * len(pairs), validation, train_config.seed, stratify=False)
    train_pairs, val_pairs = [pairs[i] for i in train], [pairs[i] for i in held]
    seed_everything(train_config.seed)
    model = Seq2Seq.for_data([s for s, _ in train_pairs], [t for _, t in train_pairs], config,
                             source_vocabulary=source_vocabulary, target_vocabulary=target_vocabulary)
    result = Trainer(model, train_config).fit(_dataset(model, train_pairs), _dataset(model, val_pairs),
                                        collate_fn=pair_collate)
    model.cpu().eval()
    save_model(model, out / "model", overwrite=True)
    (out / "history.json").write_text(json.dumps(result.history, indent=1) + "\n", encoding="utf-8")
    scored, scored_on = (read_pairs(test), f"test ({Path(test).name})") if test else (val_pairs, "validation split")
    extra = {"scored_on": scored_on, "train_pairs": len(train_pairs), "validation_pairs": len(val_pairs),
             "parameters": count_parameters(model), "best_epoch": result.best_epoch,
             "stopped": result.stopped_reason}
    return _score(model, scored, out, beam, extra, result.history, f"Sequence to sequence: {Path(data).name}")


def translate_texts(model_dir: str | Path, texts: list[str], *, beam: int = 1, max_length: int | None = None,
                    alpha: float = 0.0, ensemble: Sequence[str | Path] = ()) -> list[str]:
    """Outputs of the model in ``model_dir`` (a ``train_seq2seq`` folder or its ``model/``) for ``texts``,
    decoded together with the models in the ``ensemble`` folders when given (same vocabularies)."""
    return load_seq2seq(model_dir).translate(texts, beam=beam, max_length=max_length, alpha=alpha,
                                             ensemble=[load_seq2seq(path) for path in ensemble])


def evaluate_seq2seq(model_dir: str | Path, data: str | Path, out: str | Path, *, beam: int = 1,
                     alpha: float = 0.0, ensemble: Sequence[str | Path] = ()) -> dict[str, Any]:
    """Score the model in ``model_dir`` (with the ``ensemble`` folders' models, when given) on the pairs file
    ``data``; write ``metrics.json``, ``report.html`` and ``translations.tsv`` (source, reference, output) into
    ``out``."""
    model = load_seq2seq(model_dir)
    history_path = Path(model_dir) / "history.json"
    history = json.loads(history_path.read_text(encoding="utf-8")) if history_path.is_file() else None
    extra: dict[str, Any] = {"scored_on": Path(data).name}
    if ensemble:
        extra["ensemble"] = [str(model_dir), *map(str, ensemble)]
    return _score(model, read_pairs(data), Path(out), beam, extra, history, f"Sequence to sequence: {Path(data).name}",
                  alpha=alpha, write_outputs=True, ensemble=[load_seq2seq(path) for path in ensemble])


def load_seq2seq(model_dir: str | Path) -> Seq2Seq:
    return load_model_of(model_dir, Seq2Seq, "a seq2seq model (`rnnkit seq2seq train`)")


def _dataset(model: Seq2Seq, pairs: list[tuple[str, str]]):
    return model.dataset([s for s, _ in pairs], [t for _, t in pairs])


def _score(model: Seq2Seq, pairs: list[tuple[str, str]], out: Path, beam: int, extra: dict[str, Any],
           history: Any, title: str, *, alpha: float = 0.0, write_outputs: bool = False,
           ensemble: Sequence[Seq2Seq] = ()) -> dict[str, Any]:
    sources, references = [s for s, _ in pairs], [t for _, t in pairs]
    metrics, report, outputs = seq2seq_report(model, sources, references, beam=beam, alpha=alpha, history=history,
                                              title=title, extra=extra, ensemble=ensemble)
    write_metrics(out / "metrics.json", metrics)
    report.write(out / "report.html")
    if write_outputs:
        lines = ["source\treference\toutput"] + ["\t".join(row) for row in zip(sources, references, outputs)]
        (out / "translations.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return metrics
