"""EMSYNC music generator: tokens, model, KV-cached sampling, data preparation, training."""
