"""The transcript report (HTML, Markdown) and the export (JSON Lines, CSV), read from the store."""
