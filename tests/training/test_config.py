"""Configs: every shipped config loads; bad keys and values are errors naming the key and the file."""

from __future__ import annotations

from pathlib import Path

import pytest
from xdd.models.errors import ConfigError
from xdd.training.cli import main
from xdd.training.config import CONFIG_DIR, load_config, resolve_config_path

SHIPPED = sorted(CONFIG_DIR.glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_config_loads_and_is_named_after_its_file(path):
    assert load_config(path).name == path.stem


def test_the_issue_lists_configs_are_all_shipped():
    names = {p.stem for p in SHIPPED}
    assert {"phobert-joint", "phobert-ner", "phobert-topics", "baselines", "phobert-base-v2-joint",
            "phobert-large-joint", "tiny-joint"} <= names  # fmt: skip


def test_the_default_config_is_phobert_base_joint():
    config = load_config(resolve_config_path("phobert-joint"))
    assert (config.model.backbone, config.task, config.model.kind) == ("vinai/phobert-base", "joint", "transformer")


def test_the_base_v2_config_warns_about_its_agpl_weights():
    assert "AGPL-3.0" in (CONFIG_DIR / "phobert-base-v2-joint.yaml").read_text(encoding="utf-8")


def test_overrides_set_nested_values_with_yaml_types():
    config = load_config(None, ["training.learning_rate=3e-5", "training.group_by_length=false", "data.dev=null",
                                "text.segmenter=pyvi"])  # fmt: skip
    assert config.training.learning_rate == 3e-5
    assert config.training.group_by_length is False
    assert config.data.dev is None and config.text.segmenter == "pyvi"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("training.lerning_rate=1e-4", "unknown key 'training.lerning_rate' (did you mean 'training.learning_rate'?)"),
        ("training.learning_rate=-1", "'training.learning_rate' must be > 0"),
        ("training.batch_size=abc", "'training.batch_size' must be an integer, got 'abc'"),
        ("task=ocr", "'task' must be one of 'joint', 'ner', 'topics', got 'ocr'"),
        ("model.kind=svm", "'model.kind' must be one of 'transformer', 'baselines'"),
        ("data.dev_fraction=1.5", "'data.dev_fraction' must be in [0, 1)"),
        ("text.max_tokens=1000", "'text.max_tokens' must be between 8 and 512"),
        ("text.tone=modern", "'text' section: text settings: 'tone' is 'modern'"),
        ("text.overlap_words=200", "'text.overlap_words' must be less than half of 'text.max_tokens'"),
        ("training=3", "'training' must be a mapping, got int"),
        ("training.epochs=0", "set 'training.epochs' > 0 or 'training.max_steps' > 0"),
        ("nonsense", "expected key=value"),
    ],
)
def test_bad_values_are_errors_that_name_the_key(override, message):
    with pytest.raises(ConfigError) as err:
        load_config(CONFIG_DIR / "tiny-joint.yaml", [override])
    assert message in str(err.value)


def test_errors_name_the_config_file(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("training:\n  batch_size: many\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"{path}: 'training.batch_size' must be an integer"):
        load_config(path)


def test_an_unknown_key_given_with_set_is_blamed_on_set_not_on_the_file(capsys, tmp_path):
    run = tmp_path / "run"
    assert main(["train", "--config", "baselines", "--set", "training.learnin_rate=1e-4", "--out", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "xdd: error: --set training.learnin_rate: unknown key 'training.learnin_rate' "
        "(did you mean 'training.learning_rate'?); allowed: epochs, max_steps, learning_rate,"
    )
    assert "baselines.yaml" not in err and err.count("\n") == 1 and not run.exists()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("training.batch_size=abc", "--set training.batch_size: 'training.batch_size' must be an integer, got 'abc'"),
        ("training.learning_rate=-1", "--set training.learning_rate: 'training.learning_rate' must be > 0"),
        ("training={learning_rate: -1}", "--set training: 'training.learning_rate' must be > 0"),
        ("text.tone=modern", "--set text.tone: 'text' section: text settings: 'tone' is 'modern'"),
        ("text.max_tokens=30", "--set text.max_tokens: 'text.overlap_words' must be less than half of 'text.max_tokens'"),
    ],
)
def test_a_bad_value_given_with_set_is_blamed_on_set(override, message):
    with pytest.raises(ConfigError) as err:
        load_config(CONFIG_DIR / "tiny-joint.yaml", [override])
    assert str(err.value).startswith(message)


def test_a_bad_key_in_the_file_is_still_blamed_on_the_file_when_set_is_used_too(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("training:\n  lerning_rate: 1.0e-4\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^{path}: unknown key 'training.lerning_rate'"):
        load_config(path, ["training.batch_size=8", "crf.c1=0.1"])


def test_a_config_that_is_not_yaml_or_not_a_mapping_is_refused(tmp_path):
    broken, listed = tmp_path / "broken.yaml", tmp_path / "list.yaml"
    broken.write_text("training: [unclosed\n", encoding="utf-8")
    listed.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken)
    with pytest.raises(ConfigError, match="a config is a mapping"):
        load_config(listed)


def test_an_unknown_config_name_lists_the_shipped_ones():
    with pytest.raises(ConfigError, match="config 'phobert-huge' not found.*baselines, .*tiny-joint"):
        resolve_config_path("phobert-huge")


def test_the_cli_prints_config_errors_without_a_traceback_and_exits_2(capsys, tmp_path):
    code = main(["train", "--config", "baselines", "--set", "crf.c3=1", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and "unknown key 'crf.c3'" in err and "Traceback" not in err
    assert not Path(tmp_path / "run").exists()


def test_a_command_that_needs_an_extra_names_the_extra_to_install(monkeypatch, capsys, tmp_path):
    from xdd.training import train_cli
    from xdd.training.cli import main

    def without_crfsuite(args):  # what a base install (no xdd[train]) meets when training the baselines
        raise ModuleNotFoundError("No module named 'sklearn_crfsuite'", name="sklearn_crfsuite")

    monkeypatch.setattr(train_cli, "run_train", without_crfsuite)
    assert main(["train", "--config", "baselines", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "`xdd train` needs the package 'sklearn_crfsuite', which is not installed" in err and "xdd[train]" in err
