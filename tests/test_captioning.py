"""Image captioning: the CNN's grid, a captioner that learns coloured shapes, its attention, baselines, the report
and a saved model that captions exactly as before."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from captioning_data import make_shapes, train_small_captioner

import rnnkit
from rnnkit.data.images import as_image_batch, random_shift
from rnnkit.eval.reports.caption import caption_report, most_frequent_caption, nearest_neighbour_captions
from rnnkit.tasks.blocks.image_encoder import ImageEncoder, ImageEncoderConfig
from rnnkit.tasks.models.captioning import CaptionerConfig, ImageCaptioner


@pytest.mark.parametrize("norm", ["batch", "group", "none"])
def test_image_encoder_gives_a_row_major_grid_and_its_mean(norm):
    config = ImageEncoderConfig(channels=(8, 16, 24), norm=norm)
    encoder = ImageEncoder(config).eval()
    images = torch.rand(2, 3, 64, 48)
    grid, pooled = encoder(images)
    assert config.grid_shape(64, 48) == (8, 6) and grid.shape == (2, 48, 24) and pooled.shape == (2, 24)
    torch.testing.assert_close(pooled, grid.mean(1))
    features = encoder.blocks(images - 0.5)  # (B, K, h, w): position s is row s // w, column s % w
    torch.testing.assert_close(grid[:, 1 * 6 + 4], features[:, :, 1, 4])
    with pytest.raises(ValueError, match="too small"):
        encoder(torch.rand(1, 3, 4, 4))


def test_thumbnail_joins_the_pooled_vector():
    config = ImageEncoderConfig(channels=(8, 16), thumbnail=4)
    encoder = ImageEncoder(config).eval()
    for height, width in ((32, 16), (30, 18)):  # whole blocks of pixels, and adaptive pooling
        images = torch.rand(2, 3, height, width)
        grid, pooled = encoder(images)
        assert pooled.shape == (2, config.pooled_size) == (2, 16 + 3 * 4 * 4)
        torch.testing.assert_close(pooled[:, :16], grid.mean(1))
        torch.testing.assert_close(pooled[:, 16:], F.adaptive_avg_pool2d(images - 0.5, 4).flatten(1))


def test_images_are_made_channels_first_floats():
    images = np.zeros((2, 5, 4, 3), np.uint8)
    images[0, 1, 2] = (255, 0, 51)
    batch = as_image_batch(images)
    assert batch.shape == (2, 3, 5, 4) and batch.dtype == torch.float32
    assert batch[0, :, 1, 2].tolist() == pytest.approx([1.0, 0.0, 0.2])
    with pytest.raises(rnnkit.UserError, match="RGB"):
        as_image_batch(np.zeros((2, 5, 4), np.uint8))


def test_random_shift_moves_pixels_and_fills_white():
    images = torch.zeros(6, 3, 8, 8)
    assert torch.equal(random_shift(images, 0), images)
    shifted = random_shift(images, 2, torch.Generator().manual_seed(0))
    assert shifted.shape == images.shape and set(shifted.unique().tolist()) <= {0.0, 1.0}
    assert (shifted == 1).any() and (shifted == 0).sum(dim=(1, 2, 3)).min() >= 3 * 6 * 6  # at most 2 rows/cols


def test_baselines():
    train, captions = make_shapes(30, seed=0)
    assert nearest_neighbour_captions(train, captions, train[[3, 7]]) == [captions[3], captions[7]]
    assert most_frequent_caption(["b a", "a", "b a", "a"]) == "a"  # ties: sorted order


@pytest.fixture(scope="module")
def trained():
    """A captioner trained on 160 shapes for 10 epochs (about 3-10 s on one thread), its own captions only."""
    return train_small_captioner(nearest_within=0)


@pytest.mark.trained
def test_captioner_learns_coloured_shapes(trained):
    model, result, _, (val_images, val_captions) = trained
    assert result.history[-1]["val_exact_match"] >= 0.8  # measured: 0.95-1.0 (0.0 after the first epoch)
    assert result.history[-1]["val_loss"] < 0.5 * result.history[0]["val_loss"]
    beam = model.caption(val_images, beam=3)
    assert np.mean([c == r for c, r in zip(beam, val_captions)]) >= 0.8


def test_attention_is_a_distribution_over_the_grid(trained):
    model, _, _, (val_images, _) = trained
    captions, details = model.caption(val_images[:5], return_attention=True)
    for caption, detail in zip(captions, details):
        assert detail["words"] == caption.split()
        assert detail["attention"].shape == (len(detail["words"]) + 1, 4, 4)  # words + </s>, a 16 / 2 / 2 grid
        np.testing.assert_allclose(detail["attention"].sum((1, 2)), 1.0, rtol=1e-5)


def test_saved_model_captions_exactly_as_before(trained, tmp_path):
    model, _, _, (val_images, _) = trained
    rnnkit.save(model, tmp_path / "model")
    loaded = rnnkit.load(tmp_path / "model")
    assert isinstance(loaded, ImageCaptioner) and loaded.vocab.tokens == model.vocab.tokens
    before, details = model.caption(val_images, beam=3, return_attention=True)
    after, loaded_details = loaded.caption(val_images, beam=3, return_attention=True)
    assert after == before
    np.testing.assert_array_equal(loaded_details[0]["attention"], details[0]["attention"])


def test_a_folder_from_before_the_thumbnail_and_the_near_duplicates_loads_without_them(tmp_path):
    _, captions = make_shapes(8)
    config = CaptionerConfig(ImageEncoderConfig(channels=(8,)), image_size=16, nearest_within=0)
    rnnkit.save(ImageCaptioner.for_data(captions, config), tmp_path / "model")
    document = json.loads((tmp_path / "model" / "config.json").read_text())
    del document["config"]["encoder"]["thumbnail"], document["config"]["nearest_within"]  # before the fields
    (tmp_path / "model" / "config.json").write_text(json.dumps(document))
    loaded = rnnkit.load(tmp_path / "model").config
    assert CaptionerConfig().encoder.thumbnail == 16 and loaded.encoder.thumbnail == 0
    assert CaptionerConfig().nearest_within > 0 and loaded.nearest_within == 0


def test_report_scores_against_baselines(trained):
    model, result, train, (val_images, val_captions) = trained
    images, references = val_images[:12], [c.upper() for c in val_captions[:12]]  # few: figures are slow
    metrics, report, outputs = caption_report(model, images, references, beam=3, history=result.history,
                                              train=train, examples=2)
    assert metrics["exact_match"] >= 0.75 and metrics["exact_match"] > metrics["frequent_exact_match"]
    assert {"greedy_bleu", "nearest_bleu", "frequent_wer", "wer", "chrf"} <= set(metrics)
    html = report.to_html()
    assert html.count("<img") == 2 + 2  # learning curves, the captions grid, 2 attention maps
    assert outputs == model.caption(images, beam=3)
