"""Reports: files written by write_report, Markdown and HTML content, and rendering in headless Chromium."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import pytest
import support
from matplotlib.image import imread
from support import chromium, run_chromium
from xdd.eval import report_md
from xdd.eval.aggregate import aggregate_folds
from xdd.eval.corpus_io import load_gold
from xdd.eval.evaluate import evaluate, pair_documents
from xdd.eval.report import write_report
from xdd.eval.report_content import build_content, context_window
from xdd.models.document import Document, Entity, Paragraph
from xdd.models.document.corpus import read_documents
from xdd.models.document.labels import PARTY_BUILDING

FIXTURES = Path("tests/fixtures/eval")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def fixture_pair():
    gold, scheme = load_gold(FIXTURES / "gold.jsonl")
    return gold, read_documents(FIXTURES / "predictions.jsonl"), scheme


@pytest.fixture(scope="module")
def run_report(fixture_pair, tmp_path_factory):
    """The report of the hand-crafted pair (stands in for a tiny-model run until one exists)."""
    gold, pred, scheme = fixture_pair
    out = tmp_path_factory.mktemp("run")
    metrics = evaluate(gold, pred, scheme=scheme, n_boot=200)
    write_report(out, metrics, gold, pred, title="Tiny run", gold_path=FIXTURES / "gold.jsonl")
    return out, metrics


@pytest.fixture(scope="module")
def cv_report(fixture_pair, tmp_path_factory):
    """A two-fold CV report (stands in for the baselines' CV report until one exists)."""
    gold, pred, scheme = fixture_pair
    folds = [([g], [p]) for g, p in zip(gold, pred)]
    out = tmp_path_factory.mktemp("cv")
    metrics = aggregate_folds(folds, scheme=scheme, n_boot=200)
    write_report(out, metrics, gold, pred, title="Baselines, 2-fold CV")
    return out, metrics


def test_write_report_writes_metrics_predictions_record_reports_and_plots(run_report):
    out, metrics = run_report
    assert json.loads((out / "metrics.json").read_text(encoding="utf-8")) == metrics
    assert [d.id for d in read_documents(out / "predictions.jsonl")] == ["a_cao-loc", "b_lang-son"]
    record = json.loads((out / "evaluation.json").read_text(encoding="utf-8"))
    assert record["gold"] == str((FIXTURES / "gold.jsonl").resolve())
    for name in ("ner_per_label_f1.png", "topics_per_label_f1.png", "topics_pr_curves.png"):
        assert (out / name).read_bytes().startswith(PNG_SIGNATURE), name


def test_markdown_report_has_the_tables_the_plots_and_the_errors_in_context(run_report):
    text = (run_report[0] / "report.md").read_text(encoding="utf-8")
    assert "| NER micro F1 | 0.364 | \\[0.333, 0.400\\] |" in text
    assert "| Label | P | R | F1 | F1 95% CI | Support | Predicted | Exact | Wrong type |" in text
    assert "![Topic precision-recall curves (paragraph level)](topics_pr_curves.png)" in text
    assert "**Năm 2020**, huyện mở lớp bồi dưỡng cán bộ." in text  # missed DATE, highlighted
    assert "  - predicted: Đồng chí Nguyễn Văn An làm việc tại Ban **Tổ chức Huyện ủy**." in text
    assert "gold **training**, predicted **cadre\\_planning, training**" in text


def test_html_report_is_self_contained_with_the_plots_embedded_as_the_files_beside_it(run_report):
    out, _ = run_report
    html = (out / "report.html").read_text(encoding="utf-8")
    assert not re.search(r'(src|href)="(https?:)?//', html) and "<link" not in html and "<script" not in html
    embedded = dict(re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="[^"]*" data-file="([^"]+)"', html))
    embedded = {name: base64.b64decode(data) for data, name in embedded.items()}
    assert set(embedded) == {"ner_per_label_f1.png", "topics_per_label_f1.png", "topics_pr_curves.png"}
    assert all(png == (out / name).read_bytes() for name, png in embedded.items())


def test_html_report_highlights_every_kind_of_error_and_lists_misclassified_paragraphs(run_report):
    html = (run_report[0] / "report.html").read_text(encoding="utf-8")
    assert '<mark class="missed">Năm 2020</mark>' in html
    assert '<mark class="spurious">Đồng chí</mark>' in html
    assert '<mark class="wrong-type">Trần Bình</mark>' in html
    assert '<mark class="wrong-boundary">Ban Tổ chức Huyện ủy</mark>' in html
    assert '<span class="topic missing">training</span>' in html
    assert '<span class="topic extra">internal_security</span>' in html


def test_cv_report_shows_the_fold_table_with_mean_and_spread(cv_report):
    out, metrics = cv_report
    html = (out / "report.html").read_text(encoding="utf-8")
    assert '<table class="metrics" id="cross-validation-folds">' in html
    assert "<td>NER micro F1</td><td class=\"num\">0.367 ± 0.047</td>" in html  # mean 11/30, std (1/15)/sqrt 2
    assert "| Fold 0 (n=1) | Fold 1 (n=1) |" in (out / "report.md").read_text(encoding="utf-8")


def test_report_without_topic_scores_has_no_precision_recall_plot_and_says_why(tmp_path):
    gold = [Document("d", "Lớp bồi dưỡng", [], [Paragraph(0, 13, ["training"])])]
    metrics = evaluate(gold, gold, scheme=PARTY_BUILDING, n_boot=20)
    write_report(tmp_path, metrics, gold, gold)
    assert not (tmp_path / "topics_pr_curves.png").exists()
    assert "Predictions carry no topic scores" in (tmp_path / "report.md").read_text(encoding="utf-8")


def test_html_report_escapes_text_from_the_documents(tmp_path):
    text = "<script>alert(1)</script> Trần Bình"
    gold = [Document("d", text, [Entity(27, 36, "PER")], [Paragraph(0, len(text), [])])]
    pred = [Document("d", text, [], [Paragraph(0, len(text), [])])]
    write_report(tmp_path, evaluate(gold, pred, scheme=PARTY_BUILDING, n_boot=20), gold, pred)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_markdown_error_lists_are_cut_with_a_note_saying_how_many_are_left_out(fixture_pair, monkeypatch):
    gold, pred, scheme = fixture_pair
    metrics = evaluate(gold, pred, scheme=scheme, n_boot=20)
    content = build_content(metrics, pair_documents(gold, pred, scheme), "t", [])
    monkeypatch.setattr(report_md, "MAX_ERRORS", 1)
    text = report_md.render_markdown(content)
    assert "### Missed entities (in gold, not predicted) (2)" in text
    assert "**ngày 5/3/2021**" not in text  # the second missed entity is cut
    assert "_1 more not shown here; report.html lists them._" in text


def test_context_window_is_the_sentence_of_the_paragraph_that_holds_the_span():
    text = "Tiêu đề\nCâu một có Cao Lộc. Câu hai có Lạng Sơn! Câu ba.\nDòng khác"
    start = text.index("Lạng Sơn")
    left, right = context_window(text, start, start + 8)
    assert text[left:right].strip() == "Câu hai có Lạng Sơn!"


def test_context_window_cuts_a_very_long_sentence_around_the_span():
    text = "x " * 400 + "Cao Lộc" + " y" * 400
    start = text.index("Cao Lộc")
    left, right = context_window(text, start, start + 7)
    assert left <= start and right >= start + 7 and right - left <= 330


# --- rendering in a real headless browser -----------------------------------------------

MISSED_BACKGROUND = (0xFF, 0xD6, 0xD6)  # mark.missed in eval/report_html.py


@pytest.mark.browser
@pytest.mark.parametrize("which", ["run_report", "cv_report"])
def test_reports_render_in_headless_chromium_with_tables_images_and_highlighted_errors(which, request, tmp_path):
    binary = chromium()
    out, metrics = request.getfixturevalue(which)
    url = (out / "report.html").resolve().as_uri()
    dom = run_chromium(binary, tmp_path / "profile", "--dump-dom", url).stdout
    assert '<table class="metrics" id="ner-per-label">' in dom
    assert all(f"<td>{label}</td>" in dom for label in metrics["ner"]["labels"])
    assert '<mark class="missed">Năm 2020</mark>' in dom
    assert len(re.findall(r'<img src="data:image/png;base64,', dom)) == 3
    if which == "cv_report":
        assert 'id="cross-validation-folds"' in dom

    shot = tmp_path / "screenshot.png"
    run_chromium(binary, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1300,5000", url)
    assert shot.stat().st_size > 10_000
    pixels = (imread(shot)[..., :3] * 255).round().astype(int)
    assert (pixels != 255).any(axis=-1).mean() > 0.02  # not a blank page
    assert (pixels == MISSED_BACKGROUND).all(axis=-1).sum() > 50  # the missed-entity highlight is painted


@pytest.mark.parametrize(("required", "outcome"), [("1", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_missing_chromium_fails_when_the_browser_is_required_and_skips_otherwise(monkeypatch, tmp_path, required, outcome):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(support, "CHROMIUM_PATH", tmp_path / "no-chromium")
    monkeypatch.setenv("XDD_REQUIRE_BROWSER", required)
    with pytest.raises(outcome, match="apt-get install -y chromium"):
        chromium()
