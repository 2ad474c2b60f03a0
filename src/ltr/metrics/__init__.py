"""Pure metric functions on numpy arrays: accuracy by shot group, open-set F-measure and AUROC,
calibration, and the test-agnostic table. Values are fractions; the evaluate stage reports percent."""
