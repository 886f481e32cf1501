"""Shipped training configs (YAML)."""
