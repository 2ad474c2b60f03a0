"""What several methods share: declarations' sections and checks (params.py, torch-free), classifier
re-training on frozen stage-1 features (retraining.py: cRT, LWS, SSP), knobs chosen on val
(val_selection.py: tau-norm, TDE)."""
