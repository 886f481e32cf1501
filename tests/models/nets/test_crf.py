"""Word features, their groups, and the crfsuite tagger (inference side of the CRF baseline); the feature
settings saved with a baseline model; a corpus with its own labels."""

from __future__ import annotations

import json
import unicodedata

import pytest
import sklearn_crfsuite
from support import REPO
from xdd.models.document.corpus import read_documents
from xdd.models.document.labels import PARTY_BUILDING, LabelScheme
from xdd.models.errors import BundleError
from xdd.models.nets.crf import (
    FEATURE_GROUPS,
    GENERIC_GROUPS,
    CRFTagger,
    casing,
    check_feature_groups,
    default_feature_groups,
    feature_resources,
    shape,
    word_features,
)
from xdd.models.predict.baseline import DESCRIPTION_FILE, BaselineModel
from xdd.models.predict.conventions import apply_conventions
from xdd.training.baselines import paragraph_examples, train_baselines, train_crf
from xdd.training.config import load_config
from xdd.training.convert_conll import read_conll

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


# --- feature groups ----------------------------------------------------------------------------------------------

ALL = FEATURE_GROUPS


def test_the_original_features_are_the_default_and_the_other_groups_only_add_features():
    forms = ["Đồng_chí", "Nguyễn_Văn_An", ",", "Bí_thư", "Huyện_uỷ", "ngày", "23/1/2021", "."]
    original = word_features(forms)
    assert original == word_features(forms, ("base",))
    for group in ALL[1:]:
        extended = word_features(forms, ("base", group))
        for before, after in zip(original, extended, strict=True):
            assert {k: after[k] for k in before} == before


def test_default_feature_groups_follow_the_label_scheme():
    assert default_feature_groups(PARTY_BUILDING) == ALL
    assert default_feature_groups(LabelScheme(("PER", "ORG", "LOC", "MISC"), ())) == GENERIC_GROUPS
    assert "lexicons" not in GENERIC_GROUPS and "gazetteer" in GENERIC_GROUPS


@pytest.mark.parametrize(
    "groups, message", [(("base", "magic"), r"unknown feature group\(s\) \['magic'\]"), (("shape",), "lack 'base'")]
)
def test_unknown_or_incomplete_feature_groups_are_refused(groups, message):
    with pytest.raises(BundleError, match=message):
        check_feature_groups(groups)


def test_feature_groups_are_put_in_canonical_order():
    assert check_feature_groups(["lexicons", "base", "shape"]) == ("base", "shape", "lexicons")


def own(features: dict, prefix: str) -> dict:
    return {k: v for k, v in features.items() if k.startswith(prefix)}


@pytest.mark.parametrize(
    "forms, pattern, tags",
    [
        (["ngày", "23/01/2021", "của"], "pat_date_dmy", [None, "S", None]),
        (["ngày", "30-3-2007"], "pat_date_dmy", [None, "S"]),
        (["Sáng", "23/1", ","], "pat_date_dm", [None, "S", None]),
        (["tháng", "12-2008"], "pat_date_my", [None, "S"]),
        (["năm", "2021"], "pat_year", [None, "S"]),
        (["nhiệm_kỳ", "2020", "–", "2025"], "pat_term", [None, "B", "I", "E"]),
        (["nhiệm_kỳ", "2020-2025"], "pat_term", [None, "S"]),
        (["Chỉ_thị", "10", "-", "CT", "/", "TW"], "pat_code", [None, "B", "I", "I", "I", "E"]),
        (["Nghị_quyết", "45-NQ/TW"], "pat_code", [None, "S"]),
        (["TP", ".", "HCM"], "pat_abbrev", ["B", "I", "E"]),
        (["TP.HCM"], "pat_abbrev", ["S"]),
        (["20", ":", "56", ",", "Thứ_Ba"], "pat_clock", ["B", "I", "E", None, None]),
        (["quý", "IV"], "pat_roman", [None, "S"]),
        (["35/38", "người"], "pat_fraction", ["S", None]),
        (["92", "%"], "pat_percent", ["B", "E"]),
        (["(", "GMT", "+", "7", ")"], "pat_timezone", [None, "B", "I", "E", None]),
    ],
)
def test_shape_patterns_tag_the_words_they_cover_whatever_the_segmentation(forms, pattern, tags):
    features = word_features(forms, ("base", "shape"))
    assert [f.get(pattern) for f in features] == tags


def test_shape_features_count_digits_and_flag_acronyms():
    year, count, acronym, word = word_features(["2021", "15", "HĐND", "Ban"], ("base", "shape"))
    assert (year["n_digits"], count["n_digits"]) == ("4", "2")
    assert acronym["acronym"] is True and "acronym" not in word
    assert "pat_date_dm" not in word_features(["15/15", "chi_bộ"], ("base", "shape"))[0]  # not a day/month


def test_syllable_features_give_syllable_casing_and_the_syllables_across_word_boundaries():
    btv, uy = word_features(["BTV_Tỉnh", "uỷ"], ("base", "syllables"))
    assert btv["syc"] == "UT" and uy["syc"] == "l"
    assert btv["x0|+1"] == uy["x-1|0"] == "tỉnh|ủy"  # the mis-segmented "Tỉnh ủy" is still visible
    assert word_features(["Ban_Thường_vụ"], ("base", "syllables"))[0]["syc"] == "TTl"


def test_gazetteer_features_mark_place_names_unit_words_and_countries_on_syllables():
    unit, name, *_ = word_features(["xã", "Cao_Lộc", "và", "Trung_Quốc"], ("base", "gazetteer"))
    assert unit["units"] == "S_"  # a lower-case unit word
    assert name["gaz"] == "BE" and name["-1:units"] == unit["units"] and unit["+1:gaz"] == "BE"
    assert word_features(["Cao", "Lộc"], ("base", "gazetteer"))[1]["gaz"] == "E"  # any segmentation
    assert word_features(["với", "Trung_Quốc"], ("base", "gazetteer"))[1]["countries"] == "BE"
    assert "gaz" not in word_features(["cao", "lộc"], ("base", "gazetteer"))[0]  # names are capitalised


def test_lexicon_features_match_both_tone_conventions_segmentations_and_nfd():
    variants = [["Phó", "Bí_thư", "Tỉnh_uỷ"], ["Phó", "Bí_thư", "Tỉnh_ủy"],
                [unicodedata.normalize("NFD", f) for f in ("Phó", "Bí_thư", "Tỉnh_ủy")]]  # fmt: skip
    for forms in variants:
        pho, bi_thu, tinh_uy = word_features(forms, ALL)
        assert (pho["lx_positions"], bi_thu["lx_positions"]) == ("B^", "IE^")
        assert tinh_uy["lx_organisations"] == "BE^" and tinh_uy["-1:lx_positions"] == "IE^"
    cue, name = word_features(["đồng_chí", "Nguyễn_Văn_An"], ALL)
    assert cue["lx_person_cues"] == "BE_" and name["lx_surnames"].startswith("S")
    head, date = word_features(["Chiều", "8/1"], ALL)
    assert head["lx_times_of_day"] == "S^" and date["-1:lx_times_of_day"] == "S^"
    assert word_features(["Chỉ_thị", "05"], ALL)[0]["lx_documents"] == "BE^"
    assert word_features(["thứ", "Hai"], ALL)[0]["lx_weekdays"] == "B_"
    assert word_features(["nhiệm_kỳ"], ALL)[0]["lx_date_heads"] == "BE_"


def test_a_tagger_trained_with_feature_groups_tags_with_the_same_groups(tmp_path):
    path = tmp_path / "model.crfsuite"
    crf = sklearn_crfsuite.CRF(algorithm="lbfgs", c1=0.0, c2=0.01, max_iterations=50, model_filename=str(path))
    crf.fit([word_features(forms, ALL) for forms, _ in SENTENCES], [tags for _, tags in SENTENCES])
    tagger = CRFTagger.load(path, features=ALL)
    forms = ["Ông", "Nguyễn_Văn_An", "đến", "Hà_Nội", "."]
    assert tagger.tag(forms)[0] == crf.predict_single(word_features(forms, ALL))
    assert tagger.description() == {"features": list(ALL), "resources": feature_resources(ALL)}
    assert set(feature_resources(ALL)) == {"gazetteer", "lexicons_sha256"} and feature_resources(("base",)) == {}


def test_a_tagger_warns_when_its_lexicons_or_gazetteer_differ_from_training(trained):
    with pytest.warns(UserWarning, match="lexicons_sha256=0000 but lexicons_sha256=[0-9a-f]{64} is installed"):
        CRFTagger.load(trained[1], features=ALL, resources={**feature_resources(ALL), "lexicons_sha256": "0000"})


# --- the baseline model: feature settings and conventions saved and loaded ---------------------------------------

CORPUS = REPO / "data" / "annotations"
CONFIG = REPO / "training" / "configs" / "baselines.yaml"


@pytest.fixture(scope="module")
def party_model():
    docs = read_documents(CORPUS)[:2]
    return train_baselines(docs, docs[:1], load_config(CONFIG, ["task=ner"]), PARTY_BUILDING), docs


def test_a_party_building_model_uses_every_group_and_the_conventions(party_model):
    model, _ = party_model
    assert model.tagger.features == ALL and model.conventions is True


def test_feature_settings_and_conventions_survive_save_and_load(party_model, tmp_path):
    model, docs = party_model
    model.save(tmp_path)
    description = json.loads((tmp_path / DESCRIPTION_FILE).read_text(encoding="utf-8"))
    assert description["ner"]["features"] == list(ALL) and description["conventions"] is True
    assert description["ner"]["resources"] == feature_resources(ALL)
    loaded = BaselineModel.load(tmp_path)
    assert loaded.tagger.features == ALL and loaded.conventions is True
    assert [d.to_jsonl_line() for d in loaded.predict_documents(docs)] == [
        d.to_jsonl_line() for d in model.predict_documents(docs)
    ]


def test_the_conventions_setting_decides_whether_they_run(party_model):
    model, docs = party_model
    raw = BaselineModel(model.scheme, model.text, model.tagger, None, conventions=False).predict_documents(docs)
    on = BaselineModel(model.scheme, model.text, model.tagger, None, conventions=True).predict_documents(docs)
    assert [d.to_jsonl_line() for d in on] == [apply_conventions(d).to_jsonl_line() for d in raw]


def test_an_older_description_without_feature_settings_loads_as_the_original_features(party_model, tmp_path):
    model, docs = party_model
    examples = [ex for doc in docs for ex in paragraph_examples(model.pipeline, doc, PARTY_BUILDING)]
    old = BaselineModel(model.scheme, model.text, train_crf(examples, load_config(CONFIG).crf), None)
    old.save(tmp_path)
    description = json.loads((tmp_path / DESCRIPTION_FILE).read_text(encoding="utf-8"))
    description["ner"] = {"model": "ner.crfsuite"}  # as written before feature groups existed
    del description["conventions"]
    (tmp_path / DESCRIPTION_FILE).write_text(json.dumps(description), encoding="utf-8")
    loaded = BaselineModel.load(tmp_path)
    assert loaded.tagger.features == ("base",) and loaded.conventions is False
    forms = ["Đồng_chí", "Bí_thư", "Huyện_ủy"]
    assert loaded.tagger.tag(forms) == old.tagger.tag(forms)


@pytest.mark.parametrize(
    "change, message",
    [({"features": ["base", "magic"]}, "unknown feature group"), ({"conventions": "yes"}, "'conventions' is 'yes'")],
)
def test_bad_feature_settings_in_a_description_name_the_file(party_model, tmp_path, change, message):
    party_model[0].save(tmp_path)
    description = json.loads((tmp_path / DESCRIPTION_FILE).read_text(encoding="utf-8"))
    if "features" in change:
        description["ner"].update(change)
    else:
        description.update(change)
    (tmp_path / DESCRIPTION_FILE).write_text(json.dumps(description), encoding="utf-8")
    with pytest.raises(BundleError, match=message):
        BaselineModel.load(tmp_path)


CONLL = """\
Ông Nguyễn_Văn_A làm_việc tại UBND tỉnh Hà_Giang .
O B-PER O O B-ORG I-ORG I-ORG O
Bà Lê_Thị_Hoa đến Đà_Nẵng hôm_qua .
O B-PER O B-LOC O O
Công_ty Vinamilk mở nhà_máy ở Bình_Dương .
B-ORG I-ORG O O O B-LOC O
Anh Trần_Bình xem World_Cup ở Hà_Nội .
O B-PER O B-MISC O B-LOC O
"""


def test_a_conll_corpus_with_its_own_labels_trains_with_generic_features_and_no_conventions(tmp_path):
    lines = []
    for words, tags in zip(*[iter(CONLL.splitlines())] * 2):
        lines += [f"{w} {t}" for w, t in zip(words.split(), tags.split(), strict=True)] + [""]
    (tmp_path / "corpus.conll").write_text("\n".join(lines), encoding="utf-8")
    docs = read_conll(tmp_path / "corpus.conll").documents
    scheme = LabelScheme(("PER", "ORG", "LOC", "MISC"), ())
    model = train_baselines(docs[:3], docs[3:], load_config(CONFIG), scheme)
    assert model.tagger.features == GENERIC_GROUPS and model.conventions is False and model.topics is None
    predicted = model.predict_documents(docs)
    assert {e.label for d in predicted for e in d.entities} <= set(scheme.entities)
    assert any(d.entities for d in predicted)
    model.save(tmp_path / "model")
    loaded = BaselineModel.load(tmp_path / "model")
    assert loaded.tagger.features == GENERIC_GROUPS and loaded.conventions is False
    assert [d.to_jsonl_line() for d in loaded.predict_documents(docs)] == [d.to_jsonl_line() for d in predicted]
