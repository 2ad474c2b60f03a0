"""Data sets, split lists, long-tailed split generation and batched tensor loading."""
