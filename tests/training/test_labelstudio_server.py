"""The whole annotation loop against a real Label Studio (marker ``labelstudio``, run by .ci/run).

``xdd suggest`` → a Label Studio project made with ``xdd labelstudio-config``
→ tasks imported through the REST API → the predictions read back as
pre-annotations → annotations submitted from them (one corrected) → the
project exported → ``xdd corpus add`` → ``xdd validate``.

Label Studio is large (about 1 GB installed), so it lives in its own virtual
environment outside the repository, ``$XDD_LABELSTUDIO_VENV`` (default
``/tmp/xdd-labelstudio-venv``), installed by the first run and reused after
(``.xdd-installed`` marks a complete install).  The server listens on
127.0.0.1 on a free port, with its SQLite default in a temporary data folder,
one user and a legacy API token (``Authorization: Token ...``; Label Studio
>= 1.21 turns legacy tokens off for new organisations unless
``LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN`` is set).  Its prediction validation
is switched on (feature flag ``fflag_feat_utc_210_prediction_validation_15082025``),
so an import whose results do not match the labelling config fails.  Error
reporting, telemetry and the version check are off: nothing leaves the
machine.  The server's whole process group is stopped when the tests end,
whatever happens.

An install that fails fails the test, saying why; the test skips only when
the package registry has no ``label-studio`` at all.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support import REPO
from xdd.models.document.corpus import read_documents
from xdd.training.cli import main
from xdd.training.simulate_annotation import synthetic_pool

pytestmark = [pytest.mark.labelstudio, pytest.mark.timeout(3600)]

GOLD = REPO / "data" / "annotations"
VENV = Path(os.environ.get("XDD_LABELSTUDIO_VENV", "/tmp/xdd-labelstudio-venv"))
REQUIREMENT = os.environ.get("XDD_LABELSTUDIO_REQUIREMENT", "label-studio")
INSTALLED = VENV / ".xdd-installed"
INSTALL_TIMEOUT_S = 1800  # about 1 GB of wheels
START_TIMEOUT_S = 420  # the first start runs every database migration (about 90 s on 2 cores)
VALIDATION_FLAG = "fflag_feat_utc_210_prediction_validation_15082025"


# --- installing -------------------------------------------------------------------


def _run(command: list[str], timeout: int) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _install() -> None:
    """Create the venv and pip-install Label Studio; fail (or skip if the registry lacks it) saying why."""
    python = VENV / "bin" / "python"
    if not python.exists():
        made = _run([sys.executable, "-m", "venv", "--clear", str(VENV)], timeout=300)
        if made.returncode:
            pytest.fail(f"cannot create the Label Studio venv {VENV}:\n{_tail(made.stderr)}")
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "--no-input", "install", "--timeout", "60",
           "--retries", "5", "--progress-bar", "off"]  # fmt: skip
    try:
        done = _run([*pip, REQUIREMENT], timeout=INSTALL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`pip install {REQUIREMENT}` into {VENV} took over {INSTALL_TIMEOUT_S} s; "
                    "a slow or unreachable package registry? rerun, or install it by hand (see this file)")  # fmt: skip
    if done.returncode:
        output = done.stdout + done.stderr
        if "No matching distribution found" in output or "Could not find a version" in output:
            pytest.skip(f"the package registry offers no {REQUIREMENT!r} for this Python:\n{_tail(output, 5)}")
        pytest.fail(f"`pip install {REQUIREMENT}` into {VENV} failed (exit {done.returncode}):\n{_tail(output)}")
    INSTALLED.write_text(REQUIREMENT + "\n", encoding="utf-8")


@pytest.fixture(scope="session")
def label_studio_exe() -> Path:
    """The ``label-studio`` script of the cached venv, installed first if needed."""
    exe = VENV / "bin" / "label-studio"
    if not (INSTALLED.is_file() and exe.is_file()):
        _install()
    if not exe.is_file():
        pytest.fail(f"{exe} is missing after installing {REQUIREMENT}; delete {VENV} and rerun")
    return exe


# --- the server ----------------------------------------------------------------------


@dataclass
class LabelStudio:
    """A running server and the token of its one user."""

    url: str
    token: str
    log: Path

    def call(self, method: str, path: str, body: Any = None, timeout: float = 120) -> Any:
        """One REST call; a non-2xx answer fails the test with the server's words and its log's tail."""
        status, answer = self.answer(method, path, body, timeout)
        if not 200 <= status < 300:
            pytest.fail(f"Label Studio: {method} {path} -> HTTP {status}: {str(answer)[:3000]}\n--- server log ---\n"
                        f"{_tail(self.log.read_text(encoding='utf-8', errors='replace'))}")  # fmt: skip
        return answer

    def answer(self, method: str, path: str, body: Any = None, timeout: float = 120) -> tuple[int, Any]:
        """``(HTTP status, parsed JSON or text)`` of one REST call, errors included."""
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authorization": f"Token {self.token}", "Content-Type": "application/json",
        })  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        try:
            return status, json.loads(raw) if raw else None
        except json.JSONDecodeError:
            return status, raw.decode("utf-8", "replace")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_env(data: Path, token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABEL_STUDIO_", "DJANGO_"))}
    env.update({
        "LABEL_STUDIO_BASE_DATA_DIR": str(data), "LABEL_STUDIO_USERNAME": "xdd-test@example.com",
        "LABEL_STUDIO_PASSWORD": secrets.token_urlsafe(16), "LABEL_STUDIO_USER_TOKEN": token,
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true", "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
        VALIDATION_FLAG: "true",
        # nothing leaves the machine: no error reports, analytics or version check
        "SENTRY_DSN": "", "FRONTEND_SENTRY_DSN": "", "COLLECT_ANALYTICS": "false", "LATEST_VERSION_CHECK": "false",
    })  # fmt: skip
    return env


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"Label Studio exited with {process.returncode} while starting:\n"
                        f"{_tail(log.read_text(encoding='utf-8', errors='replace'))}")  # fmt: skip
        try:
            with urllib.request.urlopen(url + "/health", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(2)
    pytest.fail(f"Label Studio did not answer on {url}/health within {START_TIMEOUT_S} s:\n"
                f"{_tail(log.read_text(encoding='utf-8', errors='replace'))}")  # fmt: skip


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the server's process group, SIGKILL after 20 s."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def label_studio(label_studio_exe: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabelStudio]:
    """A Label Studio server on 127.0.0.1 with a fresh SQLite database, stopped at the end whatever happens."""
    folder = tmp_path_factory.mktemp("label-studio")
    data, log = folder / "data", folder / "server.log"
    token = secrets.token_hex(20)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(label_studio_exe), "start", "--no-browser", "--internal-host", "127.0.0.1", "--port", str(port),
               "--data-dir", str(data)]  # fmt: skip
    with log.open("w", encoding="utf-8") as handle:
        process = subprocess.Popen(command, env=_server_env(data, token), stdout=handle, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, cwd=folder, start_new_session=True)  # fmt: skip
    try:
        _wait_until_up(url, process, log)
        yield LabelStudio(url, token, log)
    finally:
        _stop(process)


# --- the loop ----------------------------------------------------------------------------


def xdd(capsys: pytest.CaptureFixture, *args: str) -> str:
    """Run an xdd command in-process; fail with its stderr unless it exits 0; its standard output."""
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == 0, f"xdd {' '.join(args)} exited {code}:\n{err}"
    return out


def region_key(result: dict) -> tuple:
    value = result["value"]
    return (result["from_name"], result["to_name"], result["type"], value["start"], value["end"],
            tuple(value.get("labels") or value.get("choices") or ()))  # fmt: skip


def list_tasks(server: LabelStudio, project: int) -> list[dict]:
    answer = server.call("GET", f"/api/tasks?project={project}&page_size=1000&fields=all")
    return answer["tasks"] if isinstance(answer, dict) else answer


def test_suggested_tasks_go_through_label_studio_and_come_back_into_the_corpus(
    label_studio: LabelStudio, baseline_bundle_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
):
    gold = read_documents(GOLD)
    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in synthetic_pool(gold, 8, seed=5)),
                    encoding="utf-8")  # fmt: skip
    corpus = tmp_path / "corpus"
    shutil.copytree(GOLD, corpus)
    files = {"document": tmp_path / "documents.json", "paragraph": tmp_path / "paragraphs.json"}
    for unit, out in files.items():
        xdd(capsys, "suggest", "--model", str(baseline_bundle_dir), str(pool), "--k", "2", "--unit", unit,
            "--corpus", str(corpus), "--out", str(out), "--quiet")  # fmt: skip
    suggested = [task for out in files.values() for task in json.loads(out.read_text(encoding="utf-8"))]
    config = xdd(capsys, "labelstudio-config", "--corpus", str(corpus))

    # A project with our labelling config; predictions of the bundle's version are the pre-annotations.
    project = label_studio.call("POST", "/api/projects", {
        "title": "xdd suggest", "label_config": config, "show_collab_predictions": True,
    })  # fmt: skip
    pid = project["id"]

    # Label Studio checks predictions against the config: a control or label it does not declare is refused.
    spoiled = json.loads(json.dumps(suggested[:1]))
    next(r for r in spoiled[0]["predictions"][0]["result"] if r["from_name"] == "label")["value"]["labels"] = ["MISC"]
    status, answer = label_studio.answer("POST", f"/api/projects/{pid}/import", spoiled)
    assert status == 400 and "MISC" in json.dumps(answer), (status, answer)
    assert list_tasks(label_studio, pid) == []

    imported = label_studio.call("POST", f"/api/projects/{pid}/import", suggested)
    assert imported.get("task_count") == len(suggested), imported
    tasks = {t["data"]["id"]: t for t in list_tasks(label_studio, pid)}
    assert set(tasks) == {t["data"]["id"] for t in suggested}

    # Label Studio holds each prediction as we wrote it, ready to pre-annotate its task.
    for ours in suggested:
        task = tasks[ours["data"]["id"]]
        assert task["data"]["text"] == ours["data"]["text"]
        (stored,) = label_studio.call("GET", f"/api/predictions?task={task['id']}")
        (prediction,) = ours["predictions"]
        assert stored["model_version"] == prediction["model_version"] == "baselines"
        assert stored["score"] == pytest.approx(prediction["score"])
        assert sorted(map(region_key, stored["result"])) == sorted(map(region_key, prediction["result"]))
    versions = label_studio.call("GET", f"/api/projects/{pid}/model-versions")
    assert "baselines" in json.dumps(versions), versions

    # The annotator accepts each pre-annotation; on the first task, corrects one entity's label first.
    corrected_id = suggested[0]["data"]["id"]
    for doc_id, task in tasks.items():
        (stored,) = label_studio.call("GET", f"/api/predictions?task={task['id']}")
        result = [{k: v for k, v in region.items() if k != "score"} for region in stored["result"]]
        if doc_id == corrected_id:
            entity = next(r for r in result if r["from_name"] == "label")
            entity["value"]["labels"] = ["DOCUMENT" if entity["value"]["labels"] != ["DOCUMENT"] else "DATE"]
            corrected = (entity["value"]["start"], entity["value"]["end"], entity["value"]["labels"][0])
        label_studio.call("POST", f"/api/tasks/{task['id']}/annotations",
                          {"result": result, "was_cancelled": False, "lead_time": 12.5})  # fmt: skip

    export = label_studio.call("GET", f"/api/projects/{pid}/export?exportType=JSON&download_all_tasks=true")
    assert len(export) == len(suggested) and all(t["annotations"] for t in export)
    exported = tmp_path / "export.json"
    exported.write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")

    before = sorted(p.name for p in corpus.iterdir())
    xdd(capsys, "corpus", "add", str(exported), "--to", str(corpus), "--name", "from-label-studio")
    assert sorted(p.name for p in corpus.iterdir()) == sorted([*before, "from-label-studio.jsonl"])
    xdd(capsys, "validate", str(corpus))
    added = {d.id: d for d in read_documents(corpus / "from-label-studio.jsonl")}
    assert set(added) == set(tasks)
    fixed = added[corrected_id]
    assert (corrected[0], corrected[1], corrected[2]) in [(e.start, e.end, e.label) for e in fixed.entities]
    assert all(e.score is None for d in added.values() for e in d.entities)
    by_unit = {t["data"]["id"]: t for t in suggested}
    for doc_id, doc in added.items():
        assert doc.text == by_unit[doc_id]["data"]["text"]
        assert doc.meta["source"] == by_unit[doc_id]["data"]["source"]
    # Adding the same export again is refused as duplicates, and changes nothing.
    assert main(["corpus", "add", str(exported), "--to", str(corpus)]) == 1
    assert "duplicate id" in capsys.readouterr().err
    assert sorted(p.name for p in corpus.iterdir()) == sorted([*before, "from-label-studio.jsonl"])
