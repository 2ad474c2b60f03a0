"""ltr: long-tailed and open-world recognition methods in one reproducible DVC pipeline."""

__version__ = "0.1.0"
