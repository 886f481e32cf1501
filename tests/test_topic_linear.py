"""TF-IDF + per-topic logistic regression from plain arrays (inference side of the topic baseline)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from models.errors import BundleError
from models.topic_linear import SETTINGS_FILE, WEIGHTS_FILE, TopicLinear, paragraph_text, vectorizer_options
from training.baselines import ParagraphExample, train_topics
from training.config import TfidfConfig

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


def test_a_topic_with_zero_weights_and_minus_infinite_intercept_is_never_predicted():
    probs = exported(*sklearn_reference()).predict_proba(NEW)
    assert (probs[:, 2] == 0.0).all()


def test_trained_topics_match_an_independent_scikit_learn_fit():
    examples = [ParagraphExample(text.split(), [], topics) for text, topics in TRAIN]
    model = train_topics(examples, tuple(TOPICS), TfidfConfig(C=4.0, ngram_max=2, min_df=1))
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
