"""genoflow: biological sequences to trained, evaluated and compared sequence models."""

__version__ = "0.1.0"
