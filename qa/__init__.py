"""qa: question answering with cited passages over a news archive."""

__version__ = "0.1.0"
