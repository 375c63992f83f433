"""An FAQ entry's own listed phrasing, asked word for word, is answered with that entry
(retrieval/exact.py); the table follows every edit, and a phrasing two entries list
belongs to neither."""

from __future__ import annotations

from collections.abc import Sequence

from relaydesk.knowledge.retrieval.chunks import Chunk, faq_entry_chunks
from relaydesk.knowledge.retrieval.exact import EXACT_PHRASING_CONFIDENCE, phrasing_key
from relaydesk.knowledge.retrieval.index import HybridIndex


def _entry(entry_id: str, title: str, questions: Sequence[str], answer: str) -> list[Chunk]:
    return faq_entry_chunks(
        entry_id, title=title, questions=list(questions), answer=answer, metadata={"locale": "zh"}
    )


SHIPPING = ("shipping", "发货时间", ["什么时候发货", "多久能发出"], "付款后 24 小时内发出。")
RETURNS = ("returns", "怎么退货？", ["我想退货", "可以退吗"], "30 天内可以退货，运费由我们承担。")
DELIVERY = ("delivery", "配送要多久？", ["几天能到", "快递多久到"], "国内 2-4 个工作日送达。")


def _index(*entries: tuple[str, str, list[str], str]) -> HybridIndex:
    index = HybridIndex(None, cjk_encoder=None)  # lexical only: the rule needs no model
    index.upsert(chunk for entry in entries for chunk in _entry(*entry))
    return index


def test_the_key_ignores_width_case_space_and_punctuation_but_not_particles() -> None:
    assert phrasing_key("怎么退货？") == phrasing_key(" 怎么 退货?") == "怎么退货"
    assert (
        phrasing_key("Ｗhere is my ORDER?!")
        == phrasing_key("where is my order")
        == ("whereismyorder")
    )
    assert phrasing_key("「退款」多久到账。") == "退款多久到账"
    assert phrasing_key("怎么退货吗") != phrasing_key("怎么退货")
    assert phrasing_key("？？ ...") == ""


def test_an_exact_phrasing_is_first_and_sure() -> None:
    index = _index(SHIPPING, RETURNS, DELIVERY)
    for query, entry in [
        ("什么时候发货", "shipping"),
        ("什么时候发货？", "shipping"),
        ("发货时间", "shipping"),  # the title is a listed phrasing too
        ("怎么退货?", "returns"),
        ("快递 多久到！", "delivery"),
    ]:
        assert index.exact_entry(query) == entry
        top = index.search(query, 3)[0]
        assert (top.entry_id, top.confidence >= EXACT_PHRASING_CONFIDENCE) == (entry, True)
        assert phrasing_key(top.text) == phrasing_key(query)  # the phrasing it matched
    # Not word for word: the normal path, no exact entry.
    assert index.exact_entry("什么时候发货呢") is None
    assert index.exact_entry("30 天内可以退货，运费由我们承担。") is None  # an answer
    assert index.exact_entry("") is None


def test_the_table_follows_edits() -> None:
    index = _index(SHIPPING, RETURNS, DELIVERY)
    assert index.exact_entry("多久能发出") == "shipping"

    # The phrasing is removed from its entry: no longer an exact hit.
    edited = ("shipping", "发货时间", ["什么时候发货"], "付款后 24 小时内发出。")
    index.upsert(_entry(*edited))
    assert index.exact_entry("多久能发出") is None
    assert index.exact_entry("什么时候发货") == "shipping"

    # A phrasing added to an entry is one from the next search on.
    index.upsert(_entry("delivery", "配送要多久？", ["几天能到", "多久能发出"], "2-4 天。"))
    assert index.exact_entry("多久能发出") == "delivery"

    # A deleted entry's phrasings are nobody's.
    index.delete_entries(["returns"])
    assert index.exact_entry("我想退货") is None
    assert all(h.entry_id != "returns" for h in index.search("我想退货", 3))

    # Rebuilt whole from other chunks.
    index.replace_all(_entry(*RETURNS))
    assert index.exact_entry("什么时候发货") is None
    assert index.exact_entry("可以退吗") == "returns"


def test_a_phrasing_two_entries_list_falls_back_to_the_normal_path() -> None:
    shared = ("exchange", "换货", ["我想退货", "可以换尺码吗"], "可以换成其他尺码。")
    index = _index(SHIPPING, RETURNS, shared)
    assert index.exact_entry("我想退货") is None
    assert index.exact_entry("可以换尺码吗") == "exchange"
    # The second entry drops it: the phrasing is the first entry's alone again.
    index.upsert(_entry("exchange", "换货", ["可以换尺码吗"], "可以换成其他尺码。"))
    assert index.exact_entry("我想退货") == "returns"
    # One entry listing a phrasing twice (a question equal to its title) still owns it.
    twice = _index(("twice", "怎么退货", ["怎么退货？", "退货流程"], "见退货页。"), SHIPPING)
    assert twice.exact_entry("怎么退货") == "twice"
