"""Coloured shapes with their names ("red circle"): a tiny image-captioning task for the tests."""

import numpy as np

COLOURS = {"red": (220, 30, 30), "green": (30, 170, 30), "blue": (30, 60, 220), "yellow": (230, 200, 20)}
SHAPES = ("circle", "square", "triangle")


def make_shapes(count, size=16, seed=0):
    """``count`` images (count, size, size, 3) uint8 on white, each one shape of one colour, and captions."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    images, captions = [], []
    for _ in range(count):
        colour, shape = list(COLOURS)[rng.integers(len(COLOURS))], SHAPES[rng.integers(len(SHAPES))]
        r = rng.uniform(0.3, 0.45) * size
        cy, cx = rng.uniform(r, size - r, 2)
        if shape == "circle":
            mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        elif shape == "square":
            mask = (abs(yy - cy) <= 0.8 * r) & (abs(xx - cx) <= 0.8 * r)
        else:  # apex up
            mask = (yy >= cy - r) & (yy <= cy + r) & (abs(xx - cx) <= (yy - (cy - r)) / 2)
        image = np.full((size, size, 3), 255, np.uint8)
        image[mask] = COLOURS[colour]
        images.append(image)
        captions.append(f"{colour} {shape}")
    return np.stack(images), captions


def make_scenes(count, size=16, seed=0):
    """``make_shapes`` on a random grey background, captioned in five words ("there is a red circle"): long enough
    for 4-gram BLEU (whose corpus score is 0 for captions shorter than four words). The nearest image in pixels
    mostly matches the background, a weak guess, while a CNN learns to look at the shape."""
    images, captions = make_shapes(count, size, seed)
    white = (images == 255).all(-1)
    grey = np.random.default_rng(seed + 100).integers(0, 256, count)
    images[white] = np.repeat(grey, white.reshape(count, -1).sum(1))[:, None]
    return images, [f"there is a {caption}" for caption in captions]


def train_small_captioner(epochs=10, **config):
    """A captioner (8-16 channel CNN, 32-unit decoder, 16-pixel images; ``config``: more ``CaptionerConfig``
    fields) trained ``epochs`` epochs on 160 shapes, validated on 60: seconds on one thread. Returns the model in eval
    mode, the fit's result, and the (images, captions) of both sets."""
    import torch

    from rnnkit.data.captions import caption_collate
    from rnnkit.nn import RecurrentConfig
    from rnnkit.tasks.blocks.decoder import AttentionDecoderConfig
    from rnnkit.tasks.blocks.image_encoder import ImageEncoderConfig
    from rnnkit.tasks.models.captioning import CaptionerConfig, ImageCaptioner
    from rnnkit.train import TrainConfig, Trainer

    torch.manual_seed(0)
    images, captions = make_shapes(160, seed=0)
    val_images, val_captions = make_shapes(60, seed=1)
    decoder = AttentionDecoderConfig(embedding_dim=16, rnn=RecurrentConfig(hidden_size=32))
    model_config = CaptionerConfig(ImageEncoderConfig(channels=(8, 16)), decoder, image_size=16, **config)
    model = ImageCaptioner.for_data(captions, model_config, images=images)
    result = Trainer(model, TrainConfig(max_epochs=epochs, batch_size=8, lr=3e-3, progress="none")).fit(
        model.dataset(images, captions), model.dataset(val_images, val_captions), collate_fn=caption_collate)
    return model.eval(), result, (images, captions), (val_images, val_captions)
