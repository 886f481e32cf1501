"""Loading the pre-trained encoder and its tokenizer, or stopping with one clear message.

There is no silent fallback to random weights: when the backbone cannot be
loaded (no network, not in the cache, a bad path, ``HF_HUB_OFFLINE=1`` with
nothing cached) training stops before any work, naming the backbone and the
two remedies.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from xdd.models.errors import BackboneUnavailable
from xdd.models.nets.joint import encoder_kwargs


def unavailable_message(backbone: str, reason: str) -> str:
    offline = " (HF_HUB_OFFLINE is set)" if os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0") else ""
    return (
        f"cannot load backbone '{backbone}'{offline}: {reason}\n"
        "  Remedies:\n"
        f"  1. on a machine with network, download it (`huggingface-cli download {backbone}`) and copy the\n"
        "     Hugging Face cache here, or save it to a folder and point the config at it:\n"
        "     --set model.backbone=/path/to/local/model\n"
        "  2. for a smoke test without any download, build a small random PhoBERT-format model:\n"
        "     xdd init-model runs/tiny-model --shape tiny --corpus data/annotations\n"
        "     xdd train --config tiny-joint"
    )


def missing_folder_message(backbone: str) -> str:
    """A local backbone folder that does not exist: say so, and how to create it (no hub advice)."""
    return (
        f"cannot load backbone '{backbone}': no such folder ({Path(backbone).expanduser().absolute()})\n"
        "  Remedies:\n"
        "  1. for the tiny random model of the `tiny-joint` config (tests and smoke runs, NOT a trained model):\n"
        f"     xdd init-model {backbone} --shape tiny --corpus data/annotations\n"
        "  2. or create that folder from a downloaded model (`huggingface-cli download vinai/phobert-base\n"
        f"     --local-dir {backbone}` where there is network), or point --set model.backbone=... at one"
    )


def load_tokenizer(backbone: str) -> Any:
    """The backbone's tokenizer (PhoBERT's is the slow ``PhobertTokenizer``)."""
    from transformers import AutoTokenizer

    _check_local_path(backbone)
    try:
        return AutoTokenizer.from_pretrained(backbone, trust_remote_code=False)
    except (OSError, ValueError) as err:
        raise BackboneUnavailable(unavailable_message(backbone, _first_line(err))) from err


def load_encoder(backbone: str) -> Any:
    """The pre-trained encoder without task heads (pooler dropped where the class allows)."""
    from transformers import AutoConfig, AutoModel

    _check_local_path(backbone)
    try:
        config = AutoConfig.from_pretrained(backbone, trust_remote_code=False)
        return AutoModel.from_pretrained(backbone, trust_remote_code=False, **encoder_kwargs(config.model_type))
    except (OSError, ValueError) as err:
        raise BackboneUnavailable(unavailable_message(backbone, _first_line(err))) from err


def _check_local_path(backbone: str) -> None:
    """Fail fast on a missing folder, and on an uncached hub id when the hub is unreachable.

    Without the probe, transformers retries the download for about a minute
    before giving up.
    """
    if looks_local(backbone):
        if not Path(backbone).expanduser().is_dir():
            raise BackboneUnavailable(missing_folder_message(backbone))
        return
    if _in_cache(backbone) or os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0"):
        return  # transformers reads the cache, or says itself that offline mode found nothing
    from huggingface_hub import constants

    host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=5).close()
    except OSError as err:
        reason = f"not in the local Hugging Face cache and {host} cannot be reached ({err})"
        raise BackboneUnavailable(unavailable_message(backbone, reason)) from err


def looks_local(backbone: str) -> bool:
    """A folder rather than a hub id: an explicit path, not ``owner/name``, or under a folder that exists here.

    ``runs/`` (where xdd writes its own output, e.g. ``runs/tiny-model``)
    counts as local even before it exists.
    """
    first = backbone.split("/")[0]
    return (
        backbone.startswith((".", "/", "~"))
        or backbone.count("/") != 1
        or first == "runs"
        or Path(first).is_dir()
    )


def _in_cache(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
