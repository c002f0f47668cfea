"""The fast path: the layer's own parameters handed to PyTorch's fused kernels (oneDNN on CPU, cuDNN on GPU).

These are the kernels ``torch.nn.LSTM``/``GRU``/``RNN`` call, with the same arguments, so this path runs at
their speed. Variable lengths go through ``pack_padded_sequence``, exactly as a ``torch.nn`` user would.
"""

from __future__ import annotations

from typing import Any, Optional

from torch import Tensor, _VF
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

KERNELS = {"LSTM": _VF.lstm, "GRU": _VF.gru, "RNN_TANH": _VF.rnn_tanh, "RNN_RELU": _VF.rnn_relu}


def _select(state: Any, index: Tensor) -> Any:
    if isinstance(state, tuple):
        return tuple(s.index_select(1, index) for s in state)
    return state.index_select(1, index)


def fused_forward(layer: Any, x: Tensor, state: Any, lengths: Optional[Tensor]) -> tuple[Tensor, Any]:
    """Run ``layer`` (an ``RNNBase``) on batch-first ``x`` (B, T, I) with right-padded ``lengths`` or None."""
    layer._update_flat_weights()
    kernel = KERNELS[layer.mode]
    hyper = (layer.bias, layer.num_layers, layer.dropout, layer.training, layer.bidirectional)
    if lengths is None:
        output, *final = kernel(x, state, layer._flat_weights, *hyper, True)
        return output, (tuple(final) if layer.mode == "LSTM" else final[0])

    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    state = _select(state, packed.sorted_indices)
    output, *final = kernel(packed.data, packed.batch_sizes, state, layer._flat_weights, *hyper)
    output = PackedSequence(output, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)
    output, _ = pad_packed_sequence(output, batch_first=True, total_length=x.shape[1])
    final = tuple(final) if layer.mode == "LSTM" else final[0]
    return output, _select(final, packed.unsorted_indices)
