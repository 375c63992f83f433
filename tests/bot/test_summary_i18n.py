"""The handoff summary and the console's words for codes, in English and Chinese: reason
labels, every string key the console's JS uses, and the summary (extractive and LLM)."""

from __future__ import annotations

import re
from pathlib import Path

from sqlmodel import col, update

from relaydesk.api.app import create_app
from relaydesk.bot import policy, summary
from relaydesk.bot.summary import REASON_CODES, extractive_summary, reason_label
from relaydesk.conversations import hooks, transitions
from relaydesk.conversations import service as conversations
from relaydesk.conversations.models import ConversationStatus, SenderKind
from relaydesk.conversations.service import BOT, Actor
from relaydesk.core.db import Database
from relaydesk.core.i18n import MESSAGES, SUPPORTED, message
from relaydesk.core.models import Site
from relaydesk.sites import service as sites
from relaydesk.testing.llm_standin import LLMStandIn, Reply
from relaydesk.widget import events as widget_events
from tests.factories import make_site

CONSOLE_SRC = Path(__file__).resolve().parents[2] / "console" / "src"
ALL_CODES = [*REASON_CODES, "keyword:refund"]


def test_reason_codes_are_the_ones_the_bot_and_widget_record() -> None:
    assert set(REASON_CODES) == {
        policy.VISITOR_ASKED,
        policy.LOW_CONFIDENCE,
        policy.FRUSTRATION,
        widget_events.VISITOR_REQUEST,
    }


def test_reason_labels_in_both_languages() -> None:
    for code in ALL_CODES:
        en, zh = reason_label(code, "en"), reason_label(code, "zh")
        assert en and zh and en != zh, code
        # A label is words, never the code itself.
        assert code not in en and code not in zh
        assert not re.search(r"[A-Za-z_]{4,}", zh.replace("refund", "")), zh
    assert reason_label("keyword:退款", "zh") == "访客提到了“退款”"
    assert reason_label("keyword:refund", "en") == "Visitor mentioned “refund”"
    assert reason_label("visitor_asked", "zh") == "访客要求转人工"
    assert reason_label("frustration", "en") == "Visitor seemed frustrated"
    # A code from a newer server still reads as a label, with the code for reference.
    assert reason_label("supervisor_pulled", "zh") == "其他（supervisor_pulled）"
    assert reason_label(None, "en") == "Other (unknown)"
    # A keyword with braces is shown as written, never treated as a placeholder.
    assert reason_label("keyword:{code}", "en") == "Visitor mentioned “{code}”"
    # An unsupported locale falls back to English.
    assert reason_label("low_confidence", "fr") == reason_label("low_confidence", "en")


def _js_keys() -> tuple[set[str], set[str]]:
    """Every quoted string key (passed to `t`, `tf` or a helper that calls them), and the
    fixed prefixes of template keys such as `console.status.${status}`."""
    literal: set[str] = set()
    prefixes: set[str] = set()
    for path in CONSOLE_SRC.glob("*.js"):
        source = path.read_text(encoding="utf-8")
        literal |= set(
            re.findall(r"[\"'`]((?:console|app|lang)\.[a-z0-9_.]*[a-z0-9_])[\"'`]", source)
        )
        prefixes |= set(re.findall(r"`((?:console|app|lang)\.[a-z0-9_.]*\.)\$\{", source))
    return literal, prefixes


def test_every_key_the_console_js_uses_exists_in_both_languages() -> None:
    create_app()  # registers every feature module's strings
    literal, prefixes = _js_keys()
    assert len(literal) > 80 and "console.summary.asked" in literal
    for locale in SUPPORTED:
        missing = sorted(k for k in literal if k not in MESSAGES[locale])
        assert not missing, (locale, missing)
    # Template keys (`console.status.${status}` …): every value the server can send.
    families = {
        "console.status.": [s.value for s in ConversationStatus],
        "console.sender.": [k.value for k in SenderKind],
        "console.reason.": list(REASON_CODES),
        "console.availability.": ["online", "away", "offline"],
        "console.lang.": list(SUPPORTED),
        "console.view.": ["queue", "mine", "team", "all", "resolved"],
        "console.kb.status.": ["draft", "published", "archived"],
        "console.conv.": ["accept", "resolve", "reopen", "hand_back"],
        "console.routing.": ["auto", "manual"],
        "console.errors.": ["already_assigned", "forbidden", "illegal_transition", "internal"],
    }
    for prefix in prefixes:
        assert any(k.startswith(prefix) for k in MESSAGES["en"]), prefix
        for value in families.get(prefix, []):
            for locale in SUPPORTED:
                assert f"{prefix}{value}" in MESSAGES[locale], (locale, prefix, value)
    # Every console string exists in both languages, and the Chinese ones are Chinese.
    en = {k for k in MESSAGES["en"] if k.startswith("console.")}
    zh = {k for k in MESSAGES["zh"] if k.startswith("console.")}
    assert en == zh
    new = [
        k for k in en if k.startswith(("console.reason.", "console.sender.", "console.summary."))
    ]
    assert len(new) >= 16
    assert all(MESSAGES["zh"][k] != MESSAGES["en"][k] for k in new)


def test_message_fills_placeholders_like_the_console() -> None:
    assert message("zh", "console.ago.m", n="5") == "5分钟"
    assert message("en", "console.ago.h", n="2") == "2h"
    assert message("en", "console.reason.keyword") == "Visitor mentioned “{keyword}”"


DETAILS = {
    "questions": ["退款多久到账？", "I was charged twice"],
    "answers": [
        {"text": "5 个工作日内原路退回 [1]", "action": "answer", "sources": ["退款", None, "运费"]},
        {"text": "Sorry, I am not sure.", "action": "clarify", "sources": []},
    ],
    "reason": "visitor_asked",
}


def test_extractive_summary_in_both_languages() -> None:
    zh = extractive_summary(DETAILS, "zh").splitlines()
    assert zh == [
        "访客提问：“退款多久到账？” / “I was charged twice”",
        "机器人回答：“5 个工作日内原路退回 [1]”（来源：退款、运费）",
        "转人工原因：访客要求转人工。",
    ]
    en = extractive_summary(DETAILS, "en").splitlines()
    assert en == [
        'Visitor asked: "退款多久到账？" / "I was charged twice"',
        'Bot answered: "5 个工作日内原路退回 [1]" (sources: 退款, 运费)',
        "Handed off: Visitor asked for a person.",
    ]
    nothing = {**DETAILS, "answers": [], "reason": "keyword:refund"}
    assert extractive_summary(nothing, "zh").splitlines()[1:] == [
        "机器人没有从知识库中给出答案。",
        "转人工原因：访客提到了“refund”。",
    ]


async def _handed_off(db: Database, site: Site) -> str:
    """A conversation where the visitor asked, the bot answered with a source, and the
    visitor asked for a person (stored directly: no bot turn runs in this test)."""
    hooks.clear_hooks()
    assert site.id is not None
    visitor = await sites.create_visitor(db, site_id=site.id, locale="zh")
    conversation, _ = await conversations.open_conversation(
        db, site_id=site.id, visitor_id=visitor.id
    )
    await conversations.send_message(
        db,
        conversation_id=conversation.id,
        sender=Actor.visitor(visitor.id),
        client_id="v-1",
        text="退款多久到账？",
    )
    await conversations.send_message(
        db,
        conversation_id=conversation.id,
        sender=BOT,
        client_id="b-1",
        text="5 个工作日内原路退回 [1]",
        payload={
            "action": "answer",
            "citations": [{"n": 1, "entry_id": "refund", "title": "退款", "url": None}],
        },
    )
    await transitions.request_handoff(
        db, conversation_id=conversation.id, actor=BOT, reason="keyword:退款"
    )
    return conversation.id


async def _site(db: Database, locale: str) -> Site:
    site = await make_site(db)
    async with db.write() as session:
        await session.execute(
            update(Site).where(col(Site.id) == site.id).values(default_locale=locale)
        )
    assert site.id is not None
    return await sites.get_site(db, site.id)


async def test_stored_summary_follows_the_sites_language(db: Database) -> None:
    for locale, first_line, reason in (
        ("zh-CN", "访客提问：“退款多久到账？”", "转人工原因：访客提到了“退款”。"),
        ("en", 'Visitor asked: "退款多久到账？"', "Handed off: Visitor mentioned “退款”."),
    ):
        site = await _site(db, locale)
        cid = await _handed_off(db, site)
        conversation = await conversations.get_conversation(db, cid)
        row = await summary.summarise(db, conversation=conversation)
        lines = row.text.splitlines()
        assert lines[0] == first_line and lines[-1] == reason
        # The details stay language-neutral data the console renders in its own language.
        assert row.details["questions"] == ["退款多久到账？"]
        assert row.details["answers"][0]["sources"] == ["退款"]
        assert row.details["reason"] == "keyword:退款"
        assert row.details["locale"] == locale[:2]
        assert row.details["generated_by"] == "extractive"


async def test_llm_summary_is_asked_for_in_the_sites_language(
    db: Database, llm: LLMStandIn
) -> None:
    llm.always(Reply("访客想知道退款多久到账；机器人引用了《退款》；访客提到了“退款”。"))
    site = await _site(db, "zh")
    cid = await _handed_off(db, site)
    row = await summary.summarise(db, conversation=await conversations.get_conversation(db, cid))
    assert row.details["generated_by"] == "llm"
    assert row.text.startswith("访客想知道退款多久到账")
    system, human = llm.requests[-1]["messages"][:2]
    assert "Simplified Chinese" in system["content"] and "without translating" in system["content"]
    # The reason goes to the model in the same language, and the transcript as data.
    assert "访客提到了“退款”" in human["content"] and "退款多久到账？" in human["content"]

    english = await _site(db, "en")
    cid = await _handed_off(db, english)
    await summary.summarise(db, conversation=await conversations.get_conversation(db, cid))
    assert "written in English" in llm.requests[-1]["messages"][0]["content"]
