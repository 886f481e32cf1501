"""Choices made out of fold on a tiny corpus (``data.oof_below``): nothing held out ever leaks into them."""

from __future__ import annotations

import json

import pytest
from support import FIXTURES_DIR, REPO
from xdd.models.document import Document, Paragraph
from xdd.models.document.corpus import read_documents
from xdd.models.document.labels import scheme_for
from xdd.models.errors import ConfigError
from xdd.training import baselines, oof
from xdd.training.baselines import baseline_train_fn, train_baselines
from xdd.training.config import load_config
from xdd.training.cv import run_cv
from xdd.training.oof import (
    choose_epoch,
    oof_pool,
    out_of_fold_predictions,
    out_of_fold_predictions_by_epoch,
    record_choices,
    uses_out_of_fold,
)

ROOT = REPO
JOINT = FIXTURES_DIR / "baselines" / "joint"
CONFIG = ROOT / "training" / "configs" / "baselines.yaml"


def config_for(*overrides: str):
    return load_config(CONFIG, [f"data.train={JOINT}", "task=topics", *overrides])


def doc(i: int) -> Document:
    return Document(f"d{i}", f"text {i}", paragraphs=[Paragraph(0, len(f"text {i}"), ["t"])])


class Echo:
    """A model that scores every paragraph 0.7 for topic "t" and remembers nothing else."""

    def predict_documents(self, docs):
        return [Document(d.id, d.text, paragraphs=[Paragraph(p.start, p.end, [], {"t": 0.7}) for p in d.paragraphs])
                for d in docs]  # fmt: skip


# --- the out-of-fold loop ----------------------------------------------------------------------


def test_out_of_fold_predictions_never_fit_on_the_document_they_predict():
    docs = [doc(i) for i in range(4)]
    seen: list[set[str]] = []

    def spy_fit(train):
        seen.append({d.id for d in train})
        return Echo()

    predictions = out_of_fold_predictions(docs, spy_fit)
    assert [p.id for p in predictions] == ["d0", "d1", "d2", "d3"]
    assert seen == [{"d1", "d2", "d3"}, {"d0", "d2", "d3"}, {"d0", "d1", "d3"}, {"d0", "d1", "d2"}]


def test_out_of_fold_needs_two_documents():
    with pytest.raises(ValueError, match="at least 2 documents"):
        out_of_fold_predictions([doc(0)], lambda train: Echo())


# --- when it applies and on what ---------------------------------------------------------------


def test_below_oof_below_the_pool_is_train_and_dev_once_each():
    config = config_for("data.oof_below=10")
    train, dev = [doc(0), doc(1), doc(2)], [doc(3)]
    assert [d.id for d in oof_pool(train, dev, config)] == ["d0", "d1", "d2", "d3"]
    # One document: dev is the training document itself; nothing to leave out.
    assert oof_pool([doc(0)], [doc(0)], config) is None
    assert [d.id for d in oof_pool([doc(0), doc(1)], [doc(1)], config)] == ["d0", "d1"]


def test_at_or_above_oof_below_the_dev_split_decides():
    train, dev = [doc(0), doc(1), doc(2)], [doc(3)]
    assert oof_pool(train, dev, config_for("data.oof_below=4")) is None
    assert oof_pool(train, dev, config_for("data.oof_below=0")) is None
    four = config_for("data.oof_below=4")
    assert uses_out_of_fold(3, four) and not uses_out_of_fold(4, four)


def test_an_explicit_dev_corpus_stays_out_of_the_pool():
    config = config_for("data.oof_below=10", f"data.dev={JOINT}")
    assert [d.id for d in oof_pool([doc(0), doc(1)], [doc(3)], config)] == ["d0", "d1"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.oof_below=-1", "'data.oof_below' must be >= 0, got -1"),
        ("data.oof_below=2.5", "'data.oof_below' must be an integer, got 2.5"),
        ("data.oof_below=many", "'data.oof_below' must be an integer"),
        ("data.oof_bellow=3", "did you mean 'data.oof_below'"),
        ("tfidf.class_weight=auto", "'tfidf.class_weight' must be one of 'balanced'"),
        ("tfidf.lexicon_weight=-1", "'tfidf.lexicon_weight' must be >= 0"),
        ("tfidf.context_weight=-0.5", "'tfidf.context_weight' must be >= 0"),
    ],
)
def test_the_new_config_keys_are_validated(override, message):
    with pytest.raises(ConfigError) as err:
        load_config(CONFIG, [override])
    assert message in str(err.value) and f"--set {override.split('=')[0]}" in str(err.value)


def test_the_new_config_keys_have_documented_defaults():
    config = load_config(None)
    assert config.data.oof_below == 10
    tfidf = config.tfidf
    assert (tfidf.class_weight, tfidf.lexicon_weight, tfidf.context_weight) == ("balanced", 1.0, 0.0)
    assert load_config(None, ["tfidf.class_weight=null"]).tfidf.class_weight is None


# --- the baselines: nested inside each CV fold, nothing held out leaks -------------------------


class Spies:
    """Records which documents the baselines learn from, fit inner models on, and tune thresholds on."""

    def __init__(self, monkeypatch):
        self.learned: list[str] = []
        self.inner_fits: list[set[str]] = []
        self.tuned_on: list[set[str]] = []
        self.dev_tuned_on: list[set[str]] = []
        real_examples, real_choose = baselines.paragraph_examples, baselines.choose_thresholds_out_of_fold
        real_tune_oof, real_tune_dev = oof.tune_thresholds, baselines.tune_thresholds

        def examples(pipeline, document, scheme):
            self.learned.append(document.id)
            return real_examples(pipeline, document, scheme)

        def choose(docs, fit, topics, settings=None):
            def spy_fit(train):
                self.inner_fits.append({d.id for d in train})
                return fit(train)

            return real_choose(docs, spy_fit, topics, settings)

        def tune_oof(gold, pred, topics, *args):
            self.tuned_on.append({d.id for d in gold} | {d.id for d in pred})
            return real_tune_oof(gold, pred, topics, *args)

        def tune_dev(gold, pred, topics, *args):
            self.dev_tuned_on.append({d.id for d in gold} | {d.id for d in pred})
            return real_tune_dev(gold, pred, topics, *args)

        monkeypatch.setattr(baselines, "paragraph_examples", examples)
        monkeypatch.setattr(baselines, "choose_thresholds_out_of_fold", choose)
        monkeypatch.setattr(oof, "tune_thresholds", tune_oof)
        monkeypatch.setattr(baselines, "tune_thresholds", tune_dev)

    def everything(self) -> set[str]:
        return set(self.learned).union(*self.inner_fits, *self.tuned_on, *self.dev_tuned_on)

    def reset(self) -> None:
        """Clear the records (the patches stay)."""
        self.learned, self.inner_fits, self.tuned_on, self.dev_tuned_on = [], [], [], []


def test_cv_folds_choose_thresholds_out_of_fold_without_ever_seeing_their_test_document(tmp_path, monkeypatch):
    spies = Spies(monkeypatch)
    per_fold: list[tuple[set[str], tuple[list, list, list]]] = []
    all_ids = {d.id for d in read_documents(JOINT)}

    def train_fn(train, dev, config, scheme, fold_dir):
        spies.reset()
        model = baseline_train_fn(train, dev, config, scheme, fold_dir)
        offered = {d.id for d in train} | {d.id for d in dev}
        per_fold.append((offered, (list(spies.learned), list(spies.inner_fits), list(spies.tuned_on))))
        return model

    run_cv(config_for("data.oof_below=10"), "loo", tmp_path, train_fn)
    assert len(per_fold) == 4
    for (offered, (learned, inner_fits, tuned_on)), held_out in zip(per_fold, sorted(all_ids)):
        assert offered == all_ids - {held_out}
        # The shipped model of the fold learns from every training document of the fold, dev included.
        assert set(learned) == offered
        # One inner fit per training document, each without it; none sees the fold's test document.
        assert sorted(map(sorted, inner_fits)) == sorted(sorted(offered - {d}) for d in offered)
        assert tuned_on == [offered]
        assert all(held_out not in fit for fit in inner_fits)
    assert not spies.dev_tuned_on


def test_above_oof_below_thresholds_are_tuned_on_the_dev_documents_only(monkeypatch):
    spies = Spies(monkeypatch)
    docs = read_documents(JOINT)
    train_baselines(docs[:3], docs[3:], config_for("data.oof_below=2"), scheme_for(JOINT))
    assert set(spies.learned) == {d.id for d in docs[:3]}
    assert spies.dev_tuned_on == [{docs[3].id}] and not spies.inner_fits and not spies.tuned_on


def test_out_of_fold_thresholds_keep_every_topic_with_positives_predictable():
    docs = read_documents(JOINT)
    model = train_baselines(docs[:3], docs[3:], config_for("data.oof_below=10"), scheme_for(JOINT))
    predictions = model.predict_documents(docs)
    for topic in model.scheme.topics:
        assert 0 < model.thresholds[topic] < 1
    assert any(topic in p.topics for d in predictions for p in d.paragraphs for topic in ["internal_security"])


# --- epochs (the transformer's hook) -----------------------------------------------------------


def test_choose_epoch_takes_the_best_pooled_figure_and_the_earliest_on_ties():
    gold = [doc(0)]
    by_epoch = {1: ["a"], 2: ["b"], 3: ["c"], 4: ["b"]}
    figure = {"a": 0.2, "b": 0.9, "c": 0.5}
    chosen, figures = choose_epoch(gold, by_epoch, lambda g, p: figure[p[0]])
    assert chosen == 2 and figures == {1: 0.2, 2: 0.9, 3: 0.5, 4: 0.9}
    with pytest.raises(ValueError, match="no epochs"):
        choose_epoch(gold, {}, lambda g, p: 0.0)


def test_predictions_by_epoch_are_pooled_per_epoch_end_and_never_fitted_on_the_document_they_predict():
    docs = [doc(i) for i in range(3)]
    seen: list[tuple[set[str], str]] = []

    def fit(train, held_out):
        seen.append(({d.id for d in train}, held_out.id))
        # A fit on fewer windows reaches more epoch ends under training.max_steps; d0's fit stops at 1.5.
        ends = [1.0, 1.5] if held_out.id == "d0" else [1.0, 2.0, 2.25]
        return [(epochs, Document(held_out.id, f"{held_out.id}@{epochs}")) for epochs in ends]

    found = out_of_fold_predictions_by_epoch(docs, fit)
    assert seen == [({"d1", "d2"}, "d0"), ({"d0", "d2"}, "d1"), ({"d0", "d1"}, "d2")]
    assert sorted(found.predictions) == [1, 2], "only the epoch ends every fit reached"
    assert [p.text for p in found.predictions[2]] == ["d0@1.5", "d1@2.0", "d2@2.0"]
    assert found.epochs == {1: 1.0, 2: pytest.approx(5.5 / 3, abs=1e-4)}


def test_predictions_by_epoch_need_an_epoch_end_from_every_fit():
    docs = [doc(0), doc(1)]
    with pytest.raises(ValueError, match="ended before its first epoch end"):
        out_of_fold_predictions_by_epoch(docs, lambda train, held_out: [])
    with pytest.raises(ValueError, match="at least 2 documents"):
        out_of_fold_predictions_by_epoch([doc(0)], lambda train, held_out: [(1.0, held_out)])


def test_the_choices_are_written_as_json_beside_the_model(tmp_path):
    path = record_choices(tmp_path / "run", {"chosen_on": "out_of_fold", "epoch": 2})
    assert path == tmp_path / "run" / "choices.json"
    assert json.loads(path.read_text(encoding="utf-8")) == {"chosen_on": "out_of_fold", "epoch": 2}


@pytest.mark.parametrize(("oof_below", "chosen_on"), [(10, "out_of_fold"), (2, "dev")])
def test_the_baselines_record_how_their_thresholds_were_chosen(tmp_path, oof_below, chosen_on):
    docs = read_documents(JOINT)
    config = config_for(f"data.oof_below={oof_below}")
    model = baseline_train_fn(docs[:3], docs[3:], config, scheme_for(JOINT), tmp_path)
    choices = json.loads((tmp_path / "choices.json").read_text(encoding="utf-8"))
    expected = docs if chosen_on == "out_of_fold" else docs[3:]
    assert choices["chosen_on"] == chosen_on and choices["documents"] == [d.id for d in expected]
    assert choices["paragraphs"] == sum(len(d.paragraphs) for d in expected)
    assert choices["thresholds"] == model.thresholds
