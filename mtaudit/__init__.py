"""mtaudit — a machine-translation quality auditor for news text."""

__version__ = "0.1.0"
