"""xdd training: corpus tooling, training loops, baselines, CLI."""
