"""Search over encrypted text: a keyed blind index of tokens.

The staff search box (the inbox's `q`, visitors by name or email) cannot run LIKE over
ciphertext. Instead every searchable value gets a row in `search_index` holding the
HMAC-SHA256, under the index key (never the data keys, so rotation leaves the index
alone), of each of its normalised tokens, truncated to 48 bits and space-separated. A
search computes the same HMACs of the query's tokens and asks for rows holding all of them
(`tokens LIKE '% <hash> %'` for each), on the same scan the plaintext LIKE used to make.

Tokens (after NFKC and case folding):
- words (letters, digits, `_`): every prefix of 1 to PREFIX_CHARS characters, so a query
  word matches words it begins (`ord` finds `order`, `4` finds `42`); not the middle of a
  word, which the plaintext search used to match;
- CJK runs: every character and every pair of neighbouring characters. A query run is
  looked up by its pairs, which matches it wherever it occurs as a substring (and, rarely,
  where the same pairs occur apart). jieba would give fewer tokens, but it segments a
  query and the message containing it differently often enough (the retrieval module has
  the figures) that a search for a word the visitor typed would miss.

What the index reveals to someone holding the database but not the keys: which rows share
a token (or a word prefix), and so how often tokens recur (frequency analysis), and each
row's token count. Not the tokens themselves.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

from relaydesk.core.crypto import Keyring, keyring

PREFIX_CHARS = 12
DIGEST_HEX = 12
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_RUNS = re.compile(rf"([{_CJK}]+)|([^\W{_CJK}]+)")


def normalise(text: str) -> str:
    if text.isascii():
        return text.lower()  # what NFKC and casefold give ASCII, at a fraction of the cost
    return unicodedata.normalize("NFKC", text).casefold()


def index_tokens(text: str) -> set[str]:
    tokens: set[str] = set()
    for cjk, word in _RUNS.findall(normalise(text)):
        if cjk:
            tokens.update(cjk)
            tokens.update(cjk[i : i + 2] for i in range(len(cjk) - 1))
        else:
            for end in range(1, min(len(word), PREFIX_CHARS) + 1):
                tokens.add(word[:end])
    return tokens


def query_tokens(text: str) -> list[str]:
    tokens: list[str] = []
    for cjk, word in _RUNS.findall(normalise(text)):
        if cjk:
            pairs = [cjk[i : i + 2] for i in range(len(cjk) - 1)]
            tokens.extend(pairs or [cjk])
        else:
            tokens.append(word[:PREFIX_CHARS])
    return list(dict.fromkeys(tokens))


# Per index key, the digests of tokens seen: words recur, and an HMAC costs more than
# everything else the index does with a token. Bounded by clearing.
_digests: dict[bytes, dict[str, str]] = {}
CACHED_DIGESTS = 200_000


def _cache(index_key: bytes) -> dict[str, str]:
    cache = _digests.get(index_key)
    if cache is None or len(cache) > CACHED_DIGESTS:
        cache = _digests[index_key] = {}
    return cache


def _digest(index_key: bytes, token: str) -> str:
    return hmac.new(index_key, token.encode(), hashlib.sha256).hexdigest()[:DIGEST_HEX]


def digest(token: str, ring: Keyring | None = None) -> str:
    return _digest((ring or keyring()).index_key, token)


def index_string(*texts: str | None, ring: Keyring | None = None) -> str:
    """The `tokens` column of a value's row: its token hashes, space-delimited at both ends
    so that each one can be matched whole with LIKE."""
    key = (ring or keyring()).index_key
    cache = _cache(key)
    tokens: set[str] = set()
    for text in texts:
        if text:
            tokens |= index_tokens(text)
    digests = []
    for token in tokens:
        found = cache.get(token)
        if found is None:
            found = cache[token] = _digest(key, token)
        digests.append(found)
    return " " + " ".join(digests) + " "


def query_patterns(text: str, ring: Keyring | None = None) -> list[str]:
    """One LIKE pattern per query token (hex digests hold no LIKE wildcards)."""
    key = (ring or keyring()).index_key
    return [f"% {_digest(key, t)} %" for t in query_tokens(text)]
