"""Attune training: turn interaction data into Attune bundles (see docs/bundle.md)."""

__version__ = "0.1.0"
