"""Errors users can act on.

Every error that reaches the command line derives from :class:`XddError`; its
message says what is wrong, where (file, line, record, config key) and, where
there is one, how to fix it.  The CLI prints it without a traceback.
"""

from __future__ import annotations


class XddError(Exception):
    """An error caused by input, configuration or environment, not by a bug."""


class CorpusError(XddError):
    """A corpus file cannot be read; the message reads ``PATH:LINE: id=ID: problem``."""


class ConfigError(XddError):
    """A config is invalid; the message names the key."""


class BackboneUnavailable(XddError):
    """A pre-trained encoder cannot be loaded (offline, not cached, bad path)."""


class BundleError(XddError):
    """A model bundle is incomplete, corrupted or of an unknown format."""


class EvaluationError(XddError):
    """Predictions cannot be scored against the gold (ids, texts, paragraphs or labels disagree)."""
