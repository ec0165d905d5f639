"""The LLM seam and the debate roles."""
