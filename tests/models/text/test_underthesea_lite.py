"""underthesea without its optional pipelines: models/text/underthesea_lite.py.

Each case runs in a fresh interpreter, since what is tested is what an import
does to ``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys

SENTENCE = "Đồng chí Nguyễn Văn A, Bí thư Tỉnh ủy Cao Bằng, dự hội nghị. Hội nghị bế mạc."


def run_fresh(code: str) -> dict:
    """``code`` run in a new interpreter; it prints one JSON object, returned here."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_segmenting_imports_neither_transformers_nor_torch_and_leaves_sys_modules_clean() -> None:
    result = run_fresh(
        f"""
import json, sys
from xdd.models.text.segment import get_segmenter, sentence_starts
from xdd.models.text.underthesea_lite import OPTIONAL_PIPELINES
text = {SENTENCE!r}
words = get_segmenter("underthesea")(text)
print(json.dumps({{
    "words": [text[a:b] for a, b in words],
    "sentences": sentence_starts(text),
    "heavy": sorted(m for m in ("torch", "transformers") if m in sys.modules),
    "left_blocked": sorted(n for n in OPTIONAL_PIPELINES if n in sys.modules),
}}))
"""
    )
    assert result["heavy"] == []
    assert result["left_blocked"] == []  # later imports of them work as usual
    assert "Nguyễn Văn A" in result["words"] and "Bí thư" in result["words"]
    assert result["sentences"] == [0, SENTENCE.index("Hội nghị bế")]


def test_same_words_as_a_plain_underthesea_import() -> None:
    """The blocked pipelines change nothing that word_tokenize or sent_tokenize returns."""
    code = f"""
import json, sys{{before}}
from xdd.models.text.underthesea_lite import tokenizers
word_tokenize, sent_tokenize = tokenizers()
text = {SENTENCE!r}
print(json.dumps([word_tokenize(text), sent_tokenize(text), "transformers" in sys.modules]))
"""
    lite = run_fresh(code.format(before=""))
    plain = run_fresh(code.format(before="; import underthesea"))  # already imported: used as it is
    assert lite[:2] == plain[:2]
    assert (lite[2], plain[2]) == (False, True)
