"""A small hand-made English + Chinese FAQ for the bot's tests."""

from __future__ import annotations

from relaydesk.knowledge.retrieval.chunks import Chunk, faq_entry_chunks

FAQ: list[tuple[str, str, list[str], str, str]] = [
    (
        "card-arrival",
        "When will my card arrive?",
        ["My card still hasn't arrived", "How long does card delivery take?"],
        "Cards arrive within 5 working days after you order them. You can follow the "
        "delivery in the app under Cards.",
        "en",
    ),
    (
        "reset-password",
        "Reset your password",
        ["I forgot my password", "How can I change my login password?"],
        "Use 'Forgot password' on the sign-in page. We email you a reset link that is "
        "valid for one hour.",
        "en",
    ),
    (
        "exchange-rate",
        "Exchange rates",
        ["What exchange rate do you use?", "Why was I charged a different exchange rate?"],
        "We use the interbank exchange rate at the moment of payment, plus 0.5% on weekends.",
        "en",
    ),
    (
        "refunds",
        "Refunds",
        ["I want my money back for a purchase", "How do I get a refund for a purchase?"],
        "Refunds go back to the original payment method within 10 days.",
        "en",
    ),
    (
        "zh-repayment-card",
        "更换还款银行卡",
        ["怎么更换绑定的还款银行卡", "还款卡可以换吗"],
        "在App的“设置-银行卡”里可以更换还款银行卡，更换后下一期生效。",
        "zh",
    ),
    (
        "zh-limit",
        "借款额度",
        ["为什么我的借款额度降低了", "怎么提高借款额度"],
        "额度由系统根据您的信用情况自动评估，按时还款有助于提高额度。",
        "zh",
    ),
]


def faq_chunks() -> list[Chunk]:
    return [
        chunk
        for entry_id, title, questions, answer, locale in FAQ
        for chunk in faq_entry_chunks(
            entry_id,
            title=title,
            questions=questions,
            answer=answer,
            metadata={
                "external_id": f"ext-{entry_id}",
                "url": f"https://help.example/{entry_id}",
                "locale": locale,
            },
        )
    ]
