"""Sequence to sequence from a pairs file to a run folder: what ``rnnkit seq2seq train|translate|eval`` runs.

    metrics = train(RECIPE, Seq2SeqSettings(data="train.tsv", test="test.tsv"), "runs/x")   # driver.train
    outputs = translate_texts("runs/x", ["thou art"], beam=5)
    outputs = translate_texts("runs/x", ["thou art"], beam=5, ensemble=["runs/y"])   # decode x and y together
    metrics = evaluate_seq2seq("runs/x", "test.tsv", "runs/x-test", beam=5)

A random validation share of the training pairs is held out (early stopping and the best epoch); the
vocabularies are built on the rest. The report shows metrics, learning curves and attention maps.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnkit import _fs
from rnnkit.data.pairs import pair_collate, read_pairs
from rnnkit.errors import UserError
from rnnkit.eval.reports.seq2seq import LIMIT_SETTINGS, seq2seq_report
from rnnkit.eval.yardstick import Yardstick, add_to_report, versus
from rnnkit.nn import count_parameters
from rnnkit.pipelines.driver import Examples, Recipe, Splits, TrainedRun, random_split, write_results
from rnnkit.tasks.decoding.limits import warn_capped
from rnnkit.tasks.models.seq2seq import OUTPUT_LIMIT, TRAINING_DEFAULTS, Seq2Seq, Seq2SeqConfig
from rnnkit.tasks.vocabulary import VocabularyConfig
from rnnkit.train import TrainConfig
from rnnkit.train.progress import CountProgress
from rnnkit.train.model_folder import load_model_of

LEVELS = ("char", "word")


@dataclass
class Seq2SeqSettings:
    """A ``seq2seq train`` run: the pairs, the split, the vocabularies, the model, the training."""

    data: str = field(metadata={"help": "training pairs (.tsv, or .csv)", "positional": True, "metavar": "PAIRS"})
    test: str | None = field(default=None, metadata={"help": "test pairs, scored at the end", "metavar": "PAIRS"})
    columns: tuple[str, str] | None = field(default=None, metadata={
        "help": "the pairs files' first line is a header: read the source and target from these two of its columns "
                "(none: each line is source then target)", "metavar": ("SOURCE", "TARGET")})
    validation: float = field(default=0.1, metadata={
        "help": "share of PAIRS held out for early stopping", "metavar": "FRACTION"})
    split_seed: int = field(default=0, metadata={
        "help": "seed of the validation share's draw; --seed leaves it alone, so models trained on one PAIRS file "
                "with other seeds share their vocabularies and can decode as an --ensemble"})
    source_level: str = field(default="char", metadata={"help": "source tokens", "choices": LEVELS})
    target_level: str = field(default="char", metadata={"help": "target tokens", "choices": LEVELS})
    vocabulary: VocabularyConfig = field(default_factory=VocabularyConfig)  # both sides' (the levels above)
    beam: int = field(default=5, metadata={"help": "beam for the final scores"})
    model: Seq2SeqConfig = field(default_factory=Seq2SeqConfig)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(**TRAINING_DEFAULTS))


def read(settings: Seq2SeqSettings) -> tuple[Examples, Examples | None]:
    """The training pairs and the test pairs (None without ``test``)."""
    pairs = _read(settings.data, settings.columns)
    if len(pairs) < 2:
        raise UserError(f"{settings.data}: need at least 2 pairs (one to train on, one to validate with), got "
                        f"{len(pairs)}")
    return pairs, None if settings.test is None else _read(settings.test, settings.columns)


def _read(path: str | Path, columns: Sequence[str] | None = None) -> Examples:
    pairs = read_pairs(path, columns=tuple(columns) if columns else None)
    return Examples([source for source, _ in pairs], [target for _, target in pairs])


def split(data: tuple[Examples, Examples | None], settings: Seq2SeqSettings) -> Splits:
    """A random validation share drawn with ``split_seed``, not the training seed: the vocabularies are built on
    the rest, and models of one pairs file must share them to decode together."""
    return random_split(data, settings, seed=settings.split_seed)


def build(splits: Splits, settings: Seq2SeqSettings) -> Seq2Seq:
    vocabulary = settings.vocabulary
    return Seq2Seq.for_data(splits.train.inputs, splits.train.targets, settings.model,
                            source_vocabulary=dataclasses.replace(vocabulary, level=settings.source_level),
                            target_vocabulary=dataclasses.replace(vocabulary, level=settings.target_level))


def score(run: TrainedRun) -> tuple[dict[str, Any], Any]:
    scored = run.splits.scored
    extra = run.facts() | {"parameters": count_parameters(run.model)}
    metrics, report, _ = seq2seq_report(run.model, scored.inputs, scored.targets, beam=run.settings.beam,
                                        history=run.result.history, extra=extra,
                                        progress=CountProgress("decode", run.settings.train.progress),
                                        title=f"Sequence to sequence: {Path(run.settings.data).name}")
    warn_capped(metrics["capped"], OUTPUT_LIMIT, LIMIT_SETTINGS, metrics["count"])
    return metrics | {"beam": run.settings.beam}, report


def yardsticks(metrics: dict[str, Any]) -> list[Yardstick]:
    return [versus("BLEU", metrics["bleu"], "copy-the-input", metrics["copy_bleu"], digits=2)]


def summary(metrics: dict[str, Any]) -> str:
    return (f"chrF {metrics['chrf']:.2f}, exact match {metrics['exact_match']:.4f} (beam {metrics['beam']}) on "
            f"{metrics['scored_on']}, {metrics['capped']} of {metrics['count']} outputs cut at the length cap")


# One thread: the decoder steps through small matrices, one target token at a time, which a second thread does not
# speed up; and on a machine shared with other jobs, two threads waiting on each other made training 10x slower.
THREADS = 1
RECIPE = Recipe(command="seq2seq train", read=read, split=split, build=build, score=score, summary=summary,
                yardsticks=yardsticks, collate=pair_collate, unit="pairs", threads=THREADS)


def load_seq2seq(model_dir: str | Path) -> Seq2Seq:
    return load_model_of(model_dir, Seq2Seq, "a seq2seq model (`rnnkit seq2seq train`)")


def translate_texts(model_dir: str | Path, texts: list[str], *, beam: int = 1, max_length: int | None = None,
                    alpha: float = 0.0, ensemble: Sequence[str | Path] = (), progress: str = "none") -> list[str]:
    """Outputs of the model in ``model_dir`` (a ``seq2seq train`` run folder or its ``model/``) for ``texts``,
    decoded together with the models in the ``ensemble`` folders when given (same vocabularies); ``progress``
    on stderr (the outputs may be piped), as ``TrainConfig.progress``."""
    model = load_seq2seq(model_dir)
    model.source_vocab.check_known(texts, "the input")
    return model.translate(texts, beam=beam, max_length=max_length, alpha=alpha,
                           ensemble=[load_seq2seq(path) for path in ensemble],
                           progress=CountProgress("translate", progress, stream=sys.stderr))


def evaluate_seq2seq(model_dir: str | Path, data: str | Path, out: str | Path, *, beam: int = 1,
                     alpha: float = 0.0, ensemble: Sequence[str | Path] = (), progress: str = "none",
                     columns: Sequence[str] | None = None) -> dict[str, Any]:
    """Score the model in ``model_dir`` (with the ``ensemble`` folders' models, when given) on the pairs file
    ``data``; write ``metrics.json``, ``report.html`` and ``translations.tsv`` (source, reference, output) into
    ``out``. ``progress``: the decoding's, as ``TrainConfig.progress`` ("auto": a bar on a terminal, lines
    elsewhere). ``columns``: (source, target) in the file's header, as ``read_pairs`` takes them."""
    model, pairs, out = load_seq2seq(model_dir), _read(data, columns), Path(out)
    model.source_vocab.check_known(pairs.inputs, str(data))
    history_path = Path(model_dir) / "history.json"
    history = json.loads(history_path.read_text(encoding="utf-8")) if history_path.is_file() else None
    extra: dict[str, Any] = {"scored_on": Path(data).name}
    if ensemble:
        extra["ensemble"] = [str(model_dir), *map(str, ensemble)]
    metrics, report, outputs = seq2seq_report(model, pairs.inputs, pairs.targets, beam=beam, alpha=alpha,
                                              history=history, title=f"Sequence to sequence: {Path(data).name}",
                                              extra=extra, ensemble=[load_seq2seq(path) for path in ensemble],
                                              progress=CountProgress("decode", progress))
    warn_capped(metrics["capped"], OUTPUT_LIMIT, LIMIT_SETTINGS, metrics["count"])
    metrics["beam"] = beam
    rows = ["source\treference\toutput"] + ["\t".join(row) for row in zip(pairs.inputs, pairs.targets, outputs)]
    _fs.atomic_write(out / "translations.tsv", ("\n".join(rows) + "\n").encode("utf-8"))
    add_to_report(report, yardsticks(metrics))
    write_results(out, metrics, report)
    return metrics
