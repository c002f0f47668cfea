"""ONNX export: every task model's graphs in onnxruntime give rnnkit's own predictions (1e-4) on batches of mixed
lengths, and a sequence fed in chunks through the graphs' state equals the whole sequence."""

import json

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime")

import rnnkit  # noqa: E402
from deploy_models import (EVERY_TASK, captioner, classifier, language_model, numeric, recognizer,  # noqa: E402
                           seq2seq, tagger)
from rnnkit.data.sequences import pad_batch  # noqa: E402
from rnnkit.deploy.export import session  # noqa: E402
from rnnkit.tasks.vocabulary import BOS, EOS  # noqa: E402

# The graphs are checked against untrained models, whose outputs run to the length cap: that is expected here.
pytestmark = pytest.mark.filterwarnings("ignore::rnnkit.errors.OutputCappedWarning")

TOLERANCE = 1e-4


def exported(model, tmp_path, name="model"):
    paths = rnnkit.export(model.eval(), tmp_path / f"{name}.onnx")
    document = json.loads(paths[-1].read_text())
    return {graph: session(tmp_path / entry["file"]) for graph, entry in document["graphs"].items()}, document


def zero_state(layer, batch):
    return {name: np.zeros(shape, np.float32) for name, shape in zip(("h0", "c0"), layer._state_shapes(batch))}


@pytest.mark.parametrize("build", [classifier, tagger, recognizer], ids=["classifier", "tagger", "recognizer"])
@pytest.mark.parametrize("options", [{}, {"cell": "gru", "bidirectional": True, "num_layers": 2}],
                         ids=["lstm", "bigru"])
def test_sequence_graphs_give_the_models_predictions_on_mixed_lengths(build, options, tmp_path):
    model = build(**options)
    graphs, _ = exported(model, tmp_path)
    X = numeric(6, seed=3)
    X = [np.concatenate([x, x]) for x in X] if model.task == "sequence-recognition" else X
    x, lengths = pad_batch(model.prepare(X))
    found = graphs["model"].run(None, {"x": x.numpy(), "lengths": lengths.numpy(),
                                       **zero_state(model.encoder.rnn, len(X))})[0]
    expected = model.outputs(X).numpy()
    if found.ndim == 3:  # per-step outputs: compare the real steps
        mask = np.arange(found.shape[1])[None] < lengths.numpy()[:, None]
        found, expected = found[mask], expected[mask]
    np.testing.assert_allclose(found, expected, atol=TOLERANCE, rtol=0)


@pytest.mark.parametrize("front", [{}, {"conv_layers": 3, "conv_norm": True}], ids=["conv", "fcn"])
def test_text_classifier_with_attention_pooling_and_a_convolution_exports(front, tmp_path):
    model = classifier(text=True, pooling="attention", conv_channels=4, conv_kernel=3, **front)
    graphs, document = exported(model, tmp_path)
    texts = ["the cat sat on the mat", "a dog", "ran"]
    x, lengths = pad_batch(model.prepare(texts))
    found = graphs["model"].run(["logits"], {"x": x.numpy(), "lengths": lengths.numpy(),
                                             **zero_state(model.encoder.rnn, 3)})[0]
    np.testing.assert_allclose(found, model.outputs(texts).numpy(), atol=TOLERANCE, rtol=0)
    extra = document["extra"]  # what travels with the graph: the vocabulary and the labels
    assert extra["labels"] == ["a", "b", "c"] and "the" in extra["preprocessor"]["tokenizer"]["tokens"]
    assert document["task"] == "sequence-classification" and document["check"]["max_abs_difference"] <= TOLERANCE
    assert [i["name"] for i in document["graphs"]["model"]["inputs"]] == ["x", "lengths", "h0", "c0"]


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_chunks_through_the_graph_state_equal_the_whole_sequence(cell, tmp_path):
    model = language_model(cell)
    graphs, _ = exported(model, tmp_path)
    ids = model.encode("the cat sat on the mat")[None].numpy()
    state = zero_state(model.rnn, 1)
    whole = graphs["model"].run(None, {"ids": ids, "lengths": np.array([ids.shape[1]]), **state})
    pieces, carried = [], state
    for chunk in np.split(ids, [5, 6, 13], axis=1):
        logits, *final = graphs["model"].run(None, {"ids": chunk, "lengths": np.array([chunk.shape[1]]), **carried})
        pieces.append(logits)
        carried = dict(zip(carried, final))
    np.testing.assert_allclose(np.concatenate(pieces, 1), whole[0], atol=TOLERANCE, rtol=0)
    np.testing.assert_allclose(carried["h0"], whole[1], atol=TOLERANCE, rtol=0)
    with torch.no_grad():
        expected = model(torch.from_numpy(ids))[0].numpy()
    np.testing.assert_allclose(whole[0], expected, atol=TOLERANCE, rtol=0)


def test_forecaster_graph_gives_the_models_forecast(tmp_path):
    model = EVERY_TASK["forecaster"]("gru", decoder="autoregressive")
    graphs, _ = exported(model, tmp_path)
    past, future = torch.randn(4, 6, 3), torch.randn(4, 3, 2)
    found = graphs["model"].run(None, {"past": past.numpy(), "future": future.numpy()})[0]
    np.testing.assert_allclose(found, model.predict(type("B", (), {"past": past, "future": future})).numpy(),
                               atol=TOLERANCE, rtol=0)


def greedy(graphs, feed, suppress, limit):
    """Greedy decoding with the two graphs, as an application outside Python would write it."""
    encoder, decoder = graphs["encoder"], graphs["decoder"]
    names = [o.name for o in encoder.get_outputs()]
    outputs = dict(zip(names, encoder.run(None, feed)))
    batch = outputs["memory"].shape[0]
    state = {name: value for name, value in outputs.items() if name.endswith("0")}
    tokens, written, done = np.full(batch, BOS), [[] for _ in range(batch)], np.zeros(batch, bool)
    for _ in range(limit):
        inputs = {"tokens": tokens, **state, **{k: outputs[k] for k in ("memory", "mask", "keys")}}
        copied = outputs.get("source", feed.get("source"))  # a retrieving captioner's encoder gives the ids
        inputs.update({"source": copied} if "source" in [i.name for i in decoder.get_inputs()] else {})
        log_probs, *final, _ = decoder.run(None, inputs)
        log_probs[:, list(suppress)] = -np.inf
        tokens = log_probs.argmax(-1)
        state = {name: value for name, value in zip(state, final)}
        for row, token in enumerate(tokens):
            if not done[row]:
                done[row] = token == EOS
                written[row] += [] if done[row] else [int(token)]
        if done.all():
            break
    return written


@pytest.mark.parametrize("copy", [False, True], ids=["attention", "copy"])
def test_seq2seq_encoder_and_decoder_step_graphs_decode_as_the_model(copy, tmp_path):
    model = seq2seq(copy=copy)
    graphs, _ = exported(model, tmp_path)
    texts = ["cat", "dogs", "a"]
    source, lengths = pad_batch([model.encode_source(t) for t in texts])
    found = greedy(graphs, {"source": source.numpy(), "lengths": lengths.numpy()}, (0, BOS), 12)
    vocab = model.target_vocab
    assert [model.detokenize(vocab.decode(tokens)) for tokens in found] == model.translate(texts, max_length=12)


@pytest.mark.parametrize("neighbours", [0, 2], ids=["image", "retrieval"])
def test_captioner_graphs_caption_as_the_model(neighbours, tmp_path):
    from captioning_data import make_shapes
    from rnnkit.data.images import as_image_batch
    from rnnkit.data.text import UNK

    model = captioner(neighbours=neighbours)
    graphs, _ = exported(model, tmp_path)
    images, _ = make_shapes(3, seed=4)
    limit = model.config.max_output_length or 30  # as caption() decodes
    found = greedy(graphs, {"images": as_image_batch(images).numpy()}, (0, UNK, BOS), limit)
    assert [" ".join(model.vocab.decode(tokens)) for tokens in found] == model.caption(images)


def test_captioner_encoder_gives_the_nearest_training_image(tmp_path):
    from captioning_data import make_shapes
    from rnnkit.data.images import as_image_batch

    model = captioner(nearest_within=0.25)  # measured: one of the four within (0.19), the others 0.28-0.34
    graphs, sidecar = exported(model, tmp_path)
    images, _ = make_shapes(4, seed=4)
    encoder = graphs["encoder"]
    names = [o.name for o in encoder.get_outputs()]
    outputs = dict(zip(names, encoder.run(None, {"images": as_image_batch(images).numpy()})))
    table = sidecar["extra"]["retrieval_captions"]  # the rule, applied outside Python:
    same = [table[i] if d < sidecar["config"]["nearest_within"] else None
            for i, d in zip(outputs["nearest"], outputs["distance"])]
    assert same == model.near_duplicates(as_image_batch(images)) and any(same) and not all(same)


def test_layer_norm_is_refused_and_nothing_is_written(tmp_path):
    with pytest.raises(rnnkit.UserError, match="layer_norm"):
        rnnkit.export(tagger(layer_norm=True), tmp_path / "model.onnx")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_check_writes_nothing(tmp_path):
    with pytest.raises(rnnkit.UserError, match="export check failed: the model graph's output 'logits'"):
        rnnkit.export(tagger(), tmp_path / "model.onnx", tolerance=-1.0)
    assert list(tmp_path.iterdir()) == []


def test_int8_graphs_are_written_with_the_change_they_make(tmp_path):
    paths = rnnkit.export(language_model(), tmp_path / "lm.onnx", quantize=True)
    assert [p.name for p in paths] == ["lm.onnx", "lm.int8.onnx", "lm.json"]
    report = json.loads(paths[-1].read_text())["int8"]["model"]
    assert report["file"] == "lm.int8.onnx" and report["bytes"] == paths[1].stat().st_size
    assert 0 < report["max_abs_difference"]["logits"] < 0.1 and report["argmax_agreement"] > 0.9
    session(paths[1])  # runs in onnxruntime
