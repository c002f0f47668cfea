"""The vanishing gradient made visible: how much the loss at the end reaches back to each earlier state.

For a many-to-one model whose loss is read at each sequence's last step, ``dL/dh_t`` is the total derivative
of the loss with respect to the hidden state t steps before it (through every later state). In an Elman RNN
its norm decays roughly geometrically with the distance (Bengio et al. 1994; Hochreiter 1991); the LSTM's
additive cell state keeps it alive (the constant error carousel).
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.nn import functional as F
from rnnkit.nn.padding import valid_mask
from rnnkit.nn.reference import scan


def state_gradient_norms(model, x: Tensor, lengths: Tensor, target: Tensor) -> Tensor:
    """Mean ``||dL/dh_t||`` by distance from the loss: element d is the mean over sequences of the norm at
    step ``length - 1 - d`` of the first layer. Needs a ``SequenceClassifier`` or ``SequenceRegressor`` whose
    encoder reads numbers straight into one unidirectional layer and pools its last state (``pooling="last"``).
    Returns (T_max,) with NaN where no sequence reaches that far.
    """
    layer, encoder = model.encoder.rnn, model.config.encoder
    if layer.num_layers != 1 or layer.bidirectional or encoder.pooling != "last" or encoder.conv_channels or (
            encoder.vocab_size):
        raise ValueError("state_gradient_norms reads numeric inputs through a single-layer, unidirectional encoder "
                         "without front-end, pooling its last state")
    was_training = model.training
    model.eval()
    try:
        weights = F.cell_weights(layer, "_l0")
        initial = layer._check_state(None, x.shape[0], x)
        initial = (initial[0][0], initial[1][0]) if layer.mode == "LSTM" else initial[0]
        steps = x.shape[1]
        mask = valid_mask(lengths, steps)
        states: list = []
        _, final = scan(F.UPDATES[layer.mode], F.input_projection(x, weights), initial, weights, mask,
                        record=states)
        h_final = final[0] if layer.mode == "LSTM" else final
        loss = model.loss_from_output(model.output(h_final), target)
        hidden = [s[0] if layer.mode == "LSTM" else s for s in states]
        grads = torch.autograd.grad(loss, hidden)
    finally:
        model.train(was_training)
    norms = torch.stack([g.norm(dim=-1) for g in grads], dim=1)  # (B, T)
    distance = lengths.unsqueeze(1) - 1 - torch.arange(steps)  # (B, T): 0 at each sequence's last step
    result = torch.full((steps,), float("nan"))
    for d in range(steps):
        here = mask & (distance == d)
        if here.any():
            result[d] = norms[here].mean()
    return result
