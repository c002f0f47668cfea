"""Captioner ensembles: members decode together (the mean of their next-word probabilities), one model folder."""

import copy
import json

import numpy as np
import pytest
import safetensors
import torch
from captioning_data import make_shapes, train_small_captioner

import rnnkit
from rnnkit.tasks.models.captioning import CaptionerConfig, ImageCaptioner


@pytest.fixture(scope="module")
def trained():
    torch.set_num_threads(1)
    return train_small_captioner(nearest_within=0.15)  # with the training images' table


def another(model, seed=1):
    """``model``'s weights moved a little: a second member that captions differently from the first."""
    other = copy.deepcopy(model)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in other.decoder.parameters():
            parameter.add_(parameter.std() * torch.randn(parameter.shape, generator=generator))
    return other


def test_an_ensemble_of_one_model_twice_captions_as_the_model(trained):
    model, _, _, (images, _) = trained
    alone = copy.deepcopy(model)
    alone.config.nearest_within = 0.0  # every caption the decoder's
    twice = ImageCaptioner.ensemble_of([copy.deepcopy(alone), copy.deepcopy(alone)])
    assert twice.config.members == 2 and len(twice.ensemble) == 1
    for beam in (1, 3):
        expected, details = alone.caption(images, beam=beam, return_details=True)
        found, joint = twice.caption(images, beam=beam, return_details=True)
        assert found == expected
        for one, two in zip(details, joint):
            np.testing.assert_allclose(two["attention"], one["attention"])  # the first member's


def test_an_ensemble_folder_round_trips_with_the_table_stored_once(trained, tmp_path):
    model, images = copy.deepcopy(trained[0]), trained[3][0]
    member = another(model)
    ensemble = ImageCaptioner.ensemble_of([copy.deepcopy(model), copy.deepcopy(member)])
    before = ensemble.caption(images, beam=3)
    rnnkit.save(ensemble, tmp_path / "model")
    with safetensors.safe_open(tmp_path / "model" / "model.safetensors", "pt") as weights:
        names = set(weights.keys())
    assert "retrieval.keys" in names and "ensemble.0.decoder.output.weight" in names
    assert not any(name.startswith("ensemble.0.retrieval") for name in names)  # the thumbnails once
    assert json.loads((tmp_path / "model" / "config.json").read_text())["config"]["members"] == 2
    loaded = rnnkit.load(tmp_path / "model")
    assert loaded.config.members == 2 and loaded.caption(images, beam=3) == before
    batch = torch.as_tensor(images).permute(0, 3, 1, 2) / 255
    nearest = loaded.near_duplicates(batch)  # the rule is the first member's, for the whole ensemble
    assert nearest == ensemble.near_duplicates(batch) and any(nearest) and not all(nearest)
    for copied in (loaded, model, member):
        copied.config.nearest_within = 0.0  # every caption the decoder's
    alone = [model.caption(images, beam=3), member.caption(images, beam=3)]
    assert alone[0] != alone[1]  # two members that differ
    assert [loaded.member(0).caption(images, beam=3), loaded.member(1).caption(images, beam=3)] == alone


def test_members_must_share_vocabulary_and_are_not_trained_as_one(trained, tmp_path):
    model, _, (train_images, _), _ = trained
    images, captions = make_shapes(20, seed=5)
    stranger = ImageCaptioner.for_data([f"{text} here" for text in captions], copy.deepcopy(model.config),
                                       images=images)
    with pytest.raises(rnnkit.UserError, match="member 1 has another config, vocabulary"):
        ImageCaptioner.ensemble_of([copy.deepcopy(model), stranger])
    with pytest.raises(rnnkit.UserError, match="ensemble_of"):
        ImageCaptioner.for_data(captions, CaptionerConfig(members=2), images=images)
    ensemble = ImageCaptioner.ensemble_of([copy.deepcopy(model), another(model)])
    with pytest.raises(rnnkit.UserError, match="train each alone"):
        ensemble.loss(next(iter([None])))
    pytest.importorskip("onnx")
    with pytest.raises(rnnkit.UserError, match=r"export one member, rnnkit.export\(model.member\(0\)"):
        rnnkit.export(ensemble, tmp_path / "deploy" / "captioner.onnx")
