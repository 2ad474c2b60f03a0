"""The template_posthoc method: params.py declares it (torch-free), steps.py implements it."""
