"""gradient-explorer: make derivatives and gradients visible."""

__version__ = "0.1.0"
