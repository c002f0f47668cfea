"""Turning a model's step-by-step outputs into sequences: greedy decoding and beam search (any step function),
CTC decoding (best path, prefix beam search, forced alignment) and sampling from a language model."""
