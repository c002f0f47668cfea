"""A recurrent decoder with attention over any encoder's memory, input feeding and an optional copy mechanism.

One step, given the previous token y_{t-1}, the state and the memory m_1..m_S (B, S, K) of any encoder (a
recurrent encoder's outputs, or a CNN's H*W grid of image features)::

    x_t   = [E y_{t-1}; h~_{t-1}]                        input feeding (Luong et al. 2015): the last attentional
                                                          vector h~ goes back in (or x_t = E y_{t-1} without it)
    h_t   = recurrent layer step (rnnkit.nn LSTM/GRU, ``layer.step``; dropout between layers)
    c_t, a_t = attention(h_t, m, mask)                   additive or multiplicative scores (rnnkit.nn.attention)
    h~_t  = tanh(W_c [h_t; c_t])                         the attentional vector
    p_vocab = softmax(W_o h~_t + b_o)
    copy (pointer-generator, See et al. 2017), when ``copy=True``:
      p_gen = sigmoid(w_g . [h~_t; c_t; E y_{t-1}] + b_g)
      p(w)  = p_gen p_vocab(w) + (1 - p_gen) sum_{s: source_ids_s = w} a_{t,s} / sum_{s: source_ids_s != 0} a_{t,s}
              (memory positions with source id 0 hold no token, such as a captioner's image grid beside the
              retrieved captions' words: the copy distribution is the attention over the others)

The copy distribution needs the source tokens in the decoder's vocabulary (a shared source/target vocabulary);
source words outside it are <unk> both ways. Deviation from the papers: the attention is always computed from the
current top state h_t (Luong's flow), whichever score is chosen, so Bahdanau's additive score is used inside
Luong's architecture.

The API, independent of the encoder (Seq2Seq uses a recurrent encoder, captioning a CNN)::

    decoder = AttentionDecoder(AttentionDecoderConfig(vocab_size=V, memory_size=K, init_size=P,
                                                      rnn=RecurrentConfig(hidden_size=256)))
    memory = decoder.memory(values, mask, source_ids=None)  # (B,S,K), (B,S) bool, (B,S) ids for copy; keys
                                                             # projected once here for all steps
    state = decoder.init_state(memory, initial)             # initial (B, P): h_0 = tanh(W_h initial) (c_0 alike);
                                                             # None (or init_size=0): zeros
    log_probs, attention, state = decoder(inputs, state, memory, sampling_probability=0.0)   # teacher forcing:
                                                             # inputs (B,T) = BOS y_1 .. y_{T-1}; (B,T,V), (B,T,S)
    log_probs, state, weights = decoder.step(tokens, state, memory)   # one token: (B,) -> (B,V), (B,S)
    decoder.greedy(memory, state, bos=, eos=, max_length=, suppress=(0,)) -> Hypotheses(tokens, scores, extras,
                                                             capped)   # max_length: one, or one per input
    decoder.beam(memory, state, bos=, eos=, max_length=, beam_size=5, alpha=0.0, suppress=(0,)) -> Hypotheses

Outputs are log probabilities (not logits), so that the copy mixture is a proper distribution: train with
``nll_loss``. The state is a tuple of tensors with the batch in dim 0 (``(h, c, h~)`` for the LSTM, ``(h, h~)``
for the GRU; h and c (B, L, H)), which is what ``rnnkit.tasks.decoding.beam_search`` reorders; each step hands
the layer its own (L, B, H) layout and takes the result back.

Scheduled sampling (Bengio et al. 2015): in training, each input token after the first is replaced, with
probability ``sampling_probability``, by the model's own most likely token at the previous step (argmax, detached).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, Optional, Sequence

import torch
from torch import Tensor, nn

from rnnkit.nn.attention import ATTENTIONS, make_attention
from rnnkit.nn.config import RecurrentConfig, make_recurrent
from rnnkit.tasks.decoding.beam_search import Hypotheses, MaxLength, beam_search, greedy_decode

DECODER_CELLS = ("lstm", "gru")


@dataclass
class AttentionDecoderConfig:
    """The decoder's settings; ``rnn.dropout`` falls on the embeddings, between layers and before the output
    projection. ``vocab_size``, ``memory_size`` and ``init_size`` come from the data and the encoder: the tasks'
    ``for_data`` sets them."""

    vocab_size: int = 0
    memory_size: int = 0  # K: features per memory position (D*H for a recurrent encoder, channels for a CNN)
    init_size: int = 0  # size of the vector that initialises the state (0: the state starts at zeros)
    embedding_dim: int = field(default=64, metadata={"help": "size of the output token embeddings"})
    rnn: RecurrentConfig = field(default_factory=lambda: RecurrentConfig(hidden_size=128))
    attention: str = field(default="additive", metadata={
        "help": "additive (Bahdanau) or multiplicative (Luong \"general\") attention", "choices": ATTENTIONS})
    attention_size: int = field(default=0, metadata={
        "help": "additive attention: width of its tanh layer (0: the hidden size)"})
    input_feeding: bool = field(default=True, metadata={
        "help": "feed the last attention context to the next step (Luong et al. 2015)"})
    copy: bool = field(default=False, metadata={  # needs source_ids in the decoder's vocabulary
        "help": "pointer-generator: copy source tokens (one vocabulary for both sides)"})

    def __post_init__(self) -> None:
        self.rnn.require(unidirectional=True, cells=DECODER_CELLS, no_recurrent_dropout=True,
                         where="the attention decoder")
        if self.attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {ATTENTIONS}, got {self.attention!r}")
        if min(self.vocab_size, self.memory_size, self.init_size, self.attention_size) < 0 or self.embedding_dim < 1:
            raise ValueError("vocab_size, memory_size, init_size and attention_size must be >= 0, embedding_dim >= 1")


class Memory(NamedTuple):
    """What the decoder attends to, batch first: ``values`` (B, S, K), ``mask`` (B, S) bool (True: real
    position), ``projected`` keys (computed once by ``AttentionDecoder.memory``), ``source_ids`` (B, S) or None."""

    values: Tensor
    mask: Tensor
    projected: Tensor
    source_ids: Optional[Tensor]


class AttentionDecoder(nn.Module):
    def __init__(self, config: AttentionDecoderConfig) -> None:
        super().__init__()
        if min(config.vocab_size, config.memory_size) < 1:
            raise ValueError(f"the decoder needs vocab_size and memory_size >= 1, got {config.vocab_size} and "
                             f"{config.memory_size}: build the model with its for_data, which sets them")
        self.config = c = config
        H = c.rnn.hidden_size
        self.embedding = nn.Embedding(c.vocab_size, c.embedding_dim, padding_idx=0)
        self.rnn = make_recurrent(c.rnn, c.embedding_dim + (H if c.input_feeding else 0))
        self.attention = make_attention(c.attention, H, c.memory_size, c.attention_size or H)
        self.combine = nn.Linear(H + c.memory_size, H, bias=False)  # W_c
        self.output = nn.Linear(H, c.vocab_size)  # W_o, b_o
        self.copy_gate = nn.Linear(H + c.memory_size + c.embedding_dim, 1) if c.copy else None  # w_g, b_g
        parts = 2 if c.rnn.cell == "lstm" else 1
        self.bridge = nn.Linear(c.init_size, parts * c.rnn.num_layers * H) if c.init_size else None
        self.dropout = nn.Dropout(c.rnn.dropout)

    # --- memory and state ------------------------------------------------------------------------------------

    def memory(self, values: Tensor, mask: Optional[Tensor] = None, source_ids: Optional[Tensor] = None) -> Memory:
        """Bundle an encoder's output for decoding; the attention's key projection is computed here, once."""
        if values.dim() != 3 or values.shape[-1] != self.config.memory_size:
            raise ValueError(f"memory must be (batch, positions, {self.config.memory_size}), got {tuple(values.shape)}")
        if mask is None:
            mask = torch.ones(values.shape[:2], dtype=torch.bool, device=values.device)
        if self.config.copy and source_ids is None:
            raise ValueError("copy=True needs source_ids (B, S): the source tokens in the decoder's vocabulary")
        return Memory(values, mask, self.attention.project_keys(values), source_ids if self.config.copy else None)

    def init_state(self, memory: Memory, initial: Optional[Tensor] = None) -> tuple[Tensor, ...]:
        """The state before the first step: from ``initial`` (B, init_size) through ``tanh(W initial + b)``,
        else zeros; the fed-back attentional vector starts at zeros."""
        rnn = self.config.rnn
        B = memory.values.shape[0]
        like = memory.values
        feed = like.new_zeros(B, rnn.hidden_size)
        if self.bridge is not None and initial is not None:
            parts = torch.tanh(self.bridge(initial)).view(B, -1, rnn.num_layers, rnn.hidden_size)  # (B, 1|2, L, H)
            return (*parts.unbind(1), feed)
        zeros = like.new_zeros(B, rnn.num_layers, rnn.hidden_size)
        return (zeros, zeros, feed) if rnn.cell == "lstm" else (zeros, feed)

    # --- one step ----------------------------------------------------------------------------------------------

    def _advance(self, tokens: Tensor, state: tuple[Tensor, ...], memory: Memory):
        """The layer's step and attention: the attentional vector h~, context, embedding, weights, new state."""
        *layers, feed = state
        embedded = self.dropout(self.embedding(tokens))  # (B, E)
        x = torch.cat([embedded, feed], -1) if self.config.input_feeding else embedded
        # the decoder keeps the batch first (beam search reorders dim 0); the layer's state is (L, B, H)
        rows = tuple(part.transpose(0, 1) for part in layers)
        h, rows = self.rnn.step(x, rows if len(rows) == 2 else rows[0])  # (B, H)
        context, weights = self.attention(h, memory.values, memory.mask, memory.projected)  # (B, K), (B, S)
        attentional = torch.tanh(self.combine(torch.cat([h, context], -1)))  # h~: (B, H)
        rows = rows if isinstance(rows, tuple) else (rows,)
        new_state = (*(part.transpose(0, 1) for part in rows), attentional)
        return attentional, context, embedded, weights, new_state

    def _log_probs(self, attentional: Tensor, context: Tensor, embedded: Tensor, weights: Tensor,
                   source_ids: Optional[Tensor]) -> Tensor:
        """log p(w) over the vocabulary, for any leading dims (B,) or (B, T); the copy mixture when enabled."""
        logits = self.output(self.dropout(attentional))  # (..., V)
        if self.copy_gate is None:
            return torch.log_softmax(logits, -1)
        p_gen = torch.sigmoid(self.copy_gate(torch.cat([attentional, context, embedded], -1)))  # (..., 1)
        probs = p_gen * torch.softmax(logits, -1)
        if source_ids.dim() < weights.dim():  # one source for all T steps
            source_ids = source_ids.unsqueeze(1).expand_as(weights)  # (B, T, S)
        copied = weights * (source_ids != 0)  # positions without a token (an image's grid) copy nothing
        copied = copied / copied.sum(-1, keepdim=True).clamp_min(1e-12)
        probs = probs.scatter_add(-1, source_ids, (1 - p_gen) * copied)
        return torch.log(probs.clamp_min(1e-12))

    def step(self, tokens: Tensor, state: tuple[Tensor, ...], memory: Memory):
        """One token (B,) -> ``(log_probs (B, V), state, attention weights (B, S))``."""
        attentional, context, embedded, weights, state = self._advance(tokens, state, memory)
        return self._log_probs(attentional, context, embedded, weights, memory.source_ids), state, weights

    # --- teacher forcing -----------------------------------------------------------------------------------

    def forward(self, inputs: Tensor, state: tuple[Tensor, ...], memory: Memory,
                sampling_probability: float = 0.0, keep: Optional[Tensor] = None):
        """Teacher forcing over ``inputs`` (B, T) (BOS then the targets but the last):
        ``(log_probs (B, T, V), attention (B, T, S), final state)``. With ``keep`` (B, T) bool (the real, not
        padding, steps), log_probs are computed only where it is True, packed as (N, V) in row-major order, and a
        row stops at its last kept step: its final state is the one after that step, its attention 0 after it.

        Rows run longest first and each step takes only the rows still going (as ``pack_padded_sequence``), so
        padding costs no step: on targets of mixed lengths that is a third to a half of the work."""
        B, T = inputs.shape
        steps = torch.arange(T, device=inputs.device)
        lengths = torch.full((B,), T, device=inputs.device) if keep is None else \
            torch.where(keep.any(1), T - keep.flip(1).int().argmax(1), 0)  # up to the last kept step
        order = torch.argsort(lengths, descending=True, stable=True)
        counts = (lengths[order].unsqueeze(1) > steps).sum(0).tolist()  # (T,) rows going at each step
        source_ids = memory.source_ids  # (B, S) in the rows' own order, or None
        inputs, state = inputs[order], tuple(part[order] for part in state)
        memory = Memory(*(None if part is None else part[order] for part in memory))
        sampling = self.training and sampling_probability > 0
        outputs, log_probs, ended, going = [], [], [], B
        for t, n in enumerate(counts):
            if n < going:  # rows n.. ended: keep their state, continue with the rest
                ended.append(tuple(part[n:going] for part in state))
                state, going = tuple(part[:n] for part in state), n
                memory = Memory(*(None if part is None else part[:n] for part in memory))
            if n == 0:
                break
            tokens = inputs[:n, t]
            if sampling and t > 0:
                own = log_probs[-1][:n].detach().argmax(-1)
                use_own = torch.rand(tokens.shape, device=tokens.device) < sampling_probability
                tokens = torch.where(use_own & (tokens != 0), own, tokens)
            attentional, context, embedded, weights, state = self._advance(tokens, state, memory)
            outputs.append((attentional, context, embedded, weights))
            if sampling:
                log_probs.append(self._log_probs(attentional, context, embedded, weights, memory.source_ids))
        # the steps' outputs are packed step by step (rows sorted); the real step t of row b sits at
        # offset[t] + (b's place in the order)
        place = torch.empty_like(order)
        place[order] = torch.arange(B, device=order.device)
        offsets = torch.tensor([0] + counts[:-1], device=inputs.device).cumsum(0)
        index = offsets.unsqueeze(0) + place.unsqueeze(1)  # (B, T)
        real = steps < lengths.unsqueeze(1)  # (B, T)
        packed = [torch.cat([o[i] for o in outputs]) for i in range(4)]
        attention = packed[3].new_zeros(B, T, packed[3].shape[-1])
        attention[real] = packed[3][index[real]]
        final = tuple(torch.cat(parts)[place] for parts in zip(state, *reversed(ended)))
        chosen = index[keep] if keep is not None else index.flatten()  # row-major
        if sampling:
            scores = torch.cat(log_probs)[chosen]
        else:  # one projection for all steps: a single large matmul is faster than T small ones
            if source_ids is not None:  # each step's source, row-major as chosen
                source_ids = source_ids.unsqueeze(1).expand(B, T, -1)
                source_ids = source_ids[keep] if keep is not None else source_ids.flatten(0, 1)
            scores = self._log_probs(*(x[chosen] for x in packed), source_ids)
        return (scores if keep is not None else scores.view(B, T, -1)), attention, final

    # --- decoding ----------------------------------------------------------------------------------------------

    def greedy(self, memory: Memory, state: tuple[Tensor, ...], *, bos: int, eos: int, max_length: MaxLength,
               suppress: Sequence[int] = (0,)) -> Hypotheses:
        """Greedy decoding; ``Hypotheses.extras`` are the attention weights (n, S) per output, ``capped`` says
        which outputs reached ``max_length`` (one for all, or per input). Tokens in ``suppress`` (default:
        padding) are never generated."""
        return greedy_decode(self.decoding_step(suppress), state, memory, memory.values.shape[0], bos=bos,
                             eos=eos, max_length=max_length)

    def beam(self, memory: Memory, state: tuple[Tensor, ...], *, bos: int, eos: int, max_length: MaxLength,
             beam_size: int = 5, alpha: float = 0.0, suppress: Sequence[int] = (0,)) -> Hypotheses:
        """Beam search (``rnnkit.tasks.decoding.beam_search``); ``alpha``: GNMT length penalty exponent."""
        return beam_search(self.decoding_step(suppress), state, memory, memory.values.shape[0], bos=bos,
                           eos=eos, beam_size=beam_size, max_length=max_length, alpha=alpha)

    def decoding_step(self, suppress: Sequence[int]):
        """``step`` for the searches of ``rnnkit.tasks.decoding.beam_search``, never choosing a token in
        ``suppress``."""
        banned = list(suppress)

        def step(tokens: Tensor, state: tuple[Tensor, ...], memory: Memory):
            log_probs, state, weights = self.step(tokens, state, memory)
            if banned:
                log_probs = log_probs.index_fill(-1, torch.tensor(banned, device=log_probs.device), float("-inf"))
            return log_probs, state, weights

        return step
