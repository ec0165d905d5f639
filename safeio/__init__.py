"""Shared helpers for untrusted input and output: YAML and strict JSON loading, file writes, terminal text, Markdown."""
