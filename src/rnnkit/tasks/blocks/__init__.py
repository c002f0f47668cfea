"""Building blocks of the task models, owned by none of them: the sequence encoder (front-end, recurrent layers,
pooling), the attention decoder and the image encoder (a small CNN)."""
