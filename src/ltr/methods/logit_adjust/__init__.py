"""The logit_adjust method: params.py declares it (torch-free), steps.py implements it."""
