"""``xdd labelstudio-config``: the XML declares every control, object and label the Label Studio encoder emits."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from support import FIXTURES_DIR, REPO
from xdd.models.document import Document, Entity, Paragraph
from xdd.models.document.corpus import read_documents
from xdd.models.document.labels import PARTY_BUILDING, LabelScheme, scheme_for
from xdd.models.formats.labelstudio import document_results, prediction_task
from xdd.training.cli import main
from xdd.training.labelstudio_config import labelling_config

GOLD = REPO / "data" / "annotations"
NER_ONLY = FIXTURES_DIR / "baselines" / "ner_only"


def declared(config: str) -> dict[str, dict]:
    """Control name → {"tag", "to", "values"} of a parsed config, and object names under "objects"."""
    root = ET.fromstring(config)
    assert root.tag == "View"
    controls = {}
    for element in root:
        if element.tag in ("Labels", "Choices"):
            values = {child.get("value") for child in element}
            controls[element.get("name")] = {"tag": element.tag, "to": element.get("toName"), "values": values,
                                             "attrib": dict(element.attrib)}  # fmt: skip
    controls["objects"] = {e.get("name"): e.get("value") for e in root if e.tag == "Text"}
    return controls


def assert_declares(config: str, results: list[dict]) -> None:
    controls = declared(config)
    for result in results:
        control = controls[result["from_name"]]  # KeyError: the encoder uses an undeclared control
        assert result["to_name"] in controls["objects"] and control["to"] == result["to_name"]
        kind, value = result["type"], result["value"]
        assert control["tag"] == {"labels": "Labels", "choices": "Choices"}[kind]
        assert set(value[kind]) <= control["values"], (result, control["values"])


def test_the_config_declares_everything_the_encoder_emits_for_the_gold_corpus():
    config = labelling_config(scheme_for(GOLD))
    docs = read_documents(GOLD)
    results = [r for doc in docs for r in document_results(doc)]
    assert {r["from_name"] for r in results} == {"label", "paragraph", "topics"}
    assert_declares(config, results)
    controls = declared(config)
    assert controls["label"]["values"] == set(PARTY_BUILDING.entities)
    assert controls["topics"]["values"] == set(PARTY_BUILDING.topics)
    topics = controls["topics"]["attrib"]
    assert topics["perRegion"] == "true" and topics["choice"] == "multiple"
    assert (topics["whenTagName"], topics["whenLabelValue"]) == ("paragraph", "paragraph")  # topics on paragraphs only
    task = prediction_task(docs[0], model_version="m")
    assert controls["objects"]["text"] == "$text" and "text" in task["data"]  # the Text object reads data.text


def test_every_label_and_topic_of_a_scheme_has_its_entry_even_unusual_names():
    scheme = LabelScheme(("A&B", 'Q"UOTE', "<TAG>"), ("có dấu", "x y"))
    doc = Document("d", "một hai ba\nbốn", [Entity(0, 3, "A&B", "một"), Entity(4, 7, 'Q"UOTE', "hai"),
                   Entity(8, 10, "<TAG>", "ba")], [Paragraph(0, 10, ["có dấu", "x y"]), Paragraph(11, 14, [])])  # fmt: skip
    assert_declares(labelling_config(scheme), document_results(doc))


def test_a_corpus_without_topics_gets_no_topic_choices():
    controls = declared(labelling_config(scheme_for(NER_ONLY)))
    assert "topics" not in controls
    assert controls["label"]["values"] == set(scheme_for(NER_ONLY).entities)
    assert controls["paragraph"]["values"] == {"paragraph"}


def test_the_command_prints_the_config_of_the_corpus(capsys):
    assert main(["labelstudio-config", "--corpus", str(NER_ONLY)]) == 0
    assert capsys.readouterr().out == labelling_config(scheme_for(NER_ONLY))
    assert main(["labelstudio-config"]) == 0
    assert capsys.readouterr().out == labelling_config(PARTY_BUILDING)


@pytest.mark.parametrize("missing", ["no-such-corpus"])
def test_the_command_names_a_missing_corpus(missing, tmp_path, capsys):
    assert main(["labelstudio-config", "--corpus", str(tmp_path / missing)]) == 2
    assert missing in capsys.readouterr().err
