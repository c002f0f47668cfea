"""Streams: pushes in chunks of any size give what the model gives on the whole sequence at once, for every task
that reads causally and every cell; the NumPy step equals ``layer.step``; models that read ahead refuse."""

import numpy as np
import pytest
import torch

import rnnkit
from deploy_models import classifier, forecaster, language_model, numeric, recognizer, regressor, seq2seq, tagger
from rnnkit.deploy.fast_step import NumpyLayer
from rnnkit.nn import GRU, LSTM, RNN

CELLS = ["lstm", "gru", "rnn"]


def pushed_in_chunks(stream, sequence, cuts):
    """Push ``sequence`` split at ``cuts``: a lone step as a single push (its output gets its step axis back)."""
    outputs = []
    for piece in np.split(np.asarray(sequence), cuts):
        outputs.append(stream.push(piece[0])[None] if len(piece) == 1 else stream.push(piece))
    return np.concatenate(outputs)


def whole(model, x):
    """What the model gives on the whole sequence: per step (tagger, recognizer) or for the sequence."""
    if model.task == "sequence-regression":
        return model.predict([x])[0]
    outputs = model.outputs([x])[0]
    return outputs.numpy() if model.task == "sequence-recognition" else torch.softmax(outputs, -1).numpy()


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("build", [classifier, regressor, tagger, recognizer],
                         ids=["classifier", "regressor", "tagger", "recognizer"])
def test_chunked_pushes_equal_the_whole_sequence(build, cell):
    model = build(cell, num_layers=2).eval()
    stream = model.streamer()
    assert stream.route_name == "numpy"
    x = np.concatenate(numeric(2, seed=7))  # 6..16 steps
    found = pushed_in_chunks(stream, x, [3, 4, 9])
    expected = whole(model, x)
    if model.task in ("sequence-classification", "sequence-regression"):
        found = found[-1]  # the sequence's output is the one after its last step
    np.testing.assert_allclose(found, expected, atol=1e-5, rtol=0)
    assert stream.steps == len(x)


@pytest.mark.parametrize("cell", CELLS)
def test_language_model_stream_takes_ids_or_text(cell):
    model = language_model(cell).eval()
    ids = model.encode("the cat sat on the mat")
    with torch.no_grad():
        expected = model(ids[None])[0][0].numpy()
    stream = model.streamer()
    np.testing.assert_allclose(pushed_in_chunks(stream, ids.numpy(), [1, 2, 10]), expected, atol=1e-5, rtol=0)
    stream.reset()
    np.testing.assert_allclose(stream.push("the cat sat on the mat"), expected, atol=1e-5, rtol=0)
    assert stream.push(int(ids[0])).shape == (model.config.vocab_size,)
    with pytest.raises(rnnkit.UserError, match="token ids"):
        stream.push(10_000)


def test_state_can_be_saved_restored_and_reset():
    stream = tagger(num_layers=2).eval().streamer()
    x = numeric(1, seed=2)[0]
    stream.push(x[:3])
    saved = stream.state
    assert [s.shape for s in saved] == [(2, 1, 8), (2, 1, 8)]
    after = stream.push(x[3:])
    stream.reset()
    fresh = stream.push(x[3:])
    assert not np.allclose(fresh, after)
    stream.state = saved
    np.testing.assert_array_equal(stream.push(x[3:]), after)
    with pytest.raises(rnnkit.UserError, match=r"\(2, 1, 8\)"):
        stream.state = np.zeros((1, 1, 8))


def test_text_classifier_streams_tokens():
    model = classifier(text=True).eval()
    stream = model.streamer()
    stream.push("the cat")
    np.testing.assert_allclose(stream.push("sat")[-1], model.predict_proba(["the cat sat"])[0], atol=1e-5)


def test_layer_norm_streams_through_the_layer_itself_in_eval_mode():
    model = tagger(layer_norm=True)
    model.encoder.rnn.recurrent_dropout = 0.5  # would change every step in training mode
    stream = model.streamer()
    assert stream.route_name == "pytorch" and "layer_norm" in stream.fast_path_reason
    x = numeric(1)[0]
    found = pushed_in_chunks(stream, x, [2])  # in eval mode, though the model is in training mode
    assert model.training  # and left so
    np.testing.assert_allclose(found, whole(model, x), atol=1e-5, rtol=0)


def test_forecaster_stream_forecasts_from_the_latest_window():
    model = forecaster().eval()
    stream = model.streamer()
    rows, future = np.random.default_rng(0).normal(size=(9, 3)).astype(np.float32), np.ones((3, 2), np.float32)
    forecasts = [stream.push(row, future=future) for row in rows]
    assert forecasts[:5] == [None] * 5  # until lookback=6 rows have arrived
    with torch.no_grad():
        expected = model(torch.from_numpy(rows[None, -6:]), torch.from_numpy(future[None]))[0].numpy()
    np.testing.assert_allclose(forecasts[-1], expected, atol=1e-6)
    assert stream.state.shape == (6, 3)


@pytest.mark.parametrize("build, reason", [
    (lambda: tagger(bidirectional=True), "bidirectional"),
    (lambda: classifier(pooling="mean"), "pooling='mean'"),
    (lambda: tagger(conv_channels=4, conv_kernel=3), "convolution"),
    (lambda: seq2seq(), "encoder-decoder"),
], ids=["bidirectional", "mean-pooling", "conv", "seq2seq"])
def test_models_that_read_ahead_refuse_with_the_reason(build, reason):
    with pytest.raises(rnnkit.UserError, match=f"cannot stream: .*{reason}"):
        build().streamer()


@pytest.mark.parametrize("layer", [
    LSTM(5, 7, num_layers=2), LSTM(5, 7, proj_size=3), GRU(5, 7, num_layers=2), RNN(5, 7, nonlinearity="relu"),
    RNN(5, 7, bias=False),
], ids=["lstm", "lstm-proj", "gru", "rnn-relu", "rnn-nobias"])
def test_numpy_step_equals_layer_step(layer):
    layer.eval()
    fast = NumpyLayer(layer)
    x = torch.randn(3, 4, 5)
    state, numpy_state = None, fast.zero_state(3)
    with torch.no_grad():
        for t in range(4):
            expected, state = layer.step(x[:, t], state)
            found, numpy_state = fast.step(x[:, t].numpy(), numpy_state)
            np.testing.assert_allclose(found, expected.numpy(), atol=1e-6)
        chunk, chunk_state = fast.run(x.numpy(), fast.zero_state(3))
        output, final = layer(x)
    np.testing.assert_allclose(chunk, output.numpy(), atol=1e-5)
    found = fast.to_layer_state(chunk_state)
    for part, expected in zip(found if isinstance(found, tuple) else (found,),
                              final if isinstance(final, tuple) else (final,)):
        np.testing.assert_allclose(part, expected.numpy(), atol=1e-5)


def test_products_large_enough_for_blas_threads_run_on_one():
    from rnnkit.deploy.fast_step import one_blas_thread

    small, large = tagger(hidden_size=8).eval(), tagger(hidden_size=256).eval()  # (3 + 256) x 1024 weights
    assert small.streamer()._blas is not one_blas_thread
    stream = large.streamer()
    assert stream._blas is one_blas_thread
    x = numeric(1)[0]
    np.testing.assert_allclose(pushed_in_chunks(stream, x, [1]), whole(large, x), atol=1e-5, rtol=0)
