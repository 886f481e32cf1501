"""Word features and the crfsuite tagger (inference side of the CRF baseline)."""

from __future__ import annotations

import pytest
import sklearn_crfsuite

from models.crf_tagger import CRFTagger, casing, shape, word_features
from models.errors import BundleError

SENTENCES = [
    (["Đồng_chí", "Nguyễn_Văn_An", "làm_việc", "ở", "Hà_Nội", "."], ["O", "B-PER", "O", "O", "B-LOC", "O"]),
    (["Bà", "Lê_Thị_Hoa", "đến", "Đà_Nẵng", "."], ["O", "B-PER", "O", "B-LOC", "O"]),
    (["Ông", "Trần_Bình", "sống", "ở", "Huế", "năm", "2020", "."], ["O", "B-PER", "O", "O", "B-LOC", "O", "O", "O"]),
]


@pytest.mark.parametrize(
    "form, expected",
    [
        ("Nguyễn_Thị_Mai", "title"),
        ("Huyện_ủy", "initial"),
        ("Ban_Thường_vụ", "mixed"),
        ("HĐND", "upper"),
        ("cán_bộ", "lower"),
        ("23/01/2021", "none"),
        (",", "none"),
    ],
)
def test_casing_separates_names_initial_capitals_and_acronyms(form, expected):
    assert casing(form) == expected


@pytest.mark.parametrize("form, expected", [("10-CT/TW", "d-X/X"), ("23/01/2021", "d/d/d"), ("Huyện_ủy", "Xx_x")])
def test_shape_collapses_character_classes(form, expected):
    assert shape(form) == expected


def test_word_features_describe_the_word_its_syllables_and_two_neighbours_each_side():
    features = word_features(["Đồng_chí", "Nguyễn_Văn_An", ",", "Bí_thư", "Huyện_ủy"])
    name = features[1]
    assert name["lower"] == "nguyễn_văn_an" and name["syl"] == ["an", "nguyễn", "văn"]
    assert (name["first"], name["last"], name["casing"], name["n_syl"]) == ("nguyễn", "an", "title", "3")
    assert name["-1:lower"] == "đồng_chí" and name["+1:punct"] is True and name["+2:lower"] == "bí_thư"
    assert name["-2:edge"] is True and name["-1|0"] == "đồng_chí|nguyễn_văn_an"
    assert features[0]["BOS"] is True and features[-1]["EOS"] is True and "BOS" not in name


def test_word_features_flag_digits_slashes_and_hyphens_only_when_present():
    code, word = word_features(["10-CT/TW", "Đảng"])
    assert code["has_digit"] and code["has_slash"] and code["has_hyphen"] and "digit" not in code
    assert not {"has_digit", "has_slash", "has_hyphen", "digit", "punct"} & set(word)
    assert word_features(["2021"])[0]["digit"] is True


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A crfsuite model file written by sklearn-crfsuite, and the sklearn object that wrote it."""
    path = tmp_path_factory.mktemp("crf") / "model.crfsuite"
    crf = sklearn_crfsuite.CRF(algorithm="lbfgs", c1=0.0, c2=0.01, max_iterations=50, model_filename=str(path))
    crf.fit([word_features(forms) for forms, _ in SENTENCES], [tags for _, tags in SENTENCES])
    return crf, path


def test_tagger_predicts_what_sklearn_crfsuite_predicts_with_marginals_as_scores(trained):
    crf, path = trained
    tagger = CRFTagger.load(path)
    forms = ["Ông", "Nguyễn_Văn_An", "đến", "Hà_Nội", "."]
    tags, scores = tagger.tag(forms)
    assert tags == crf.predict_single(word_features(forms))
    marginals = crf.predict_marginals_single(word_features(forms))
    assert scores == pytest.approx([m[t] for m, t in zip(marginals, tags)])
    assert all(0.0 < s <= 1.0 for s in scores)
    assert set(tagger.tags) == {"O", "B-PER", "B-LOC"}


def test_tagger_saves_the_model_file_byte_for_byte(trained, tmp_path):
    _, path = trained
    CRFTagger.load(path).save(tmp_path / "copy.crfsuite")
    assert (tmp_path / "copy.crfsuite").read_bytes() == path.read_bytes()


def test_tagger_returns_nothing_for_an_empty_word_sequence(trained):
    assert CRFTagger.load(trained[1]).tag([]) == ([], [])


def test_loading_a_file_that_is_not_a_crfsuite_model_names_it(tmp_path):
    path = tmp_path / "ner.crfsuite"
    path.write_bytes(b"\x80\x04pickle? no thanks")
    with pytest.raises(BundleError, match=r"ner\.crfsuite: not a crfsuite model file"):
        CRFTagger.load(path)


def test_loading_a_missing_model_file_names_it(tmp_path):
    with pytest.raises(BundleError, match=r"missing\.crfsuite: cannot read the CRF model"):
        CRFTagger.load(tmp_path / "missing.crfsuite")
