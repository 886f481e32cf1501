"""``xdd predict --engine ray`` and ``predict_dataset``: the local engine's output, faults survived, resumable.

Tests marked ``ray`` share one local Ray instance with 2 CPUs on 127.0.0.1
(the ``ray_instance`` fixture), stopped when the module ends; the CLI uses an
instance that is already running instead of starting its own.  The driver-kill
test starts the CLI as a subprocess with its own instance, in its own process
group, and kills that group at the end.  The multi-node recipe runs
``ray_cluster_recipe.sh`` in new namespaces (``unshare``): its ``ray start``
nodes listen on every interface of a network that has only loopback, and
the kernel ends them with the script.  Run them with ``pytest -m ray``.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import REPO, kill_once_written
from xdd.training.cli import main

ROOT = REPO


def paragraphs(model_corpus_path: Path) -> list[str]:
    from xdd.models.document.corpus import read_documents

    return [p for doc in read_documents(model_corpus_path) for p in doc.text.split("\n") if p.strip()]


def articles(model_corpus_path: Path, count: int, size: int = 4) -> list[str]:
    """``count`` distinct articles of ``size`` paragraphs: the gold paragraphs, rotated."""
    paras = paragraphs(model_corpus_path)
    return ["\n".join((paras * 2)[(n * 3) % len(paras):][:size]) for n in range(count)]


def write_jsonl(path: Path, texts: list[str], prefix: str = "doc") -> list[str]:
    ids = [f"{prefix}-{n:03d}" for n in range(len(texts))]
    lines = [json.dumps({"id": i, "text": t}, ensure_ascii=False) for i, t in zip(ids, texts)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ids


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def predict(model: Path, inputs: list[Path], out: str | Path, *options: str) -> int:
    return main(["predict", "--model", str(model), *map(str, inputs), "--output", str(out), "--quiet", *options])


@pytest.fixture(scope="module")
def ray_instance(tmp_path_factory):
    """A local Ray instance (2 CPUs, 127.0.0.1) for the module; yields the kill-once trigger file its workers watch."""
    from xdd.models.predict.ray_engine import KILL_ONCE_ENV, RayCluster, import_ray

    trigger = tmp_path_factory.mktemp("ray") / "kill-once"
    saved = {name: os.environ.get(name) for name in (KILL_ONCE_ENV, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")}
    os.environ[KILL_ONCE_ENV] = str(trigger)  # inherited by the workers of the instance started below
    ray = import_ray(local=True)
    try:
        ray.init(**RayCluster(workers=2).init_args())
        yield trigger
    finally:
        ray.shutdown()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="module")
def mixed_inputs(tmp_path_factory, model_corpus_path) -> Path:
    """A folder of good articles, a JSONL with good and bad lines, and the bad files of the local engine's tests."""
    folder = tmp_path_factory.mktemp("ray-inputs")
    texts = articles(model_corpus_path, 24)
    (folder / "good").mkdir()
    for number, text in enumerate(texts[:4]):
        (folder / "good" / f"article-{number}.txt").write_text(text, encoding="utf-8")
    lines = [json.dumps({"id": f"line-{n}", "text": t}, ensure_ascii=False) for n, t in enumerate(texts[4:])]
    lines[3:3] = ["{not json", json.dumps({"id": "blank", "text": "  "})]
    (folder / "more.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "latin1.txt").write_bytes("Thành Hà Nam".encode("latin-1"))
    (folder / "empty.txt").write_bytes(b"")
    (folder / "scan.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    return folder


def run_both(model: Path, inputs: list[Path], tmp_path: Path, *options: str) -> tuple:
    """Exit codes, outputs and errors files of the local engine and of the Ray engine (2 workers), same arguments."""
    results = []
    for engine, extra in (("local", ()), ("ray", ("--engine", "ray", "--workers", "2"))):
        out = tmp_path / f"{engine}.out"
        code = predict(model, inputs, out, *options, *extra)
        errors = Path(f"{out}.errors.jsonl")
        results.append((code, out.read_bytes(), errors.read_bytes() if errors.exists() else None))
    return results[0], results[1]


@pytest.mark.ray
def test_the_local_instance_listens_on_the_loopback_interface_only(ray_instance):
    import ray

    assert ray.get_runtime_context().gcs_address.startswith("127.0.0.1:")
    assert {node["NodeManagerAddress"] for node in ray.nodes()} == {"127.0.0.1"}


@pytest.mark.ray
@pytest.mark.parametrize("fmt", ["jsonl", "conll", "labelstudio"])
def test_the_ray_engine_writes_what_the_local_engine_writes_and_reports_bad_inputs_alike(
    ray_instance, baseline_bundle_dir, mixed_inputs, tmp_path, fmt
):
    local, on_ray = run_both(baseline_bundle_dir, [mixed_inputs], tmp_path, "--format", fmt, "--batch-size", "3")
    assert on_ray == local  # exit code, output bytes and errors file bytes
    assert local[0] == 1
    reasons = {Path(e["source"]).name: e["reason"] for e in map(json.loads, local[2].decode().splitlines())}
    assert reasons == {
        "empty.txt": "empty (no text)",
        "latin1.txt": "not UTF-8 (byte 0xe0 at offset 2); re-save it as UTF-8 (e.g. with iconv)",
        "more.jsonl:4": "invalid JSON: Expecting property name enclosed in double quotes at column 2",
        "more.jsonl:5": '"text" is empty',
        "scan.txt": "binary data (NUL byte at offset 8), not text",
    }
    if fmt == "jsonl":
        assert len(local[1].splitlines()) == 24


@pytest.mark.ray
def test_the_ray_engine_gives_the_onnx_backend_s_answers(ray_instance, tiny_bundle_dir, mixed_inputs, tmp_path):
    inputs = [mixed_inputs / "good", mixed_inputs / "more.jsonl"]
    local, on_ray = run_both(tiny_bundle_dir, inputs, tmp_path, "--backend", "onnx", "--include-text")
    assert on_ray == local
    assert any(r["entities"] for r in map(json.loads, local[1].decode().splitlines()))


@pytest.mark.ray
def test_a_worker_killed_mid_run_loses_and_repeats_no_record_and_stdout_stays_clean(
    ray_instance, baseline_bundle_dir, tmp_path, model_corpus_path, capsysbinary
):
    inputs = tmp_path / "in.jsonl"
    ids = write_jsonl(inputs, articles(model_corpus_path, 30, size=2))
    local = tmp_path / "local.jsonl"
    assert predict(baseline_bundle_dir, [inputs], local, "--batch-size", "2") == 0
    capsysbinary.readouterr()
    ray_instance.touch()  # the first worker to see it removes it and kills itself with SIGKILL
    assert predict(baseline_bundle_dir, [inputs], "-", "--batch-size", "2", "--engine", "ray", "--workers", "2") == 0
    assert not ray_instance.exists(), "no worker was killed"
    written = capsysbinary.readouterr().out  # Ray's report of the dead worker went to stderr, not here
    assert written == local.read_bytes()
    assert [json.loads(line)["id"] for line in written.splitlines()] == ids


@pytest.mark.ray
def test_the_driver_checks_the_bundle_and_leaves_building_the_model_to_the_workers(
    ray_instance, baseline_bundle_dir, mixed_inputs, tmp_path, monkeypatch
):
    from xdd.models.predict.predictor import Predictor

    local = tmp_path / "local.jsonl"
    assert predict(baseline_bundle_dir, [mixed_inputs / "good"], local) == 0

    def not_in_the_driver(*args, **kwargs):
        raise AssertionError("the driver built the model")

    monkeypatch.setattr(Predictor, "load", not_in_the_driver)  # this process only: the workers are others
    on_ray = tmp_path / "ray.jsonl"
    assert predict(baseline_bundle_dir, [mixed_inputs / "good"], on_ray, "--engine", "ray") == 0
    assert on_ray.read_bytes() == local.read_bytes()
    with pytest.raises(AssertionError, match="the driver built"):
        predict(baseline_bundle_dir, [mixed_inputs / "good"], tmp_path / "again.jsonl")


@pytest.mark.ray
def test_a_bundle_the_workers_cannot_load_stops_the_run_with_their_error_in_one_line(
    ray_instance, tiny_bundle_dir, mixed_inputs, tmp_path, capsys
):
    """It passes the driver's checks (its manifest matches), so only a worker finds out."""
    import shutil

    from xdd.models.document.bundle import sha256_file

    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_bundle_dir, bundle)
    (bundle / "model.onnx").write_bytes(b"not a protobuf")
    manifest = bundle / "SHA256SUMS"
    lines = [line for line in manifest.read_text().splitlines() if not line.endswith("  model.onnx")]
    manifest.write_text("\n".join([*lines, f"{sha256_file(bundle / 'model.onnx')}  model.onnx"]) + "\n")
    out = tmp_path / "out.jsonl"
    capsys.readouterr()
    assert predict(bundle, [mixed_inputs / "good"], out, "--backend", "onnx", "--engine", "ray") == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith(f"xdd: error: a Ray worker failed: {bundle}/model.onnx: ONNX Runtime cannot load this "
                           "model: "), last  # fmt: skip
    assert last.endswith("; re-export the bundle; what was written is kept: rerun with --resume"), last
    assert not out.exists()


def test_predict_dataset_refuses_a_backend_the_bundle_lacks_before_ray_is_touched(baseline_bundle_dir):
    from xdd.models.errors import ConfigError
    from xdd.models.predict.ray_engine import predict_dataset

    with pytest.raises(ConfigError, match="baselines bundle .* has no ONNX model"):
        predict_dataset(None, baseline_bundle_dir, backend="onnx")  # type: ignore[arg-type]  # no dataset needed


def test_a_worker_s_failure_is_named_by_the_exception_it_raised():
    from xdd.models.predict.ray_engine import worker_failure

    trace = (
        "ray::MapWorker(MapBatches(BundlePredictor)).submit() (pid=1, ip=127.0.0.1)\n"
        '  File "predictor.py", line 1, in load\n'
        "{raised}\n\nThe above exception was the direct cause of the following exception:\n\n"
        "ray::MapWorker(MapBatches(BundlePredictor)).submit() (pid=1, ip=127.0.0.1)\n"
        "ray.exceptions.UserCodeException: UDF failed to process a data block.\n"
        "To change retry attempts, configure `ray.data.DataContext.get_current()` if you believe this to be transient."
    )
    raised = "xdd.models.errors.BundleError: b/model.onnx: ONNX Runtime cannot load this model: bad; re-export it"
    assert worker_failure(Exception(trace.format(raised=raised))) == (
        "b/model.onnx: ONNX Runtime cannot load this model: bad; re-export it")
    assert worker_failure(Exception(trace.format(raised="builtins.KeyError: 'labels'"))) == "KeyError: 'labels'"
    died = "The actor died unexpectedly before finishing this task.\n\tclass_name: MapWorker\n\tpid: 7\n"
    assert worker_failure(Exception(died)) == "The actor died unexpectedly before finishing this task."
    assert worker_failure(Exception("")) == "Exception"


@pytest.mark.ray
@pytest.mark.timeout(600)
def test_a_killed_driver_resumes_with_each_input_exactly_once(ray_instance, baseline_bundle_dir, tmp_path,
                                                             model_corpus_path, monkeypatch):  # fmt: skip
    from xdd.models.predict import ray_engine

    inputs = tmp_path / "in.jsonl"
    ids = write_jsonl(inputs, articles(model_corpus_path, 150, size=2))
    out = tmp_path / "out.jsonl"
    argv = ["predict", "--model", str(baseline_bundle_dir), str(inputs), "--output", str(out), "--batch-size", "2",
            "--quiet", "--engine", "ray", "--workers", "2"]  # fmt: skip
    # Its own process group: killing the group also ends the Ray instance this driver started.
    process = subprocess.Popen([sys.executable, "-m", "xdd.training.cli", *argv], cwd=ROOT, start_new_session=True,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        kill_once_written(process, out, 2, os.killpg, timeout=300)
    finally:
        _kill_group(process.pid)
    assert 2 <= len(records(out)) < len(ids)
    with out.open("ab") as handle:
        handle.write(b'{"id": "doc-149", "source": "in.js')  # a torn last write
    monkeypatch.setattr(ray_engine, "SEGMENT_DOCS", 100)  # the rest in two Datasets, one after the other
    assert main([*argv, "--resume"]) == 0
    assert [r["id"] for r in records(out)] == ids  # valid JSONL, every id exactly once, in input order
    reference = tmp_path / "local.jsonl"
    assert predict(baseline_bundle_dir, [inputs], reference) == 0
    assert out.read_bytes() == reference.read_bytes()


# The recipe runs as PID 1 of new user, network, PID and mount namespaces: only loopback, its own `ray stop`.
NAMESPACES = ["unshare", "--user", "--map-root-user", "--net", "--pid", "--fork", "--mount-proc", "--kill-child"]
REQUIRE_NAMESPACES = "XDD_REQUIRE_NAMESPACES"


def run_in_namespaces(script: Path, *args: object) -> str:
    """``bash SCRIPT ARGS`` in new namespaces, from a user's shell with this venv on PATH; its stdout.

    A user's shell: without the loopback setting the ray_instance fixture
    may have set (with it, `ray start --address` refuses a second node).
    """
    from xdd.models.predict.ray_engine import LOOPBACK_ENV

    env = {name: value for name, value in os.environ.items() if name != LOOPBACK_ENV}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    run = subprocess.run([*namespaces(), "bash", str(script), *map(str, args)], capture_output=True, text=True,
                         timeout=240, env=env)  # fmt: skip
    assert run.returncode == 0, run.stderr[-4000:]
    return run.stdout


def namespaces() -> list[str]:
    """The ``unshare`` prefix; skip where namespaces are not allowed, unless XDD_REQUIRE_NAMESPACES=1 (CI) fails."""
    probe = subprocess.run([*NAMESPACES, "true"], capture_output=True, text=True)
    if probe.returncode == 0:
        return NAMESPACES
    reason = f"unshare cannot create namespaces here ({probe.stderr.strip()})"
    if os.environ.get(REQUIRE_NAMESPACES) == "1":
        pytest.fail(f"{REQUIRE_NAMESPACES}=1 but {reason}")
    pytest.skip(f"{reason}; {REQUIRE_NAMESPACES}=1 makes this fail")


@pytest.mark.ray
@pytest.mark.timeout(300)
def test_the_multi_node_recipe_with_token_auth_writes_what_the_local_engine_writes(
    baseline_bundle_dir, model_corpus_path, tmp_path
):
    """docs/inference.md's `ray start` recipe on one machine: a head with no CPUs, two 1-CPU nodes, --address."""
    inputs = tmp_path / "in.jsonl"
    write_jsonl(inputs, articles(model_corpus_path, 40))
    local = tmp_path / "local.jsonl"
    assert predict(baseline_bundle_dir, [inputs], local) == 0
    out = tmp_path / "cluster"
    out.mkdir()
    recipe = Path(__file__).with_name("ray_cluster_recipe.sh")
    run_in_namespaces(recipe, baseline_bundle_dir, inputs, out)
    assert (out / "predictions.jsonl").read_bytes() == local.read_bytes()
    placement = json.loads((out / "placement.json").read_text())
    nodes, workers = placement["nodes"], placement["workers"]
    assert sorted((node["head"], node["cpus"]) for node in nodes.values()) == [(False, 1), (False, 1), (True, 0)]
    assert len(workers) == 2 and {nodes[node]["head"] for node in set(workers)} == {False} and len(set(workers)) == 2
    for name, reason in (("wrong-token", ""), ("no-token", " (Token authentication is enabled but no authentication "
                                                        "token was found)")):  # fmt: skip
        assert (out / f"{name}.rc").read_text().strip() == "2", name
        refused = (out / f"{name}.stderr").read_text().strip().splitlines()[-1]
        assert refused.startswith(f"xdd: error: cannot connect to the Ray cluster at 127.0.0.1:6379{reason}: "), refused
        assert refused.endswith("is RAY_AUTH_TOKEN in this shell the head's?"), refused


@pytest.mark.ray
@pytest.mark.timeout(300)
def test_the_overhead_script_of_the_performance_docs_runs_every_variant_to_the_same_output(
    baseline_bundle_dir, model_corpus_path, tmp_path
):
    """bench/ray_overhead.sh, whose figures docs/performance.md gives: six runs, each timed, one output."""
    inputs = tmp_path / "in.jsonl"
    write_jsonl(inputs, articles(model_corpus_path, 20))
    lines = run_in_namespaces(ROOT / "bench" / "ray_overhead.sh", baseline_bundle_dir, inputs, 1).splitlines()
    stdout = "\n".join(lines)
    variants = ["local", "ray, own instance 1x1", "ray, own instance 2x1", "local (head running)",
                "ray, running head 1x1", "ray, running head 2x1"]  # fmt: skip
    assert [line[10:32].strip() for line in lines] == variants, stdout
    assert all("first batch after" in line for line in lines), stdout
    assert len({line.split()[-1] for line in lines}) == 1, stdout  # the same SHA-256 prefix for every variant


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.mark.ray
def test_predict_dataset_adds_the_predictor_s_answers_as_columns(ray_instance, baseline_bundle_dir,
                                                                model_corpus_path):  # fmt: skip
    import ray
    from xdd.models.predict.predictor import Predictor
    from xdd.models.predict.ray_engine import predict_dataset, prediction_columns

    texts = [*articles(model_corpus_path, 9, size=3), "xin chào"]
    dataset = ray.data.from_items([{"id": f"a{n}", "body": text} for n, text in enumerate(texts)])
    predicted = predict_dataset(dataset, baseline_bundle_dir, text_column="body", batch_size=4, concurrency=2)
    rows = sorted(predicted.take_all(), key=lambda row: int(row["id"][1:]))  # Ray's order is its own here
    expected = prediction_columns(Predictor.load(baseline_bundle_dir).predict(texts))
    assert [row["id"] for row in rows] == [f"a{n}" for n in range(len(texts))]
    for name, values in expected.items():
        assert [json.loads(json.dumps(row[name])) for row in rows] == values, name
    assert any(rows[n]["entities"] for n in range(len(texts))) and not rows[-1]["entities"]


@pytest.mark.ray
def test_ray_s_notice_that_token_auth_is_on_by_default_is_dropped_and_its_other_warnings_kept():
    from ray._private.authentication import authentication_token_setup as auth
    from xdd.models.predict.ray_engine import AUTH_LOGGER, _ordered_and_quiet, import_ray

    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    logger = logging.getLogger(AUTH_LOGGER)
    logger.addHandler(handler)
    try:
        with _ordered_and_quiet(import_ray()):
            auth._warn_token_auth_enabled()  # what ray.init logs for a local instance, RAY_AUTH_MODE unset
            auth._warn_token_auth_disabled()
        auth._warn_token_auth_enabled()  # outside a run: Ray's own, untouched
    finally:
        logger.removeHandler(handler)
    assert [message.split(".")[0] for message in seen] == [
        "Token authentication is disabled for this Ray cluster", "Token authentication is enabled for this Ray cluster"]


def test_the_ray_engine_without_ray_names_the_extra_to_install(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if it were not installed
    source = tmp_path / "a.txt"
    source.write_text("Cao Lộc", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert predict(tmp_path / "bundle", [source], out, "--engine", "ray") == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line == "xdd: error: --engine ray needs Ray, which is not installed; install the extra: pip install 'xdd[ray]'"
    assert not out.exists()


@pytest.mark.parametrize(("options", "message"), [
    (["--address", "10.0.0.1:6379"], "--address is an option of --engine ray"),
    (["--engine", "ray", "--gpus-per-worker", "1"], "--device cuda and --gpus-per-worker go together"),
    (["--engine", "ray", "--device", "cuda"], "--device cuda and --gpus-per-worker go together"),
])  # fmt: skip
def test_ray_options_that_cannot_work_stop_the_run_with_one_line(tmp_path, capsys, options, message):
    source = tmp_path / "a.txt"
    source.write_text("Cao Lộc", encoding="utf-8")
    assert predict(tmp_path / "bundle", [source], tmp_path / "out.jsonl", *options) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert message in line


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        return free.getsockname()[1]


def test_the_address_probe_passes_a_listening_port_and_names_what_does_not_answer():
    from xdd.models.errors import XddError
    from xdd.models.predict.ray_engine import probe

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        probe(f"127.0.0.1:{server.getsockname()[1]}")
        probe(f"ray://127.0.0.1:{server.getsockname()[1]}")  # Ray Client's form
    probe("auto")  # no port: Ray finds the cluster itself
    port = closed_port()
    with pytest.raises(XddError, match=rf"at 127\.0\.0\.1:{port}: nothing answers at 127\.0\.0\.1:{port} "
                                       r"\(Connection refused\); is `ray start --head` running there"):  # fmt: skip
        probe(f"127.0.0.1:{port}")
    with pytest.raises(XddError, match=r"nothing answers at no-such-host\.invalid:6379 \("):
        probe("no-such-host.invalid:6379")
    with pytest.raises(XddError, match=r"with this port \(`--ray-client-server-port`, 10001 by default\)\?$"):
        probe(f"ray://127.0.0.1:{port}")  # Ray Client's server has a port of its own


@pytest.mark.ray
@pytest.mark.timeout(120)
def test_an_address_where_nothing_listens_stops_the_run_at_once_with_one_line(baseline_bundle_dir, tmp_path):
    """Ray alone retries such an address for over 5 minutes; the driver (a process without Ray running) stops."""
    source = tmp_path / "a.txt"
    source.write_text("Cao Lộc", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    address = f"127.0.0.1:{closed_port()}"
    argv = ["predict", "--model", str(baseline_bundle_dir), str(source), "--output", str(out), "--quiet",
            "--engine", "ray", "--address", address]  # fmt: skip
    began = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "xdd.training.cli", *argv], cwd=ROOT, capture_output=True, text=True,
                         timeout=100)  # fmt: skip
    assert time.monotonic() - began < 60, "the driver waited on Ray's retries"
    assert run.returncode == 2, run.stderr
    assert run.stderr.splitlines() == [f"xdd: error: cannot connect to the Ray cluster at {address}: nothing answers "
                                       f"at {address} (Connection refused); is `ray start --head` running there, "
                                       "with this port (`--port`, 6379 by default)?"]  # fmt: skip
    assert not out.exists()


def test_segments_and_order_hold_each_document_once():
    from xdd.models.errors import XddError
    from xdd.models.formats.inputs import InputDocument
    from xdd.models.predict import ray_engine

    batches = [[InputDocument(f"{b}-{n}", "src", "x" * 10) for n in range(3)] for b in range(5)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ray_engine, "SEGMENT_DOCS", 6)
        assert [len(segment) for segment in ray_engine._segments(batches)] == [2, 2, 1]
        patch.setattr(ray_engine, "SEGMENT_CHARS", 25)
        assert [len(segment) for segment in ray_engine._segments(batches)] == [1, 1, 1, 1, 1]
    rows = [{"index": i} for i in (1, 0, 2, 2, 4, 3)]  # out of order, one delivered twice
    assert [row["index"] for row in ray_engine.in_order(rows, 5)] == [0, 1, 2, 3, 4]
    with pytest.raises(XddError, match="Ray returned 2 of 3 documents"):
        list(ray_engine.in_order([{"index": 0}, {"index": 1}], 3))


@pytest.mark.ray
def test_each_batch_reaches_the_driver_as_soon_as_it_is_done(ray_instance, tmp_path):
    """The second batch waits for a file the driver writes only once it holds the first batch's rows.

    With Ray's default prefetch of one block, the driver would get the first
    rows only after the second batch had finished (here: timed out).
    """
    import ray
    from xdd.models.predict.ray_engine import rows_as_done

    released = tmp_path / "first-batch-received"

    def second_waits_for_the_driver(batch):
        import time

        deadline = time.monotonic() + 20
        while batch["id"][0] == 1 and not released.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return {"id": batch["id"], "released": [released.exists()] * len(batch["id"])}

    dataset = ray.data.range(2, override_num_blocks=2).map_batches(second_waits_for_the_driver, batch_size=1)
    rows = []
    for row in rows_as_done(dataset):
        released.touch()
        rows.append(row)
    assert sorted((row["id"], row["released"]) for row in rows) == [(0, False), (1, True)]
