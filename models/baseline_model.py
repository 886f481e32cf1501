"""The fast baselines as one predictor: CRF entities and TF-IDF linear paragraph topics.

It answers ``predict_documents`` like the transformer predictor: one
:class:`~models.document.Document` per input, with scored entities on the
original text and every paragraph (``paragraph_spans``) carrying its topics
and per-topic probabilities.  Both heads read the same words: each paragraph is
segmented once by the text pipeline (settings saved with the model).

A model directory holds::

    baseline.json       format, label scheme, text settings, which heads exist, topic thresholds
    ner.crfsuite        the CRF (crfsuite's binary model file), when the scheme has entity labels
    topics.json         TF-IDF vocabulary and settings          } when the scheme has topics
    topics.safetensors  idf, coefficients and intercepts        }

No pickle anywhere; the bundle exporter wraps this directory as it is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from models.bundle import read_description
from models.crf_tagger import CRFTagger
from models.document import Document, Entity, Paragraph, paragraph_spans
from models.errors import BundleError, ConfigError
from models.labels import LabelScheme
from models.text_pipeline import TextPipeline, TextSettings, Word
from models.topic_linear import TopicLinear, paragraph_text

FORMAT = "xdd-baselines"
FORMAT_VERSION = 1
DESCRIPTION_FILE = "baseline.json"
CRF_FILE = "ner.crfsuite"
DEFAULT_THRESHOLD = 0.5


@dataclass
class BaselineModel:
    """A CRF tagger and/or a TF-IDF topic model over one label scheme; either head may be absent."""

    scheme: LabelScheme
    text: TextSettings
    tagger: CRFTagger | None
    topics: TopicLinear | None
    thresholds: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.tagger is None and self.topics is None:
            raise ValueError("a BaselineModel needs a CRF tagger, a topic model or both")
        if self.topics is not None and tuple(self.topics.topics) != self.scheme.topics:
            raise BundleError(
                f"topic model topics {self.topics.topics} differ from the scheme's {list(self.scheme.topics)}; "
                "re-export the model"
            )
        if self.tagger is not None:
            unknown = sorted(set(self.tagger.tags) - set(self.scheme.bio_tags()))
            if unknown:
                raise BundleError(f"CRF tags {unknown} are not IOB2 tags of the scheme {list(self.scheme.entities)}")
        self.pipeline = TextPipeline(self.text)

    def predict_documents(self, inputs: Sequence[str | Document]) -> list[Document]:
        """Predictions for raw texts (ids ``"0"``, ``"1"``, ...) or documents (id and meta kept, gold ignored)."""
        docs = [d if isinstance(d, Document) else Document(id=str(i), text=d) for i, d in enumerate(inputs)]
        return [self._predict(doc) for doc in docs]

    def _predict(self, doc: Document) -> Document:
        spans = paragraph_spans(doc.text)
        words = [self.pipeline.words(doc.text, start, end) for start, end in spans]
        entities = [e for paragraph_words in words for e in self._entities(doc.text, paragraph_words)]
        return Document(doc.id, doc.text, entities, self._paragraphs(spans, words), dict(doc.meta))

    def _entities(self, text: str, words: list[Word]) -> list[Entity]:
        if self.tagger is None or not words:
            return []
        tags, scores = self.tagger.tag([w.form for w in words])
        return self.pipeline.decode_entities(text, words, tags, scores)

    def _paragraphs(self, spans: list[tuple[int, int]], words: list[list[Word]]) -> list[Paragraph]:
        if self.topics is None:
            return [Paragraph(start, end) for start, end in spans]
        probs = self.topics.predict_proba([paragraph_text([w.form for w in ws]) for ws in words])
        paragraphs = []
        for (start, end), row in zip(spans, probs, strict=True):
            scores = {topic: float(p) for topic, p in zip(self.scheme.topics, row, strict=True)}
            chosen = [t for t in self.scheme.topics if scores[t] >= self.thresholds.get(t, DEFAULT_THRESHOLD)]
            paragraphs.append(Paragraph(start, end, chosen, scores))
        return paragraphs

    def save(self, directory: str | Path) -> None:
        """Write baseline.json and the heads' files into ``directory`` (created if needed)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        if self.tagger is not None:
            self.tagger.save(directory / CRF_FILE)
        if self.topics is not None:
            self.topics.save(directory)
        description = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "scheme": self.scheme.to_json(),
            "text": self.text.to_json(),
            "ner": {"model": CRF_FILE} if self.tagger is not None else None,
            "topics": {"thresholds": self.thresholds} if self.topics is not None else None,
        }
        text = json.dumps(description, ensure_ascii=False, indent=2) + "\n"
        (directory / DESCRIPTION_FILE).write_text(text, encoding="utf-8")

    @classmethod
    def load(cls, directory: str | Path) -> BaselineModel:
        """Read a directory written by :meth:`save`; a missing or foreign file is a :class:`BundleError`."""
        directory = Path(directory)
        path = directory / DESCRIPTION_FILE
        description = read_description(path, FORMAT, FORMAT_VERSION, "xdd baseline model", "re-train")
        try:
            scheme = LabelScheme.from_json(description["scheme"], source=f"{path}: scheme")
            settings = TextSettings.from_json(description["text"])
            ner, topics = description["ner"], description["topics"]
        except (KeyError, TypeError, ValueError, ConfigError) as err:
            raise BundleError(f"{path}: incomplete baseline description ({err}); re-export the model") from err
        return cls(
            scheme=scheme,
            text=settings,
            tagger=CRFTagger.load(directory / ner["model"]) if ner else None,
            topics=TopicLinear.load(directory) if topics else None,
            thresholds={k: float(v) for k, v in topics["thresholds"].items()} if topics else {},
        )
