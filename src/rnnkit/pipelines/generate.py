"""Language models from a text file or a folder of them to a run folder: what ``rnnkit generate train`` runs.

    metrics = train(RECIPE, GenerateSettings(corpus="plays/"), "runs/lm")     # rnnkit.pipelines.driver.train

Whole files of a folder are held out for validation and test (one file: its last shares), the vocabulary is built
on the training text, and the model is trained with truncated BPTT on contiguous streams (``fit.stream_datasets``).
The metrics are bits per character (or perplexity) on the held-out text; the report adds samples and, for a
character model, what its memory holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rnnkit.data.streams import first_item
from rnnkit.data.text_corpus import corpus_tokenizer, load_text_corpus
from rnnkit.eval.reports.language_model import language_model_report
from rnnkit.nn import count_parameters
from rnnkit.pipelines.driver import Recipe, Splits, TrainedRun
from rnnkit.pipelines.fit import stream_datasets, stream_training
from rnnkit.tasks.models.language_model import TRAINING_DEFAULTS, LanguageModel, LanguageModelConfig
from rnnkit.train import TrainConfig


@dataclass
class GenerateSettings:
    """A ``generate train`` run: the corpus and its held-out shares, the vocabulary, the model, the training."""

    corpus: str = field(metadata={"help": "a text file, or a folder of .txt/.md files", "positional": True})
    level: str = field(default="char", metadata={"help": "tokens", "choices": ("char", "word")})
    min_count: int = field(default=1, metadata={"help": "rarer tokens are <unk>"})
    validation: float = field(default=0.1, metadata={"help": "share held out for validation", "metavar": "FRACTION"})
    test: float = field(default=0.1, metadata={"help": "share held out for the final score", "metavar": "FRACTION"})
    seq_len: int = field(default=64, metadata={"help": "truncated BPTT length"})
    model: LanguageModelConfig = field(default_factory=LanguageModelConfig)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(**TRAINING_DEFAULTS, max_epochs=3,
                                                                   checkpoint_every_steps=200))


def read(settings: GenerateSettings) -> Any:
    return load_text_corpus(settings.corpus, validation=settings.validation, test=settings.test,
                            seed=settings.train.seed)


def split(corpus: Any, settings: GenerateSettings) -> Splits:
    return Splits(corpus.train, corpus.validation, corpus, "held-out text")


def build(splits: Splits, settings: GenerateSettings) -> LanguageModel:
    tokenizer = corpus_tokenizer(splits.train, level=settings.level, min_count=settings.min_count)
    return LanguageModel.for_tokenizer(tokenizer, settings.model)


def datasets(model: LanguageModel, splits: Splits, settings: GenerateSettings) -> tuple[Any, Any]:
    return stream_datasets(model, splits.train, splits.validation, settings.seq_len)


def score(run: TrainedRun) -> tuple[dict[str, Any], Any]:
    corpus, settings, model = run.splits.scored, run.settings, run.model
    metrics = {"corpus": str(settings.corpus), "sizes": corpus.sizes(), "held_out": corpus.names,
               "vocab_size": len(model.require_tokenizer()), "parameters": count_parameters(model)}
    for part in ("validation", "test"):
        text = getattr(corpus, part)
        if text:
            metrics.update({f"{part}_{k}": v for k, v in model.evaluate_text(text, seq_len=settings.seq_len).items()})
    return language_model_report(model, metrics, run.result.history, passage_from=corpus.validation)


def summary(metrics: dict[str, Any]) -> str:
    for key, name in (("test_bits_per_char", "bits per char"), ("test_perplexity", "perplexity")):
        if key in metrics:
            return f"test {name} {metrics[key]:.4f}"
    return ""


RECIPE = Recipe(command="generate train", read=read, split=split, build=build, datasets=datasets, score=score,
                summary=summary, collate=first_item, train_config=lambda settings: stream_training(settings.train))
