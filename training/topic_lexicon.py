"""The topic lexicon: weak training examples written from the annotation scheme's topic definitions.

``models/nets/lexicons/topics.txt`` (package data of ``xdd.models.nets``) holds
short Vietnamese phrases under ``[topic]`` headers, written for this project
from the scheme's description of each topic (never from an article of the
corpus).  With ``tfidf.lexicon_weight`` > 0 the TF-IDF baseline learns from
each phrase as one extra paragraph of its topic (negative for the others),
with that sample weight.  The phrases go through the same text pipeline as
gold paragraphs, so their word forms are the ones the model sees at
prediction; nothing about the lexicon is needed at inference (its words are
in the saved vocabulary).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from xdd.models.errors import ConfigError
from xdd.models.text.pipeline import TextPipeline

LEXICON = "lexicons/topics.txt"


def lexicon_path() -> Path:
    return Path(str(resources.files("xdd.models.nets").joinpath(LEXICON)))


def read_topic_lexicon(path: str | Path | None = None) -> dict[str, list[str]]:
    """Phrases by topic, in file order; ``#`` comments and blank lines skipped."""
    path = Path(path) if path is not None else lexicon_path()
    phrases: dict[str, list[str]] = {}
    topic = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            topic = line[1:-1].strip()
            phrases.setdefault(topic, [])
        elif topic is None:
            raise ConfigError(f"{path}:{number}: a phrase before any [topic] header")
        else:
            phrases[topic].append(line)
    return phrases


def lexicon_phrases(
    pipeline: TextPipeline, topics: tuple[str, ...], path: str | Path | None = None
) -> list[tuple[list[str], str]]:
    """(word forms, topic) for each phrase of a topic in ``topics``; topics the lexicon lacks get none."""
    return [
        ([w.form for w in pipeline.words(line)], topic)
        for topic, lines in read_topic_lexicon(path).items()
        if topic in topics
        for line in lines
    ]
