"""reconcile: keep a Notion database true to GitHub."""

__version__ = "0.1.0"
