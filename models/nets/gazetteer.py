"""A gazetteer of Vietnamese administrative units, read at run time from ``vietnam_provinces``.

The names come from the installed package ``vietnam_provinces`` (GPL-3.0, a
run-time dependency, like underthesea): its flat list of wards, communes and
special zones with their provinces (the 2025 administrative map: 34
provinces and centrally-run cities, about 3,300 wards and communes, no
districts).  None of its data is copied into this repository; it is read from
``vietnam_provinces.FLAT_DIVISIONS_JSON_PATH`` once per process
(:func:`gazetteer`, cached).

A name is the division's name without its unit-type prefix ("Phường ",
"Xã ", "Tỉnh ", "Thành phố ", "Tp ", "Đặc khu " ...) and without the numbers
that tell numbered wards apart ("Phường Móng Cái 1" -> "Móng Cái"; "Phường 1"
gives no name).  Names are matched on syllables with
:class:`xdd.models.nets.lexicons.PhraseMatcher`, so any segmenter, either tone
convention and NFD input find them; as proper names they match only
capitalised syllables (the CRF's ``gaz`` features, :mod:`xdd.models.nets.crf`).
"""

from __future__ import annotations

import json
import re
from functools import cache

from xdd.models.nets.lexicons import PhraseMatcher, split_syllables

UNIT_PREFIX = re.compile(
    r"^(?:thành phố|tp\.?|tỉnh|phường|xã|thị trấn|thị xã|đặc khu|quận|huyện)\s+", re.IGNORECASE
)


def place_name(division: str) -> str:
    """A division's name without its unit-type prefix and numbers: ``"Phường Móng Cái 1"`` -> ``"Móng Cái"``."""
    name = UNIT_PREFIX.sub("", division.strip())
    return " ".join(s for s in name.split() if not s.isdigit())


def division_names() -> list[str]:
    """Every province and ward/commune name of ``vietnam_provinces``' data, prefixes stripped, deduplicated."""
    import vietnam_provinces

    with open(vietnam_provinces.FLAT_DIVISIONS_JSON_PATH, encoding="utf-8") as handle:
        divisions = json.load(handle)
    names = {place_name(d["name"]) for d in divisions} | {place_name(d["province_name"]) for d in divisions}
    return sorted(n for n in names if split_syllables(n))


def gazetteer_version() -> str:
    """The data the gazetteer is built from, e.g. ``"vietnam_provinces 2025.10.1"``."""
    import vietnam_provinces

    return f"vietnam_provinces {getattr(vietnam_provinces, '__version__', 'unknown')}"


@cache
def gazetteer() -> PhraseMatcher:
    """The place-name matcher, built once per process (a few tens of milliseconds)."""
    return PhraseMatcher(division_names())

