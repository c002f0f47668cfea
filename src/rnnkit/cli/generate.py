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
from rnnkit.pipelines import generate as pipeline

# The streams are the batch (--streams), visited in order: the training's batch size is not a flag; a language
# model reads forwards only.
SKIP = ("train.batch_size", "model.rnn.bidirectional")


def register(subparsers) -> None:  # noqa: ANN001 (argparse's private type)
    parser = subparsers.add_parser("generate", help="language models: train one, sample text, score text",
                                   description="Character or word language models: train one on a text file or a "
                                               "folder of them, sample text from it, score text with it.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    common.add_train_command(actions, pipeline.RECIPE, pipeline.GenerateSettings, skip=SKIP,
                             help="train a language model on a text file or a folder of them",
                             description="Train a language model with truncated BPTT on a text file or a folder of "
                                         "them; write the model, metrics.json and report.html into --out.")

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
