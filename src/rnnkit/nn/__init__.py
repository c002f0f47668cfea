"""rnnkit.nn: the recurrent core. Equations in ``functional``, one step in the cells, the loop in the layers.

Batch first everywhere: inputs (B, T, I), outputs (B, T, H). States keep PyTorch's (L*D, B, H) layout.
"""

from rnnkit.nn import functional, init
from rnnkit.nn.attention import AdditiveAttention, MultiplicativeAttention
from rnnkit.nn.config import RecurrentConfig, make_recurrent
from rnnkit.nn.cells import GRUCell, LSTMCell, RecurrentCell, RNNCell
from rnnkit.nn.layers import GRU, LAYERS, LSTM, RNN, RecurrentLayer, count_parameters, make_layer
from rnnkit.nn.min_rnn import MinGRU, MinLSTM, MinRNN
from rnnkit.nn.precision import PRECISIONS, set_precision

__all__ = ["functional", "init", "AdditiveAttention", "MultiplicativeAttention", "RNNCell", "LSTMCell", "GRUCell",
           "RecurrentCell", "RNN", "LSTM", "GRU", "RecurrentLayer", "MinGRU", "MinLSTM", "MinRNN", "LAYERS",
           "make_layer", "count_parameters", "RecurrentConfig", "make_recurrent", "PRECISIONS",
           "set_precision"]
