"""SequenceRecognizer (CTC): learning an unsegmented task, decoding, subsampled lengths, model folders, errors."""

import numpy as np
import pytest
import torch

from rnnkit.errors import UserError
from rnnkit.eval.sequence_metrics import error_rate
from rnnkit.pipelines.fit import fit_sequence_model
from rnnkit.tasks.blocks.encoder import EncoderConfig, SequenceEncoder
from rnnkit.nn import RecurrentConfig
from rnnkit.tasks.models.recognition import SequenceRecognizer, SequenceRecognizerConfig
from rnnkit.train import TrainConfig, load_model, save_model, seed_everything

ALPHABET = "abc"
SMALL = RecurrentConfig(hidden_size=8)
SMALL_CONFIG = SequenceRecognizerConfig(EncoderConfig(rnn=SMALL))


def synthetic(n: int, seed: int, features: int = 4) -> tuple[list[np.ndarray], list[str]]:
    """Unsegmented sequences: each symbol a noisy template held for 3-6 steps, 1-2 quiet steps between symbols
    (so that "aa" is two symbols, not one long one). The model sees no boundaries, only the string."""
    rng = np.random.default_rng(seed)
    templates = np.random.default_rng(99).normal(size=(len(ALPHABET), features)) * 1.5
    X, y = [], []
    for _ in range(n):
        text = "".join(rng.choice(list(ALPHABET), size=rng.integers(1, 6)))
        parts = [np.zeros((rng.integers(0, 3), features))]
        for char in text:
            parts += [np.repeat(templates[ALPHABET.index(char)][None], rng.integers(3, 7), 0),
                      np.zeros((rng.integers(1, 3), features))]
        x = np.concatenate(parts)
        X.append((x + rng.normal(0, 0.3, x.shape)).astype(np.float32))
        y.append(text)
    return X, y


@pytest.fixture(scope="module")
def trained():
    torch.set_num_threads(1)
    X, y = synthetic(300, 0)
    seed_everything(0)
    encoder = EncoderConfig(conv_channels=16, conv_kernel=3, conv_stride=2,
                            rnn=RecurrentConfig(hidden_size=32, bidirectional=True))
    model = SequenceRecognizer.for_data(X, y, SequenceRecognizerConfig(encoder))
    config = TrainConfig(max_epochs=6, batch_size=16, lr=1e-2, progress="none")
    result = fit_sequence_model(model, X[:250], y[:250], X_val=X[250:], y_val=y[250:], train_config=config)
    return model.eval(), result


def test_learns_an_unsegmented_task_greedy_and_beam(trained):
    model, result = trained
    X, y = synthetic(100, 1)
    assert result.history[-1]["val_cer"] < result.history[0]["val_cer"]
    assert error_rate(y, model.recognize(X)) <= 0.05
    assert error_rate(y, model.recognize(X, beam=4)) <= 0.05


def test_model_folder_round_trip_gives_identical_transcripts(trained, tmp_path):
    model, _ = trained
    X, _ = synthetic(20, 2)
    save_model(model, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert isinstance(loaded, SequenceRecognizer) and loaded.alphabet == list(ALPHABET)
    assert loaded.recognize(X) == model.recognize(X)
    assert loaded.recognize(X, beam=3) == model.recognize(X, beam=3)
    for a, b in zip(loaded.log_probs(X), model.log_probs(X)):
        np.testing.assert_array_equal(a, b)


def test_alignment_marks_the_frames_that_emit_the_decoded_labels(trained):
    model, _ = trained
    X, y = synthetic(5, 3)
    for x, text in zip(X, y):
        best = model.alignment(x)
        assert best["text"] == model.recognize([x])[0]
        assert best["posteriors"].shape == (-(-len(x) // 2), 1 + len(ALPHABET))
        np.testing.assert_allclose(best["posteriors"].sum(1), 1.0, rtol=1e-5)
        forced = model.alignment(x, transcript=text)
        assert forced["text"] == text and [c for _, c in forced["emitted"]] == list(text)
        assert all(forced["path"][frame] == ALPHABET.index(c) + 1 for frame, c in forced["emitted"])


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_conv_stride_shortens_time_and_lengths_agree(stride):
    config = EncoderConfig(input_size=2, conv_channels=4, conv_kernel=3, conv_stride=stride,
                           rnn=RecurrentConfig(hidden_size=5))
    encoder = SequenceEncoder(config).eval()
    lengths = torch.tensor([1, 2, 3, 4, 7, 10])
    expected = [-(-n // stride) for n in lengths.tolist()]
    assert encoder.output_lengths(lengths).tolist() == expected
    assert [config.output_length(n) for n in lengths.tolist()] == expected
    x = torch.randn(len(lengths), 10, 2) * (torch.arange(10) < lengths[:, None]).unsqueeze(-1)
    output, _ = encoder.steps(x, lengths)
    assert output.shape[1] == expected[-1]
    for b, n in enumerate(lengths.tolist()):  # a sequence's frames do not depend on the batch it is in
        alone, _ = encoder.steps(x[b:b + 1, :n], lengths[b:b + 1])
        torch.testing.assert_close(alone[0], output[b, :expected[b]])
        assert output[b, expected[b]:].abs().sum() == 0


def test_conv_stride_needs_a_conv_front_end():
    with pytest.raises(ValueError, match="conv_stride"):
        EncoderConfig(input_size=2, conv_stride=2)


def test_too_short_input_names_the_sample():
    X, y = synthetic(3, 4)
    config = SequenceRecognizerConfig(EncoderConfig(conv_channels=4, conv_kernel=3, conv_stride=2, rnn=SMALL))
    model = SequenceRecognizer.for_data(X, y, config)
    short = [X[0], np.zeros((4, 4), np.float32)]  # 2 frames after stride 2; "aba" needs 3, "aa" needs 3
    with pytest.raises(UserError, match=r"sample 1: 4 steps \(2 after conv_stride 2\).*'aa'.*at least 3"):
        model.dataset(short, [y[0], "aa"])
    model.dataset(short, [y[0], "ab"])  # 2 labels, no repeat: 2 frames suffice


def test_unknown_characters_and_non_strings_are_errors():
    X, y = synthetic(3, 5)
    model = SequenceRecognizer.for_data(X, y, SMALL_CONFIG)
    with pytest.raises(UserError, match=r"transcript 1 \('abz'\) has character\(s\) \['z'\]"):
        model.dataset(X[:2], [y[0], "abz"])
    with pytest.raises(UserError, match="must be a string"):
        SequenceRecognizer.for_data(X, [1, 2, 3])
    with pytest.raises(UserError, match="beam must be >= 1"):
        model.recognize(X, beam=0)


def test_ctc_loss_is_per_label_mean_of_minus_log_likelihood():
    X, y = synthetic(4, 6)
    model = SequenceRecognizer.for_data(X, y, SMALL_CONFIG).eval()
    from rnnkit.data.sequences import pad_collate

    batch = pad_collate([model.dataset(X, y)[i] for i in range(4)])
    with torch.no_grad():
        log_probs = model(batch[0], batch[1])
        loss = float(model.loss(batch))
    per_sample = [float(torch.nn.functional.ctc_loss(log_probs[i:i + 1, :n].transpose(0, 1),
                                                     torch.tensor([[ALPHABET.index(c) + 1 for c in y[i]]]),
                                                     torch.tensor([n]), torch.tensor([len(y[i])]),
                                                     reduction="sum")) / len(y[i])
                  for i, n in enumerate(batch[1].tolist())]
    assert loss == pytest.approx(np.mean(per_sample), rel=1e-5)


def test_report_draws_pen_trajectories_and_the_alignment():
    from rnnkit.eval.reports.recognition import input_kind, recognition_report

    rng = np.random.default_rng(8)
    X = []
    for _ in range(3):
        steps = rng.normal(0, 0.1, (40, 3)).astype(np.float32)
        steps[:, 2] = (np.arange(40) % 13 == 12).astype(np.float32)  # (dx, dy, pen_up): three strokes
        X.append(steps)
    y = ["ab", "ba", "abc"]
    model = SequenceRecognizer.for_data(X, y, SMALL_CONFIG)
    assert input_kind(model, X) == "pen"
    metrics, report = recognition_report(model, X, y, beam=2, history=[{"epoch": 1, "train_loss": 1.0}])
    assert {"cer", "wer", "sequence_accuracy", "greedy"} <= set(metrics) and metrics["count"] == 3
    html = report.to_html()
    assert html.count("data:image/png;base64") == 5 and "CTC alignment" in html  # curves, 3 inputs, alignment
    model.metadata["input_kind"] = "frames"
    assert input_kind(model, X) == "frames"


def test_sequence_norm_standardises_each_sequence_and_survives_a_round_trip(tmp_path):
    X, y = synthetic(6, 9)
    X = [x * (i + 1) + 3 * i for i, x in enumerate(X)]  # each sequence its own offset and scale
    model = SequenceRecognizer.for_data(X, y, SequenceRecognizerConfig(EncoderConfig(rnn=SMALL), sequence_norm=True))
    for x in model.prepare(X):
        np.testing.assert_allclose(x.mean(0), 0.0, atol=1e-5)
        np.testing.assert_allclose(x.std(0), 1.0, rtol=1e-4)
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert loaded.config.sequence_norm
    for a, b in zip(loaded.log_probs(X), model.log_probs(X)):
        np.testing.assert_array_equal(a, b)


def test_pen_ink_reads_rendered_columns_and_survives_a_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    X = [np.column_stack([rng.uniform(0.05, 0.2, n), rng.normal(0, 0.1, n), rng.random(n) < 0.1]).astype(np.float32)
         for n in (30, 50, 40)]
    model = SequenceRecognizer.for_data(X, ["ab", "abc", "b"], SequenceRecognizerConfig(EncoderConfig(rnn=SMALL),
                                                                                       pen_ink=True))
    frames = model.prepare(X)
    assert [f.shape[1] for f in frames] == [35, 35, 35]  # one frame per column, one feature per pixel row
    assert frames[1].shape[0] > frames[0].shape[0]  # longer writing, more columns
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert loaded.config.pen_ink
    for a, b in zip(loaded.log_probs(X), model.log_probs(X)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(UserError, match="sequence 0: a pen trajectory has 3 features"):
        model.recognize([np.zeros((5, 2), np.float32)])
    from rnnkit.eval.reports.recognition import recognition_report

    html = recognition_report(model, X, ["ab", "abc", "b"], examples=1)[1].to_html()
    assert "its ink column by column" in html and html.count("data:image/png;base64") == 2  # pen input, ink
