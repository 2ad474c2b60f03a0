"""The experts method: params.py declares it (torch-free), steps.py implements it."""
