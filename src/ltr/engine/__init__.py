"""Training and inference: device and precision, the train loop, checkpoints and resume state."""
