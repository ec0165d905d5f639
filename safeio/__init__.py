"""Shared helpers for untrusted input and output: YAML loading, file writes, terminal text, Markdown."""
