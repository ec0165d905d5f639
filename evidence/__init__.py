"""The evidence audit: bibliographies, citation resolution and claim support."""
