"""TF-IDF + per-topic logistic regression from plain arrays (inference side of the topic baseline)."""

from __future__ import annotations

import json
import re
import unicodedata

import numpy as np
import pytest
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from support import REPO
from xdd.models.document.corpus import read_documents
from xdd.models.errors import BundleError, ConfigError
from xdd.models.nets.topic_linear import (
    SETTINGS_FILE,
    WEIGHTS_FILE,
    TopicLinear,
    count_ngrams,
    paragraph_text,
    vectorizer_options,
    with_context,
)
from xdd.training.baselines import ParagraphExample, train_topics
from xdd.training.config import TfidfConfig
from xdd.training.topic_lexicon import read_topic_lexicon

GOLD = REPO / "data" / "annotations"
TOPICS = ["cadre_planning", "training", "internal_security"]
TRAIN = [
    ("quy_hoạch cán_bộ lãnh_đạo", ["cadre_planning"]),
    ("luân_chuyển cán_bộ quy_hoạch", ["cadre_planning"]),
    ("đào_tạo bồi_dưỡng lý_luận chính_trị", ["training"]),
    ("cử cán_bộ đi đào_tạo", ["training", "cadre_planning"]),
    ("kết_nạp đảng_viên mới", []),
]
NEW = ["quy_hoạch cán_bộ", "bồi_dưỡng lý_luận", "từ_ngữ lạ", ""]


def sklearn_reference():
    """The scikit-learn objects the exported arrays must reproduce (internal_security never occurs)."""
    vectorizer = TfidfVectorizer(**vectorizer_options(2))
    features = vectorizer.fit_transform([text for text, _ in TRAIN])
    regressions = {
        topic: LogisticRegression(C=4.0, max_iter=1000).fit(features, [topic in topics for _, topics in TRAIN])
        for topic in TOPICS[:2]
    }
    return vectorizer, regressions


def exported(vectorizer, regressions) -> TopicLinear:
    n = len(vectorizer.vocabulary_)
    coef = np.vstack([regressions[t].coef_[0] for t in TOPICS[:2]] + [np.zeros(n)])
    intercept = np.array([regressions[t].intercept_[0] for t in TOPICS[:2]] + [-np.inf])
    vocabulary = {k: int(v) for k, v in vectorizer.vocabulary_.items()}
    return TopicLinear(TOPICS, vocabulary, 2, vectorizer.idf_, coef, intercept)


def test_probabilities_equal_scikit_learns_tfidf_and_logistic_regression():
    vectorizer, regressions = sklearn_reference()
    probs = exported(vectorizer, regressions).predict_proba(NEW)
    for j, topic in enumerate(TOPICS[:2]):
        expected = regressions[topic].predict_proba(vectorizer.transform(NEW))[:, 1]
        np.testing.assert_allclose(probs[:, j], expected, rtol=1e-12, atol=1e-15)


@pytest.mark.skipif(not GOLD.is_dir(), reason="gold corpus not present")
def test_counts_and_features_equal_scikit_learns_on_the_gold_paragraphs():
    """Inference counts n-grams itself (no scikit-learn import); the matrices are scikit-learn's, to the bit.

    Fitted on half the paragraphs, so the other half has n-grams outside the
    vocabulary; odd whitespace (tab, no-break space) and an empty text too.
    """
    paragraphs = [p.lower() for doc in read_documents(GOLD) for p in doc.text.split("\n")]
    texts = paragraphs + ["quy hoạch\tcán bộ\u00a0trẻ", "", "   "]
    vectorizer = TfidfVectorizer(**vectorizer_options(3)).fit(paragraphs[::2])
    vocabulary = {k: int(v) for k, v in vectorizer.vocabulary_.items()}
    counts = count_ngrams(texts, vocabulary, 3)
    expected_counts = CountVectorizer(vocabulary=vocabulary, **vectorizer_options(3)).transform(texts)
    assert (counts != expected_counts).nnz == 0 and counts.dtype == expected_counts.dtype
    model = TopicLinear(["t"], vocabulary, 3, vectorizer.idf_, np.zeros((1, len(vocabulary))), np.zeros(1))
    np.testing.assert_array_equal(model.features(texts).toarray(), vectorizer.transform(texts).toarray())


def test_a_topic_with_zero_weights_and_minus_infinite_intercept_is_never_predicted():
    probs = exported(*sklearn_reference()).predict_proba(NEW)
    assert (probs[:, 2] == 0.0).all()


def test_trained_topics_match_an_independent_scikit_learn_fit():
    examples = [ParagraphExample(text.split(), [], topics) for text, topics in TRAIN]
    tfidf = TfidfConfig(C=4.0, ngram_max=2, min_df=1, class_weight=None, lexicon_weight=0.0, context_weight=0.0)
    model = train_topics(examples, tuple(TOPICS), tfidf)
    reference = exported(*sklearn_reference())
    np.testing.assert_allclose(model.predict_proba(NEW), reference.predict_proba(NEW), rtol=1e-6, atol=1e-9)


def test_save_and_load_give_identical_probabilities_without_pickle(tmp_path):
    model = exported(*sklearn_reference())
    model.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [SETTINGS_FILE, WEIGHTS_FILE]
    assert not (tmp_path / WEIGHTS_FILE).read_bytes().startswith(b"\x80")
    loaded = TopicLinear.load(tmp_path)
    assert loaded.topics == TOPICS and loaded.vocabulary == model.vocabulary
    np.testing.assert_array_equal(loaded.predict_proba(NEW), model.predict_proba(NEW))


def test_predicting_no_texts_gives_an_empty_matrix_with_one_column_per_topic():
    assert exported(*sklearn_reference()).predict_proba([]).shape == (0, 3)


def test_paragraph_text_lower_cases_forms_and_drops_punctuation():
    assert paragraph_text(["Ban_Thường_vụ", ",", "Huyện_ủy", "(", "10-CT/TW", ")"]) == "ban_thường_vụ huyện_ủy 10-ct/tw"


def test_arrays_of_the_wrong_shape_are_a_bundle_error_naming_the_array():
    model = exported(*sklearn_reference())
    with pytest.raises(BundleError, match=r"'coef' has shape \(2, \d+\), expected \(3, \d+\)"):
        TopicLinear(model.topics, model.vocabulary, 2, model.idf, model.coef[:2], model.intercept)


def test_loading_a_folder_without_the_topic_files_names_the_folder(tmp_path):
    with pytest.raises(BundleError, match=f"{tmp_path}: cannot read the topic model"):
        TopicLinear.load(tmp_path)


def test_loading_corrupted_weights_is_a_bundle_error(tmp_path):
    exported(*sklearn_reference()).save(tmp_path)
    (tmp_path / WEIGHTS_FILE).write_bytes(b"garbage")
    with pytest.raises(BundleError, match="cannot read the topic model"):
        TopicLinear.load(tmp_path)


def test_loading_settings_without_a_vocabulary_names_the_missing_key(tmp_path):
    exported(*sklearn_reference()).save(tmp_path)
    settings = json.loads((tmp_path / SETTINGS_FILE).read_text(encoding="utf-8"))
    del settings["vocabulary"]
    (tmp_path / SETTINGS_FILE).write_text(json.dumps(settings), encoding="utf-8")
    with pytest.raises(BundleError, match="topic model lacks vocabulary"):
        TopicLinear.load(tmp_path)


# --- class weights, weak examples from the scheme lexicon, paragraph context --------------------


def config(**changes) -> TfidfConfig:
    base = {"C": 4.0, "ngram_max": 2, "min_df": 1, "class_weight": None, "lexicon_weight": 0.0, "context_weight": 0.0}
    return TfidfConfig(**{**base, **changes})


def test_balanced_class_weights_match_scikit_learns_balanced_regression():
    examples = [ParagraphExample(text.split(), [], topics) for text, topics in TRAIN]
    model = train_topics(examples, tuple(TOPICS), config(class_weight="balanced"))
    vectorizer = TfidfVectorizer(**vectorizer_options(2))
    features = vectorizer.fit_transform([text for text, _ in TRAIN])
    for j, topic in enumerate(TOPICS[:2]):
        labels = [topic in topics for _, topics in TRAIN]
        reference = LogisticRegression(C=4.0, max_iter=1000, class_weight="balanced").fit(features, labels)
        expected = reference.predict_proba(vectorizer.transform(NEW))[:, 1]
        np.testing.assert_allclose(model.predict_proba(NEW)[:, j], expected, rtol=1e-5, atol=1e-8)


def test_weak_examples_join_the_vocabulary_and_the_fit_with_their_sample_weight():
    examples = [ParagraphExample(text.split(), [], topics) for text, topics in TRAIN]
    weak = [ParagraphExample(["bảo_vệ", "chính_trị", "nội_bộ"], [], ["internal_security"])]
    model = train_topics(examples, tuple(TOPICS), config(lexicon_weight=0.5), weak=weak)
    assert "bảo_vệ chính_trị" in model.vocabulary
    # Weak examples alone do not make a topic learnable: no gold positive, still constant 0.
    assert (model.predict_proba(["bảo_vệ chính_trị nội_bộ"])[:, 2] == 0).all()
    texts = [text for text, _ in TRAIN] + ["bảo_vệ chính_trị nội_bộ"]
    vectorizer = TfidfVectorizer(**vectorizer_options(2))
    features = vectorizer.fit_transform(texts)
    labels = [("training" in topics) for _, topics in TRAIN] + [False]
    reference = LogisticRegression(C=4.0, max_iter=1000).fit(features, labels, sample_weight=[1] * 5 + [0.5])
    expected = reference.predict_proba(vectorizer.transform(NEW))[:, 1]
    np.testing.assert_allclose(model.predict_proba(NEW)[:, 1], expected, rtol=1e-5, atol=1e-8)


def test_context_adds_the_weighted_rows_of_the_previous_and_next_non_empty_paragraphs():
    rows = sparse.csr_matrix(np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 0], [0, 0, 1.0]]))
    texts = ["a", "b", "", "c"]
    mixed = with_context(rows, texts, 0.5).toarray()
    np.testing.assert_allclose(mixed, [[1, 0.5, 0], [0.5, 1, 0.5], [0, 0, 0], [0, 0.5, 1]])
    np.testing.assert_array_equal(with_context(rows, texts, 0.0).toarray(), rows.toarray())


def test_a_model_with_context_scores_a_documents_paragraphs_as_training_saw_them():
    examples = [ParagraphExample(text.split(), [], topics) for text, topics in TRAIN]
    plain = train_topics(examples, tuple(TOPICS), config())
    with_ctx = train_topics(examples, tuple(TOPICS), config(context_weight=0.3), documents=[0, 0, 1, 1, 1])
    assert with_ctx.context_weight == 0.3
    # Each text alone (no neighbour): the context model scores it from its own row only.
    alone = np.vstack([with_ctx.predict_proba([text]) for text in NEW])
    logits = np.asarray(with_ctx.features(NEW) @ with_ctx.coef.T) + with_ctx.intercept
    np.testing.assert_allclose(alone, 1 / (1 + np.exp(-logits)), rtol=1e-12)
    # As one document: neighbours change the scores of the non-empty paragraphs, and not of the empty one.
    together = with_ctx.predict_proba(NEW)
    assert not np.allclose(together[:3, :2], alone[:3, :2]) and np.allclose(together[3], alone[3])
    assert plain.context_weight == 0.0


def test_training_context_stays_inside_each_document():
    examples = [ParagraphExample(text.split(), [], topics) for text, topics in TRAIN]
    with pytest.raises(ValueError, match="consecutive"):
        train_topics(examples, tuple(TOPICS), config(context_weight=0.3), documents=[0, 1, 0, 1, 1])
    with pytest.raises(ValueError, match="4 document indices for 5 examples"):
        train_topics(examples, tuple(TOPICS), config(context_weight=0.3), documents=[0, 0, 1, 1])


def test_context_weight_survives_save_and_load(tmp_path):
    examples = [ParagraphExample(text.split(), [], topics) for text, topics in TRAIN]
    model = train_topics(examples, tuple(TOPICS), config(context_weight=0.25), documents=[0, 0, 0, 1, 1])
    model.save(tmp_path)
    assert json.loads((tmp_path / SETTINGS_FILE).read_text(encoding="utf-8"))["context_weight"] == 0.25
    loaded = TopicLinear.load(tmp_path)
    assert loaded.context_weight == 0.25
    np.testing.assert_array_equal(loaded.predict_proba(NEW), model.predict_proba(NEW))


def test_a_topics_json_written_before_context_existed_loads_without_context(tmp_path):
    model = exported(*sklearn_reference())
    model.save(tmp_path)
    settings = json.loads((tmp_path / SETTINGS_FILE).read_text(encoding="utf-8"))
    del settings["context_weight"]
    (tmp_path / SETTINGS_FILE).write_text(json.dumps(settings), encoding="utf-8")
    loaded = TopicLinear.load(tmp_path)
    assert loaded.context_weight == 0.0
    np.testing.assert_array_equal(loaded.predict_proba(NEW), model.predict_proba(NEW))


@pytest.mark.parametrize("bad", [-1, "0.5", True, None])
def test_a_bad_context_weight_in_topics_json_is_a_bundle_error(tmp_path, bad):
    exported(*sklearn_reference()).save(tmp_path)
    settings = json.loads((tmp_path / SETTINGS_FILE).read_text(encoding="utf-8"))
    settings["context_weight"] = bad
    (tmp_path / SETTINGS_FILE).write_text(json.dumps(settings), encoding="utf-8")
    with pytest.raises(BundleError, match="'context_weight' must be a number >= 0"):
        TopicLinear.load(tmp_path)


# --- the scheme lexicon -------------------------------------------------------------------------

SCHEME_TOPICS = ("cadre_planning", "member_development", "training", "internal_security")


def test_the_lexicon_ships_phrases_for_every_topic_of_the_scheme():
    phrases = read_topic_lexicon()
    assert set(phrases) == set(SCHEME_TOPICS)
    assert all(len(lines) >= 10 for lines in phrases.values())


def syllables(text: str) -> list[str]:
    return re.findall(r"\w+", unicodedata.normalize("NFC", text).lower())


@pytest.mark.skipif(not GOLD.is_dir(), reason="gold corpus not present")
def test_no_lexicon_phrase_is_copied_from_a_gold_article():
    """A guard on the rule "written from the scheme, never from the articles": no long shared word run."""
    longest = 7
    runs = set()
    for doc in read_documents(GOLD):
        words = syllables(doc.text)
        runs |= {tuple(words[i : i + longest]) for i in range(len(words) - longest + 1)}
    for lines in read_topic_lexicon().values():
        for line in lines:
            words = syllables(line)
            windows = [words[i : i + longest] for i in range(len(words) - longest + 1)]
            shared = [w for w in windows if tuple(w) in runs]
            assert not shared, f"lexicon phrase {line!r} shares {' '.join(shared[0])!r} with a gold article"


def test_a_phrase_before_any_topic_header_is_an_error(tmp_path):
    path = tmp_path / "topics.txt"
    path.write_text("# comment\nquy hoạch\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"topics.txt:2: a phrase before any \[topic\] header"):
        read_topic_lexicon(path)
