"""Retrieval-augmented captioning: the nearest training captions as decoder memory, copied through the decoder's
copy mechanism; the table saved in the model folder; progress through decoding."""

import json

import numpy as np
import pytest
import torch
from captioning_data import make_shapes, train_small_captioner
from safetensors.torch import load_file

import rnnkit
from rnnkit.data.images import as_image_batch
from rnnkit.nn import RecurrentConfig
from rnnkit.tasks.blocks.decoder import AttentionDecoder, AttentionDecoderConfig
from rnnkit.tasks.blocks.retrieval import THUMBNAIL, CaptionRetrieval
from rnnkit.tasks.decoding.bleu_statistics import bleu_from_statistics, bleu_statistics
from rnnkit.tasks.models.captioning import CaptionerConfig, ImageCaptioner


def test_retrieval_finds_the_nearest_thumbnails_and_skips_the_image_itself_in_training():
    images, _ = make_shapes(30, size=32)
    batch = as_image_batch(images)
    table = CaptionRetrieval(neighbours=3, embedding_dim=4, memory_size=6)
    table.fill(batch, torch.arange(1, 61).view(30, 2))
    thumbnails = torch.nn.functional.adaptive_avg_pool2d(batch, THUMBNAIL).flatten(1)
    expected = torch.cdist(thumbnails[:8], thumbnails).argsort(1)[:, :4]
    found, distances = table.nearest(batch[:8], 3)
    assert torch.equal(found, expected[:, :3]) and torch.equal(found[:, 0], torch.arange(8))  # itself first
    rms = (thumbnails[:8, None] - thumbnails[found]).square().mean(-1).sqrt()
    torch.testing.assert_close(distances, rms, atol=1e-3, rtol=0)
    assert torch.equal(table.nearest(batch[:8], 3, skip_self=True)[0], expected[:, 1:])  # in training: the others
    embedding = torch.nn.Embedding(61, 4, padding_idx=0)
    values, mask, ids = table(batch[:2], embedding)
    assert values.shape == (2, 3 * 2, 6) and mask.all() and torch.equal(ids[0, :2], torch.tensor([1, 2]))


def test_copy_distribution_leaves_out_positions_without_a_token():
    torch.manual_seed(0)
    decoder = AttentionDecoder(AttentionDecoderConfig(vocab_size=12, memory_size=6, embedding_dim=4, copy=True,
                                                      rnn=RecurrentConfig(hidden_size=8)))
    source = torch.tensor([[0, 0, 0, 5, 7], [0, 0, 0, 9, 0]])  # an image grid (0), then words (a padded one)
    memory = decoder.memory(torch.randn(2, 5, 6), source != 0 | (torch.arange(5) < 3), source)
    with torch.no_grad():  # p_gen = 0: every word is copied
        decoder.copy_gate.weight.zero_()
        decoder.copy_gate.bias.fill_(-40.0)
    log_probs, _, weights = decoder.step(torch.tensor([2, 2]), decoder.init_state(memory), memory)
    probs = log_probs.exp()
    assert weights[:, :3].sum(1).min() > 0.1  # it attends to the grid, and copies none of it (id 0):
    torch.testing.assert_close(probs.sum(-1), torch.ones(2))  # no mass lost there
    torch.testing.assert_close(probs[0, 5] + probs[0, 7], torch.tensor(1.0))
    torch.testing.assert_close(probs[1, 9], torch.tensor(1.0))


@pytest.fixture(scope="module")
def trained():
    """A retrieving captioner trained on 160 shapes for 16 epochs (seconds on one thread), its own captions only:
    after 10 its validation captions matched 0.78-0.87 on one CPU, by thread count and oneDNN; after 16, 0.98."""
    model, _, train, validation = train_small_captioner(epochs=16, neighbours=3, nearest_within=0)
    return model, train, validation


@pytest.mark.trained
def test_retrieving_captioner_learns_and_its_folder_holds_the_table(trained, tmp_path):
    model, (images, captions), (val_images, val_captions) = trained
    beam = model.caption(val_images, beam=3)
    assert np.mean([c == r for c, r in zip(beam, val_captions)]) >= 0.8  # measured: 0.98 on 1-2 threads, oneDNN or not
    rnnkit.save(model, tmp_path / "model")
    extra = json.loads((tmp_path / "model" / "config.json").read_text())["extra"]
    assert extra["retrieval_captions"] == captions
    weights = load_file(tmp_path / "model" / "model.safetensors")
    assert weights["retrieval.keys"].shape == (160, 3 * THUMBNAIL ** 2) and "retrieval.captions" not in weights
    loaded = rnnkit.load(tmp_path / "model")
    assert loaded.caption(val_images, beam=3) == beam
    assert torch.equal(loaded.retrieval.captions, model.retrieval.captions)


def test_caption_reports_progress_and_attention_on_the_image_grid_only(trained):
    model, _, (val_images, _) = trained
    calls = []
    captions, details = model.caption(val_images[:10], batch_size=4, return_details=True,
                                      progress=lambda done, total: calls.append((done, total)))
    assert calls == [(4, 10), (8, 10), (10, 10)]
    assert details[0]["attention"].shape == (len(captions[0].split()) + 1, 4, 4)  # the grid; retrieved words apart


def test_near_duplicates_get_the_nearest_training_caption(trained):
    model, (images, captions), _ = trained
    model.config.nearest_within = 0.05
    try:
        noise = np.random.default_rng(0).integers(0, 256, (1, 16, 16, 3), dtype=np.uint8)  # near nothing
        found, details = model.caption(np.concatenate([images[:3], noise]), return_details=True)
        decoded = model.caption(noise)  # the decoder's caption
    finally:
        model.config.nearest_within = 0.0
    assert found[:3] == captions[:3] and [d["nearest"] for d in details] == [True, True, True, False]
    assert details[0]["attention"].shape == (0, 4, 4) and found[3] == decoded[0]


def test_nearest_within_is_chosen_by_validation_bleu_and_an_unused_table_is_dropped(trained):
    model, _, (val_images, val_captions) = trained
    scores = model.choose_nearest_within(val_images, val_captions, candidates=(0.0, 0.1, 1.0))
    try:
        assert list(scores) == [0.0, 0.1, 1.0] and model.config.nearest_within == max(scores, key=scores.get)
        for within, bleu in scores.items():
            model.config.nearest_within = within
            found = model.caption(val_images)
            statistics = np.sum([bleu_statistics(r.split(), h.split()) for r, h in zip(val_captions, found)], axis=0)
            assert bleu == pytest.approx(bleu_from_statistics(statistics))
    finally:
        model.config.nearest_within = 0.0
    images, captions = make_shapes(12)
    untrained = ImageCaptioner.for_data(captions, CaptionerConfig(image_size=16), images=images)
    assert untrained.config.nearest_within > 0 and untrained.retrieval is not None
    untrained.choose_nearest_within(images[:4], ["nothing like it"] * 4, candidates=(0.0, 0.05))
    assert untrained.config.nearest_within == 0 and untrained.retrieval is None  # not saved either


def test_retrieval_needs_the_training_images():
    _, captions = make_shapes(8)
    with pytest.raises(rnnkit.UserError, match="training images"):
        ImageCaptioner.for_data(captions, CaptionerConfig(neighbours=2, nearest_within=0))
    with pytest.raises(rnnkit.UserError, match="training images"):
        ImageCaptioner.for_data(captions)  # the default looks up near-duplicates
    with pytest.raises(ValueError, match="neighbours"):
        CaptionerConfig(neighbours=-1)
