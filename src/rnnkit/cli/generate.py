"""``rnnkit generate``: character or word language models (char-rnn, done properly).

    rnnkit generate train CORPUS.txt|FOLDER --out DIR [--level char|word] [--cell lstm] [--hidden-size 256] ...
    rnnkit generate sample DIR --prompt TEXT --length N [--temperature T] [--top-k K] [--top-p P] [--n N]
    rnnkit generate eval DIR TEXT.txt

``train`` holds whole files of a FOLDER out (one file: its last 10%) for validation and test, trains with
truncated BPTT, and writes ``DIR/model`` (weights, config and vocabulary), ``metrics.json`` (bits per character
or perplexity on the held-out text) and ``report.html`` (learning curves, samples, what the cells remember).
``sample`` streams text to the terminal as it is drawn; ``eval`` scores a text file. Both also write
``metrics.json`` and ``report.html`` when given ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnnkit.cli import common
from rnnkit.errors import UserError

MODEL_OPTIONS = ("embedding_size", "tie_weights", "streams")  # and the recurrent flags


def register(subparsers) -> None:  # noqa: ANN001 (argparse's private type)
    parser = subparsers.add_parser("generate", help="language models: train one, sample text, score text",
                                   description="Character or word language models: train one on a text file or a "
                                               "folder of them, sample text from it, score text with it.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    train = actions.add_parser("train", help="train a language model on a text file or a folder of them")
    train.add_argument("corpus", metavar="CORPUS", help="a text file, or a folder of .txt/.md files")
    train.add_argument("--level", choices=("char", "word"), default="char")
    train.add_argument("--min-count", type=common.positive_int, default=1, help="rarer tokens are <unk>")
    train.add_argument("--validation", type=float, default=0.1, help="share held out for validation")
    train.add_argument("--test", type=float, default=0.1, help="share held out for the final score")
    train.add_argument("--cell", choices=("lstm", "gru", "rnn"), default="lstm")
    train.add_argument("--hidden-size", type=common.positive_int, default=256)
    train.add_argument("--num-layers", type=common.positive_int, default=2)
    train.add_argument("--embedding-size", type=common.positive_int, default=64)
    train.add_argument("--dropout", type=float, default=0.0)
    train.add_argument("--tie-weights", action="store_true", help="share embedding and output weights")
    train.add_argument("--streams", type=common.positive_int, default=64, help="batch size: parallel streams")
    train.add_argument("--seq-len", type=common.positive_int, default=64, help="truncated BPTT length")
    train.add_argument("--epochs", type=common.positive_int, default=3)
    train.add_argument("--max-steps", type=common.positive_int, default=None)
    train.add_argument("--lr", type=float, default=3e-3)
    train.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    common.add_run_options(train)
    train.set_defaults(func=run_train)

    sample = actions.add_parser("sample", help="sample text from a trained model, streamed as it is drawn")
    sample.add_argument("model", metavar="DIR", help="a `generate train` output folder, or its model/")
    sample.add_argument("--prompt", default="", type=_unescape, help="text the samples continue (\\n: a line break)")
    sample.add_argument("--length", type=common.non_negative_int, default=500, help="tokens per sample")
    sample.add_argument("--temperature", type=float, default=1.0, help="0: always the most likely token")
    sample.add_argument("--top-k", type=common.positive_int, default=None)
    sample.add_argument("--top-p", type=float, default=None, help="nucleus sampling, in (0, 1]")
    sample.add_argument("--n", type=common.positive_int, default=1, help="samples drawn at once (batched)")
    sample.add_argument("--stop", action="append", default=[], metavar="TEXT", type=_unescape,
                        help="end a sample at TEXT (\\n: a line break); may be repeated")
    common.add_run_options(sample, out_required=False)
    sample.set_defaults(func=run_sample)

    evaluate = actions.add_parser("eval", help="bits per character (or perplexity) of a model on a text file")
    evaluate.add_argument("model", metavar="DIR", help="a `generate train` output folder, or its model/")
    evaluate.add_argument("text", metavar="TEXT", help="a text file")
    common.add_run_options(evaluate, out_required=False)
    evaluate.set_defaults(func=run_eval)


def run_train(args: argparse.Namespace) -> int:
    out = common.prepare_out_dir(args.out, args.force or args.resume)
    from rnnkit.data.text_corpus import corpus_tokenizer, load_text_corpus  # heavy imports only when running
    from rnnkit.eval.reports.language_model import write_language_model_report
    from rnnkit.integrations.generate import fit_language_model
    from rnnkit.tasks.models.language_model import TRAINING_DEFAULTS, LanguageModel, LanguageModelConfig
    from rnnkit.train import TrainConfig, save_model, seed_everything

    splits = load_text_corpus(args.corpus, validation=args.validation, test=args.test, seed=args.seed)
    tokenizer = corpus_tokenizer(splits.train, level=args.level, min_count=args.min_count)
    seed_everything(args.seed)
    settings = {name: getattr(args, name) for name in MODEL_OPTIONS}
    config = LanguageModelConfig(rnn=common.recurrent_config(args), **settings)
    model = LanguageModel.for_tokenizer(tokenizer, config)
    config = TrainConfig(**TRAINING_DEFAULTS | {"lr": args.lr}, max_epochs=args.epochs, max_steps=args.max_steps,
                         seed=args.seed, checkpoint_dir=str(out / "checkpoints"), checkpoint_every_steps=200,
                         keep_last=1, log_path=str(out / "log.jsonl"))
    result = fit_language_model(model, splits.train, splits.validation, seq_len=args.seq_len, train_config=config,
                                resume=args.resume)
    save_model(model, out / "model", overwrite=True)
    metrics = {"corpus": str(args.corpus), "sizes": splits.sizes(), "held_out": splits.names,
               "vocab_size": len(tokenizer), "parameters": sum(p.numel() for p in model.parameters())}
    for split in ("validation", "test"):
        text = getattr(splits, split)
        if text:
            metrics.update({f"{split}_{k}": v for k, v in model.evaluate_text(text, seq_len=args.seq_len).items()})
    write_language_model_report(out, model, metrics, result.history, passage_from=splits.validation)
    key = "test_bits_per_char" if args.level == "char" else "test_perplexity"
    score = f"test {key[5:].replace('_', ' ')} {metrics[key]:.4f}; " if key in metrics else ""
    print(f"{score}wrote {out}")
    return 0


def run_sample(args: argparse.Namespace) -> int:
    out = common.prepare_out_dir(args.out, args.force) if args.out else None
    import time

    from rnnkit.eval.reports.language_model import write_samples_report

    model = _load(args.model)
    options = {"n": args.n, "temperature": args.temperature, "top_k": args.top_k, "top_p": args.top_p,
               "seed": args.seed, "stop": args.stop}
    texts, started = [""] * args.n, time.perf_counter()
    if args.n == 1:  # one sample: stream it to the terminal as it is drawn
        sys.stdout.write(args.prompt)
    for pieces in model.stream(args.prompt, args.length, **options):
        texts = [text + piece for text, piece in zip(texts, pieces)]
        if args.n == 1:
            sys.stdout.write(pieces[0])
            sys.stdout.flush()
    seconds = time.perf_counter() - started
    if args.n > 1:
        for i, text in enumerate(texts):
            print(f"--- sample {i + 1} ---\n{args.prompt}{text}")
    print()
    if out is not None:
        write_samples_report(out, args.prompt, texts, options | {"length": args.length, "seconds": seconds})
    return 0


def run_eval(args: argparse.Namespace) -> int:
    out = common.prepare_out_dir(args.out, args.force) if args.out else None
    from rnnkit.eval.reports import Report, write_metrics

    text = Path(args.text).read_text(encoding="utf-8", errors="replace")
    if not text:
        raise UserError(f"{args.text} is empty")
    metrics = _load(args.model).evaluate_text(text) | {"text": str(args.text)}
    name = "bits_per_char" if "bits_per_char" in metrics else "perplexity"
    print(f"{name.replace('_', ' ')} {metrics[name]:.4f} over {metrics['tokens']} tokens of {args.text}")
    if out is not None:
        write_metrics(out / "metrics.json", metrics)
        Report(f"Language model on {Path(args.text).name}").add_metrics(metrics).write(out / "report.html")
    return 0


def _unescape(text: str) -> str:
    """Shells make line breaks awkward to type: ``\\n`` in --prompt and --stop is one."""
    return text.replace("\\n", "\n")


def _load(folder: str):  # noqa: ANN202
    """A language model from a `generate train` output folder or a model folder."""
    from rnnkit.tasks.models.language_model import LanguageModel
    from rnnkit.train.model_folder import load_model_of

    return load_model_of(folder, LanguageModel, "a language model (`rnnkit generate train`)")
