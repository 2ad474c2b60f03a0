"""The ldam_drw method: params.py declares it (torch-free), steps.py implements it."""
