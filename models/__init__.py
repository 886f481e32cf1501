"""xdd inference: text pipeline, model heads, bundles, predictor. Never imports ``training``."""
