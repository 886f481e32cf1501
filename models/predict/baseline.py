"""The fast baselines as one predictor: CRF entities and TF-IDF linear paragraph topics.

It answers ``predict_documents`` like the transformer predictor: one
:class:`~xdd.models.document.Document` per input, with scored entities on the
original text and every paragraph (``paragraph_spans``) carrying its topics
and per-topic probabilities.  Both heads read the same words: each paragraph is
segmented once by the text pipeline (settings saved with the model).

A model directory holds::

    baseline.json       format, label scheme, text settings, which heads exist, the CRF's feature
                        groups, whether the boundary conventions apply, topic thresholds
    ner.crfsuite        the CRF (crfsuite's binary model file), when the scheme has entity labels
    topics.json         TF-IDF vocabulary and settings          } when the scheme has topics
    topics.safetensors  idf, coefficients and intercepts        }

``baseline.json``'s ``ner`` block lists the CRF's feature groups
(``"features"``, :mod:`xdd.models.nets.crf`) and the lexicon digest and
gazetteer version they were computed with (``"resources"``), so inference
computes exactly the training features; a file without them (written before
they existed) loads as the original features (``["base"]``).  ``"conventions"``
says whether :func:`xdd.models.predict.conventions.apply_conventions` runs
after decoding (absent: false, as before).

No pickle anywhere; the bundle exporter wraps this directory as it is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from xdd.models.document.bundle import read_description
from xdd.models.nets.crf import ORIGINAL_GROUPS, CRFTagger
from xdd.models.document import Document, paragraph_spans
from xdd.models.errors import BundleError, ConfigError
from xdd.models.document.labels import LabelScheme
from xdd.models.predict.decode import ParagraphScores, ScoredDocument, assemble_document
from xdd.models.text.pipeline import TextPipeline, TextSettings
from xdd.models.nets.topic_linear import TopicLinear, paragraph_text

FORMAT = "xdd-baselines"
FORMAT_VERSION = 1
DESCRIPTION_FILE = "baseline.json"
CRF_FILE = "ner.crfsuite"


@dataclass
class BaselineModel:
    """A CRF tagger and/or a TF-IDF topic model over one label scheme; either head may be absent.

    ``conventions``: apply the scheme's boundary conventions to the predicted
    entities (:mod:`xdd.models.predict.conventions`).
    """

    scheme: LabelScheme
    text: TextSettings
    tagger: CRFTagger | None
    topics: TopicLinear | None
    thresholds: dict[str, float] = field(default_factory=dict)
    conventions: bool = False

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
        """Predictions for raw texts (ids ``"0"``, ``"1"``, ...) or documents (id, meta and paragraphs kept, gold ignored)."""
        return [scored.document for scored in self.score_documents(inputs)]

    def score_documents(self, inputs: Sequence[str | Document]) -> list[ScoredDocument]:
        """:meth:`predict_documents` with each word's tag marginal and each paragraph's topic probabilities."""
        docs = [d if isinstance(d, Document) else Document(id=str(i), text=d) for i, d in enumerate(inputs)]
        return [self._score(doc) for doc in docs]

    def _score(self, doc: Document) -> ScoredDocument:
        spans = [(p.start, p.end) for p in doc.paragraphs] or paragraph_spans(doc.text)
        scored = [ParagraphScores(start, end, self.pipeline.words(doc.text, start, end)) for start, end in spans]
        if self.tagger is not None:
            for paragraph in scored:
                paragraph.tags, paragraph.tag_scores = self.tagger.tag([w.form for w in paragraph.words])
        if self.topics is not None:
            texts = [paragraph_text([w.form for w in paragraph.words]) for paragraph in scored]
            for paragraph, probs in zip(scored, self.topics.predict_proba(texts), strict=True):
                paragraph.topic_probs = probs
        predicted = assemble_document(
            doc.id, doc.text, scored, scheme=self.scheme, thresholds=self.thresholds, meta=doc.meta,
            conventions=self.conventions,
        )
        return ScoredDocument(predicted, scored)

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
            "ner": {"model": CRF_FILE, **self.tagger.description()} if self.tagger is not None else None,
            "conventions": self.conventions,
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
            conventions = description.get("conventions", False)
            if not isinstance(conventions, bool):
                raise TypeError(f"'conventions' is {conventions!r}; expected true or false")
            features = ner.get("features", list(ORIGINAL_GROUPS)) if ner else None
            resources = ner.get("resources") if ner else None
        except (KeyError, TypeError, ValueError, ConfigError) as err:
            raise BundleError(f"{path}: incomplete baseline description ({err}); re-export the model") from err
        return cls(
            scheme=scheme,
            text=settings,
            tagger=CRFTagger.load(directory / ner["model"], features, resources) if ner else None,
            topics=TopicLinear.load(directory) if topics else None,
            thresholds={k: float(v) for k, v in topics["thresholds"].items()} if topics else {},
            conventions=conventions,
        )
