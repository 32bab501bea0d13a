"""synthema."""
