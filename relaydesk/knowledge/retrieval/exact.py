"""Exact phrasings: a query that is, word for word, a phrasing an FAQ entry lists.

Such a query is answered with that entry (index.py): the help center's own words are
never "not sure" (issue 17). Chinese confidence is BM25's lexical model, and it put 28 of
the demo help center's 131 Chinese phrasings under the bar (怎么退货？ 0.65, 什么时候发货
0.07), which is what a visitor clicking a suggested question got. Only a phrasing listed
by exactly one entry counts: when two entries list it, the normal path decides. On the dev
datasets the rule answers their duplicates (a query that is another entry's text word for
word) with the entry that lists it: docs/retrieval.md section 9 has the count and cases.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from .chunks import KIND_QUESTION, KIND_TITLE, Chunk

# An exact phrasing's confidence, at least: above any sane bar (the default is 0.86),
# under 1.0 so that a bar of 1.0 still means "never answer".
EXACT_PHRASING_CONFIDENCE = 0.99
# Listed phrasings: an FAQ entry's questions and title. Article passages and their
# question headings are not a phrasing the help center lists as a question of its own.
_KINDS = frozenset((KIND_QUESTION, KIND_TITLE))
# A key listed by two entries: nobody's exact phrasing.
SHARED = -1


def phrasing_key(text: str) -> str:
    """`text` as an exact phrasing: NFKC (full-width forms become half-width), casefolded,
    without whitespace and punctuation. Nothing else is dropped (吗/呢 stay): two texts
    with one key are the same question word for word."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(
        c for c in folded if not c.isspace() and not unicodedata.category(c).startswith("P")
    )


def phrasing_table(chunks: Sequence[Chunk]) -> dict[str, int]:
    """Each listed phrasing's key -> its chunk's position in `chunks`, or SHARED when two
    entries list it. Built with every index snapshot, so it follows every edit."""
    table: dict[str, int] = {}
    for position, chunk in enumerate(chunks):
        if chunk.metadata.get("kind") not in _KINDS:
            continue
        key = phrasing_key(chunk.text)
        if not key:
            continue
        owner = table.get(key)
        if owner is None:
            table[key] = position
        elif owner != SHARED and chunks[owner].entry_id != chunk.entry_id:
            table[key] = SHARED
    return table


def lookup(table: dict[str, int], query: str) -> int:
    """The position of the chunk `query` is word for word, or SHARED (-1) for none."""
    return table.get(phrasing_key(query), SHARED)
