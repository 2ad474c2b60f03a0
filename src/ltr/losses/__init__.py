"""Losses, one per file, each naming its paper."""
