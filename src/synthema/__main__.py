"""``python -m synthema`` runs the CLI."""

from synthema.cli import app

app()
