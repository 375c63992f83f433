"""The public help-center page of a published entry: what bot citations link to when the
entry has no page of its own."""

from __future__ import annotations

import httpx

from relaydesk.core.db import Database
from relaydesk.knowledge.models import Article, ContentStatus, FaqEntry
from relaydesk.widget.help import body_html
from tests.factories import make_site

BODY = """# Returns

## Policy

Return **unused** items within [30 days](https://x.example).

- Free in the EU
- Labels are
  prepaid
1. Open the order

<script>alert(1)</script>
"""


def test_markdown_renders_safely_without_the_repeated_title() -> None:
    html = body_html(BODY, "Returns")
    assert "<h1>" not in html and "<h2>Policy</h2>" in html
    assert "<strong>unused</strong>" in html and "**" not in html
    assert '<a href="https://x.example" target="_blank" rel="noopener noreferrer nofollow">' in html
    assert "<li>Labels are\nprepaid</li>" in html.replace("<br>", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html


async def test_published_entries_only_of_that_site(db: Database, live_server: str) -> None:
    site = await make_site(db, name="Juniper & Oak")
    other = await make_site(db)
    assert site.id is not None and other.id is not None
    async with db.write() as session:
        article = Article(
            site_id=site.id, title="Returns", body=BODY, status=ContentStatus.PUBLISHED
        )
        draft = Article(site_id=site.id, title="Secret plans", body="x")
        faq = FaqEntry(
            site_id=site.id,
            title="When will I get my refund?",
            questions=["When will I get my refund?"],
            answer="Within 5 business days.",
            status=ContentStatus.PUBLISHED,
        )
        session.add_all([article, draft, faq])
        await session.flush()
        ids = (article.id, draft.id, faq.id)
    async with httpx.AsyncClient(base_url=live_server) as http:
        page = await http.get(f"/help/{site.site_key}/article/{ids[0]}")
        assert page.status_code == 200
        html = page.text
        assert "<h1>Returns</h1>" in html and "<h2>Policy</h2>" in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
        assert "Juniper &amp; Oak" in html
        assert "default-src 'none'" in page.headers["content-security-policy"]
        faq_page = await http.get(f"/help/{site.site_key}/faq/{ids[2]}")
        assert faq_page.status_code == 200 and "Within 5 business days." in faq_page.text
        for url in (
            f"/help/{site.site_key}/article/{ids[1]}",  # a draft
            f"/help/{other.site_key}/article/{ids[0]}",  # another site's key
            f"/help/{site.site_key}/article/999999",
            f"/help/{site.site_key}/note/{ids[0]}",
            f"/help/{site.site_key}/article/abc",
        ):
            assert (await http.get(url)).status_code in (404, 422), url
