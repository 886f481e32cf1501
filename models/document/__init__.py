"""Documents and what describes them: the document type, label schemes, corpora, bundle reading.

``from xdd.models.document import Document, Entity, Paragraph`` is the one
document type every layer uses (see :mod:`xdd.models.document.types`).
"""

from xdd.models.document.types import Document, Entity, Paragraph, paragraph_spans

__all__ = ["Document", "Entity", "Paragraph", "paragraph_spans"]
