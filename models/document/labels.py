"""Label sets, declared in one place.

The party-building scheme (``../shared/annotation-scheme.md``) is the default.
A corpus may declare its own labels in a ``labels.json`` file beside its JSONL
files::

    {"entities": ["PER", "ORG", "LOC", "MISC"], "topics": []}

so that corpora imported from elsewhere (VLSP 2016, PhoNER_COVID19, ...) keep
their own label sets.  Trained models save the scheme they were trained with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from xdd.models.errors import CorpusError

LABELS_FILE = "labels.json"


@dataclass(frozen=True)
class LabelScheme:
    """Entity labels and paragraph topics of one corpus or model."""

    entities: tuple[str, ...]
    topics: tuple[str, ...]

    def bio_tags(self) -> list[str]:
        """IOB2 tags in a fixed order: ``O``, then ``B-X``, ``I-X`` for each label."""
        tags = ["O"]
        for label in self.entities:
            tags += [f"B-{label}", f"I-{label}"]
        return tags

    def to_json(self) -> dict[str, list[str]]:
        return {"entities": list(self.entities), "topics": list(self.topics)}

    @classmethod
    def from_json(cls, data: object, source: str = "labels") -> LabelScheme:
        """Parse ``{"entities": [...], "topics": [...]}``; errors name the source and key."""
        if not isinstance(data, dict):
            raise ValueError(f"{source}: expected a JSON object with 'entities' and 'topics'")
        unknown = set(data) - {"entities", "topics"}
        if unknown:
            raise ValueError(f"{source}: unknown key(s) {sorted(unknown)}; allowed: 'entities', 'topics'")
        values: dict[str, tuple[str, ...]] = {}
        for key in ("entities", "topics"):
            items = data.get(key, [])
            if not isinstance(items, list) or not all(isinstance(x, str) and x for x in items):
                raise ValueError(f"{source}: '{key}' must be a list of non-empty strings")
            if len(set(items)) != len(items):
                raise ValueError(f"{source}: '{key}' lists a label twice")
            bad = [x for x in items if key == "entities" and (x == "O" or x[:2] in ("B-", "I-"))]
            if bad:
                raise ValueError(f"{source}: entity label(s) {bad} clash with IOB2 tag names")
            values[key] = tuple(items)
        return cls(values["entities"], values["topics"])


PARTY_BUILDING = LabelScheme(
    entities=("PER", "ORG", "LOC", "POSITION", "DOCUMENT", "DATE"),
    topics=("cadre_planning", "member_development", "training", "internal_security"),
)


def scheme_for(path: str | Path) -> LabelScheme:
    """The label scheme of a corpus file or directory.

    Looks for ``labels.json`` in the directory itself (or beside the file);
    without one, the corpus uses the party-building scheme.  A bad
    ``labels.json`` is a :class:`CorpusError` naming the file.
    """
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    declared = folder / LABELS_FILE
    if not declared.is_file():
        return PARTY_BUILDING
    remedy = "fix it, or remove it to use the party-building labels"
    try:
        return LabelScheme.from_json(json.loads(declared.read_text(encoding="utf-8")), source=str(declared))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorpusError(f"{declared}: cannot read label declaration: {err}; {remedy}") from err
    except ValueError as err:
        raise CorpusError(f"{err}; {remedy}") from err
