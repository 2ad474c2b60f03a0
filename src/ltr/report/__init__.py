"""Figures (matplotlib) and tables (pandas) built from metrics and logits."""
