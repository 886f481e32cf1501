"""``xdd labelstudio-config``: the Label Studio labelling configuration (XML) for a corpus's label scheme.

Label Studio accepts a task's results only for the controls its project's
configuration declares, so the names come from the one encoder,
:mod:`xdd.models.formats.labelstudio` (``label``, ``paragraph``, ``topics``,
the ``text`` object), never retyped here:

- entities: a ``<Labels>`` control on the text, one ``<Label>`` per entity label;
- paragraphs: a ``<Labels>`` control with the single label ``paragraph``;
- topics: ``<Choices perRegion="true" choice="multiple">``, shown only for a
  selected paragraph region (``whenTagName``/``whenLabelValue``), so topics
  land on paragraphs and nowhere else.

A scheme without topics (an NER-only corpus) gets no ``<Choices>``; one
without entity labels, no entity ``<Labels>``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from xdd.models.document.labels import LabelScheme
from xdd.models.formats.labelstudio import ENTITY, PARAGRAPH, TEXT, TOPICS

# Label colours (Label Studio's ``background``): distinct for the six party-building labels, then cycled.
COLOURS = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45", "#9a6324")
PARAGRAPH_COLOUR = "#d3d3d3"


def labelling_config(scheme: LabelScheme) -> str:
    """The ``<View>`` for ``scheme``, indented, ending in a newline (ready to paste into a project's settings)."""
    view = ET.Element("View")
    if scheme.entities:
        _labels(view, ENTITY, [(label, COLOURS[i % len(COLOURS)]) for i, label in enumerate(scheme.entities)])
    _labels(view, PARAGRAPH, [(PARAGRAPH, PARAGRAPH_COLOUR)])
    ET.SubElement(view, "Text", name=TEXT, value=f"${TEXT}")
    if scheme.topics:
        _topic_choices(view, scheme.topics)
    ET.indent(view, space="  ")
    return ET.tostring(view, encoding="unicode") + "\n"


def _labels(view: ET.Element, name: str, labels: list[tuple[str, str]]) -> None:
    control = ET.SubElement(view, "Labels", name=name, toName=TEXT)
    for value, colour in labels:
        ET.SubElement(control, "Label", value=value, background=colour)


def _topic_choices(view: ET.Element, topics: tuple[str, ...]) -> None:
    """Per-region multiple choices, visible when a paragraph region is selected."""
    ET.SubElement(view, "Header", value="Topics of the selected paragraph")
    choices = ET.SubElement(
        view, "Choices", name=TOPICS, toName=TEXT, perRegion="true", choice="multiple",
        whenTagName=PARAGRAPH, whenLabelValue=PARAGRAPH,
    )  # fmt: skip
    for topic in topics:
        ET.SubElement(choices, "Choice", value=topic)
