"""xdd evaluation: metrics and reports. Works on Documents, never on tensors."""
