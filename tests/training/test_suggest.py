"""``xdd suggest``: pool cleaning, uncertainty scores, diversity, and the Label Studio tasks it writes."""

from __future__ import annotations

import json
import random
import time
import unicodedata
from pathlib import Path

import pytest
from support import REPO
from xdd.models.document import Document, Paragraph
from xdd.models.document.corpus import read_documents
from xdd.models.document.labels import PARTY_BUILDING
from xdd.models.predict.decode import ParagraphScores
from xdd.models.predict.predictor import Predictor
from xdd.models.text.align import Word
from xdd.training.cli import main
from xdd.training.convert_labelstudio import read_labelstudio
from xdd.training.corpus_add import text_key
from xdd.training.simulate_annotation import synthetic_pool
from xdd.training.suggest import (
    Uncertainty,
    Unit,
    choose_diverse,
    rank_scores,
    uncertainty,
)
from xdd.training.suggest_pool import near_duplicates, read_pool, shingles
from xdd.training.validate import check_corpus

GOLD = REPO / "data" / "annotations"


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def gold() -> list[Document]:
    return read_documents(GOLD)


@pytest.fixture(scope="module")
def pool_file(tmp_path_factory, gold) -> Path:
    """Twelve distinct articles made of gold paragraphs (none of them a gold article)."""
    folder = tmp_path_factory.mktemp("pool")
    return write_jsonl(folder / "pool.jsonl", synthetic_pool(gold, 12, seed=1, paragraphs=(3, 6)))


# --- normalised text and duplicates -----------------------------------------------


def test_text_key_ignores_case_spacing_and_unicode_composition():
    text = "Ban Thường vụ Huyện ủy\nCao Lộc"
    decomposed = unicodedata.normalize("NFD", "  BAN thường  vụ huyện ủy cao\tlộc ")
    assert text_key(text) == text_key(decomposed)
    assert text_key(text) != text_key("Ban Thường vụ Tỉnh ủy Cao Lộc")


def test_near_duplicates_agree_with_comparing_every_pair():
    rng = random.Random(3)
    base = [frozenset(rng.sample(range(10_000), rng.randint(20, 60))) for _ in range(30)]
    sets = []
    for s in base:  # each set, then copies that differ by a few elements
        sets.append(s)
        for change in (1, 3, 8):
            items = list(s)
            sets.append(frozenset(items[change:] + [10_000 + rng.randrange(10**6) for _ in range(change)]))
    found = near_duplicates(sets, 0.9)
    expected, kept = {}, []
    for i, s in enumerate(sets):
        best = max(((len(s & sets[j]) / len(s | sets[j]), -j) for j in kept), default=(0.0, 0))
        if best[0] >= 0.9:
            expected[i] = -best[1]
        else:
            kept.append(i)
    assert {i: j for i, (j, _) in found.items()} == expected
    assert expected  # the test is not vacuous


def test_read_pool_drops_corpus_articles_repeats_near_duplicates_and_unreadable_inputs(tmp_path, gold):
    article = gold[0].text
    near = article.replace("công tác", "công việc", 1)  # one word changed in a long article
    other = gold[1].text
    (tmp_path / "latin1.txt").write_bytes("Thành Hà Nam".encode("latin-1"))
    pool = write_jsonl(tmp_path / "pool.jsonl", [
        {"id": "a", "text": unicodedata.normalize("NFD", other)},
        {"id": "b", "text": article.upper()},     # the corpus's first article, shouted
        {"id": "c", "text": other + "  "},         # a repeat of a
        {"id": "a", "text": gold[2].text},         # a repeated id
        {"id": "d", "text": gold[3].text},
        {"id": "e", "text": gold[3].text.replace("Đảng", "Đảng bộ", 1)},  # near duplicate of d
    ])  # fmt: skip
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "one.jsonl").write_text(gold[0].to_jsonl_line() + "\n", encoding="utf-8")
    result = read_pool([pool, tmp_path / "latin1.txt"], corpus)
    assert [d.id for d in result.articles] == ["a", "d"]
    assert unicodedata.is_normalized("NFC", result.articles[0].text)  # the corpus wants NFC: offsets index it
    reasons = {(d.id, d.source.rsplit("/", 1)[-1]): d.reason for d in result.dropped}
    assert "000_cao-loc" in reasons[("b", "pool.jsonl:2")]
    assert "same text (normalised) as the pool's a" in reasons[("c", "pool.jsonl:3")]
    assert "repeats" in reasons[("a", "pool.jsonl:4")]
    assert reasons[("e", "pool.jsonl:6")].startswith("near duplicate of d")
    assert "not UTF-8" in reasons[(None, "latin1.txt")]
    assert [d.kind for d in result.dropped] == ["in the corpus", "duplicate", "repeated id", "unreadable",
                                               "near duplicate"]  # fmt: skip
    assert near != article and shingles(near) != shingles(article)


def test_near_duplicate_detection_keeps_a_thousand_articles_fast(gold):
    """The brief's target pool: 1,000 distinct articles are compared in seconds, none wrongly dropped."""
    texts = [a["text"] for a in synthetic_pool(gold, 1000, seed=0)]
    started = time.perf_counter()
    found = near_duplicates([shingles(t) for t in texts])
    assert time.perf_counter() - started < 20
    assert found == {}


# --- scores ---------------------------------------------------------------------------


def scores(tags: list[float] | None, topics: list[float] | None) -> ParagraphScores:
    n = len(tags) if tags else 1
    words = [Word(i, i + 1, str(i)) for i in range(n)]
    return ParagraphScores(0, n, words, ["O"] * n if tags else None, tags, topics)


def test_uncertainty_is_mnlp_and_the_smallest_margin_to_each_topics_threshold():
    paragraphs = [scores([0.9, 0.5], [0.1, 0.2, 0.9, 0.45]), scores([0.99], [0.0, 0.0, 0.0, 0.62])]
    thresholds = {"cadre_planning": 0.5, "internal_security": 0.6}
    u = uncertainty(paragraphs, PARTY_BUILDING, thresholds)
    import math

    assert u.mnlp == pytest.approx((math.log(0.9) + math.log(0.5) + math.log(0.99)) / 3)
    assert u.min_margin == pytest.approx(0.02)  # 0.62 against internal_security's 0.6 (0.45 vs 0.5 is 0.05)
    assert uncertainty([scores(None, None)], PARTY_BUILDING, {}) == Uncertainty(None, None)


def unit(name: str, mnlp: float | None, margin: float | None, text: str | None = None) -> Unit:
    doc = Document(name, text or f"văn bản {name} {random.random()}", paragraphs=[Paragraph(0, 1)])
    return Unit(doc, name, 3, Uncertainty(mnlp, margin))


def test_rank_scores_average_the_percentile_ranks_of_entity_and_topic_doubt():
    units = [unit("sure", -0.01, 0.4), unit("ner", -0.5, 0.3), unit("topics", -0.02, 0.01), unit("both", -0.6, 0.0)]
    rank_scores(units)
    assert [u.score for u in units] == pytest.approx([0.0, 0.5, 0.5, 1.0])
    rank_scores(units, topic_weight=0.0)  # entities alone
    assert [u.score for u in units] == pytest.approx([0.0, 2 / 3, 1 / 3, 1.0])
    ner_only = [unit("a", -0.1, None), unit("b", -0.3, None)]
    rank_scores(ner_only)
    assert [u.score for u in ner_only] == [0.0, 1.0]


def test_the_diversity_step_passes_over_a_near_copy_of_a_chosen_unit_and_fills_in_last():
    story = "Ban Thường vụ Huyện ủy Cao Lộc chỉ đạo công tác quy hoạch cán bộ nhiệm kỳ mới"
    units = [unit("best", -0.9, 0.0, story), unit("copy", -0.8, 0.01, story + " năm 2021"),
             unit("other", -0.1, 0.3, "Huyện mở lớp bồi dưỡng lý luận chính trị cho đảng viên mới")]  # fmt: skip
    rank_scores(units)
    assert [u.id for u in choose_diverse(units, 2)] == ["best", "other"]
    chosen = choose_diverse(units, 3)
    assert [u.id for u in chosen] == ["best", "other", "copy"]
    assert chosen[2].redundant_with == "best" and chosen[0].redundant_with is None


# --- the command -------------------------------------------------------------------------


def run_suggest(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["suggest", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("unit_kind", ["document", "paragraph"])
def test_suggest_writes_tasks_that_convert_reads_back_as_the_models_predictions(
    unit_kind, baseline_bundle_dir, pool_file, tmp_path, capsys
):
    tasks_file, report_file = tmp_path / "tasks.json", tmp_path / "report.json"
    code, out, err = run_suggest(capsys, "--model", str(baseline_bundle_dir), str(pool_file), "--k", "4",
                                 "--unit", unit_kind, "--out", str(tasks_file), "--report", str(report_file))  # fmt: skip
    assert code == 0, err
    tasks = json.loads(tasks_file.read_text(encoding="utf-8"))
    report = json.loads(report_file.read_text(encoding="utf-8"))
    assert len(tasks) == 4 and [row["rank"] for row in report["chosen"]] == [1, 2, 3, 4]
    assert [t["data"]["id"] for t in tasks] == [row["id"] for row in report["chosen"]]
    scores_ = [row["score"] for row in report["chosen"] if row["redundant_with"] is None]
    assert scores_ == sorted(scores_, reverse=True)
    assert "rank   score" in out and report["chosen"][0]["id"] in out
    assert "4 task(s) written" in err
    for task, row in zip(tasks, report["chosen"]):
        (prediction,) = task["predictions"]
        assert prediction["model_version"] == "baselines"
        assert prediction["score"] == pytest.approx(1 - row["score"])
        assert task["data"]["source"].endswith(f"pool.jsonl:{int(row['source'].rsplit(':', 1)[1])}")
    # What Label Studio would hand back unchanged is the model's prediction of the same text.
    back = read_labelstudio(tasks_file).documents
    predictor = Predictor.load(baseline_bundle_dir)
    articles = {d.id: d for d in read_pool([pool_file]).articles}
    for doc in back:
        article = articles[doc.meta.get("article_id", doc.id)]
        if unit_kind == "paragraph":
            assert article.text[doc.meta["start"] : doc.meta["end"]] == doc.text
        (predicted,) = predictor.predict([Document(doc.id, doc.text, meta=doc.meta)])
        assert [(e.start, e.end, e.label) for e in doc.entities] == [(e.start, e.end, e.label) for e in predicted.entities]
        assert [p.topics for p in doc.paragraphs] == [p.topics for p in predicted.paragraphs]
    # ... and is a valid corpus once the scores are gone.
    corpus = tmp_path / "back.jsonl"
    corpus.write_text("".join(d.to_jsonl_line() + "\n" for d in back), encoding="utf-8")
    assert [p for p in check_corpus(corpus) if not p.is_warning] == []


def test_suggest_random_is_reproducible_by_seed_and_skips_the_corpus(baseline_bundle_dir, gold, tmp_path, capsys):
    pool = write_jsonl(tmp_path / "pool.jsonl", [{"id": d.id, "text": d.text} for d in gold]
                       + synthetic_pool(gold, 6, seed=2, paragraphs=(3, 5)))  # fmt: skip
    chosen = []
    for seed, name in ((7, "a"), (7, "b"), (8, "c")):
        out = tmp_path / f"{name}.json"
        code, _, err = run_suggest(capsys, "--model", str(baseline_bundle_dir), str(pool), "--k", "3", "--strategy",
                                   "random", "--seed", str(seed), "--corpus", str(GOLD), "--out", str(out), "--quiet")  # fmt: skip
        assert code == 0, err
        chosen.append([t["data"]["id"] for t in json.loads(out.read_text(encoding="utf-8"))])
    assert chosen[0] == chosen[1] != chosen[2]
    assert all(i.startswith("synthetic-") for ids in chosen for i in ids)  # the gold articles are in the corpus
    assert "dropped: 5 in the corpus" in err


def test_suggest_with_an_onnx_transformer_bundle(tiny_bundle_dir, pool_file, tmp_path, capsys):
    out = tmp_path / "tasks.json"
    code, _, err = run_suggest(capsys, "--model", str(tiny_bundle_dir), "--backend", "onnx", str(pool_file),
                               "--k", "3", "--unit", "paragraph", "--out", str(out), "--quiet")  # fmt: skip
    assert code == 0, err
    assert len(read_labelstudio(out).documents) == 3


def test_suggest_refuses_to_write_its_tasks_over_an_input(baseline_bundle_dir, pool_file, capsys):
    before = pool_file.read_bytes()
    code, _, err = run_suggest(capsys, "--model", str(baseline_bundle_dir), str(pool_file), "--k", "2",
                               "--out", str(pool_file))  # fmt: skip
    assert code == 2 and "--out" in err and "input" in err
    assert pool_file.read_bytes() == before


def test_two_worker_processes_write_the_same_tasks_as_one(baseline_bundle_dir, pool_file, tmp_path, capsys):
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"tasks-{workers}.json"
        code, _, err = run_suggest(capsys, "--model", str(baseline_bundle_dir), str(pool_file), "--k", "5",
                                   "--workers", workers, "--out", str(out), "--quiet")  # fmt: skip
        assert code == 0, err
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
