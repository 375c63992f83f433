"""Every import format, end to end into search results, and a bad input for each."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlmodel import func, select

from relaydesk.core.config import override_settings
from relaydesk.core.db import Database
from relaydesk.core.errors import DomainError
from relaydesk.knowledge import importers, service
from relaydesk.knowledge.models import Article, ArticleVersion, FaqEntry
from tests.factories import make_site
from tests.knowledge.kb_helpers import (
    docx_bytes,
    find,
    html_page,
    import_one,
    pdf_bytes,
    top_title,
    web_server,
)

MARKDOWN = b"""# Returning a rug

Rugs can be returned within 30 days if they are rolled, not folded.

## Collection

We collect large rugs from your door with a courier appointment.
"""


async def _counts(db: Database) -> tuple[int, int, int]:
    async with db.read() as session:
        articles = (await session.execute(select(func.count()).select_from(Article))).scalar_one()
        faqs = (await session.execute(select(func.count()).select_from(FaqEntry))).scalar_one()
        versions = (
            await session.execute(select(func.count()).select_from(ArticleVersion))
        ).scalar_one()
    return articles, faqs, versions


async def _refused(db: Database, site_id: int, name: str, data: bytes) -> DomainError:
    with pytest.raises(DomainError) as caught:
        await import_one(db, site_id, name, data)
    return caught.value


async def test_markdown_imports_and_reimport_updates_in_place(db: Database) -> None:
    site = await make_site(db)
    assert site.id is not None
    summary = await import_one(db, site.id, "guides/rugs.md", MARKDOWN)
    assert summary.articles_created == 1  # type: ignore[attr-defined]
    result = await find(db, site.id, "how do you collect a big rug?")
    assert result.hits[0].title == "Returning a rug"
    assert result.hits[0].kind == "article"
    assert result.hits[0].external_id == "file:guides/rugs.md"
    assert result.hits[0].heading_path == ["Collection"]
    assert not result.lexical_only

    again = await import_one(db, site.id, "guides/rugs.md", MARKDOWN)
    assert again.articles_unchanged == 1  # type: ignore[attr-defined]
    changed = MARKDOWN.replace(b"courier appointment", b"two-person crew on a weekday")
    updated = await import_one(db, site.id, "guides/rugs.md", changed)
    assert updated.articles_updated == 1  # type: ignore[attr-defined]
    assert await _counts(db) == (1, 0, 2)  # one article, its two versions
    hit = (await find(db, site.id, "two-person crew")).hits[0]
    assert "two-person crew" in hit.text


async def test_markdown_bad_inputs(db: Database) -> None:
    site = await make_site(db)
    assert site.id is not None
    assert (await _refused(db, site.id, "empty.md", b"  \n\n ")).code == "empty_file"
    latin1 = "# Café\n\nRésumé des conditions générales".encode("latin-1")
    assert (await _refused(db, site.id, "latin.md", latin1)).code == "bad_encoding"
    assert (await _refused(db, site.id, "tool.exe", b"MZ\x90\x00")).code == "unsupported_format"
    too_big = b"a" * (importers.MAX_UPLOAD_BYTES + 1)
    error = await _refused(db, site.id, "huge.md", too_big)
    assert error.code == "file_too_large" and error.http_status == 413
    assert await _counts(db) == (0, 0, 0)


async def test_plain_text_in_utf8_and_gb18030(db: Database) -> None:
    site = await make_site(db)
    assert site.id is not None
    await import_one(
        db, site.id, "warranty.txt", b"Warranty\n\nKettles have a two year warranty.\n"
    )
    chinese = "保修政策\n\n所有电水壶享受两年保修，保修期内免费维修。\n".encode("gb18030")
    await import_one(db, site.id, "baoxiu.txt", chinese)
    assert await top_title(db, site.id, "kettle warranty") == "Warranty"
    result = await find(db, site.id, "电水壶保修多久")
    assert result.hits[0].title == "保修政策" and result.hits[0].locale == "zh"
    assert (await _refused(db, site.id, "bin.txt", b"\x00\x01\x02binary\x00")).code == (
        "bad_encoding"
    )


async def test_html_file(db: Database) -> None:
    site = await make_site(db)
    assert site.id is not None
    page = html_page(
        "Gift wrapping",
        "How to add wrapping",
        ["Select gift wrapping at checkout; each parcel gets recycled paper and a card."],
    )
    await import_one(db, site.id, "gift.html", page.encode())
    result = await find(db, site.id, "can you wrap my present?")
    assert result.hits[0].title == "Gift wrapping"
    assert "About us" not in result.hits[0].text  # navigation is not content
    empty = b"<html><head><title>x</title></head><body><nav>Home</nav></body></html>"
    assert (await _refused(db, site.id, "empty.html", empty)).code == "no_text"


async def test_pdf(db: Database) -> None:
    site = await make_site(db)
    assert site.id is not None
    data = pdf_bytes(
        [
            "Loyalty programme",
            "Members collect one point for every euro spent.",
            "Points can be redeemed for vouchers after 200 points.",
        ],
        title="Loyalty programme",
    )
    await import_one(db, site.id, "loyalty.pdf", data)
    result = await find(db, site.id, "how many points do I need for a voucher")
    assert result.hits[0].title == "Loyalty programme"
    assert "200 points" in result.hits[0].text


async def test_pdf_bad_inputs(db: Database) -> None:
    site = await make_site(db)
    assert site.id is not None
    locked = pdf_bytes(["Secret pricing"], password="hunter22")
    assert (await _refused(db, site.id, "locked.pdf", locked)).code == "encrypted_pdf"
    good = pdf_bytes(["Some text here."])
    broken = good[:200] + b"\x00garbage" * 10
    assert (await _refused(db, site.id, "broken.pdf", broken)).code in ("corrupt_file", "no_text")
    assert (await _refused(db, site.id, "fake.pdf", b"hello, not a pdf")).code == "corrupt_file"
    assert await _counts(db) == (0, 0, 0)


async def test_docx(db: Database) -> None:
    site = await make_site(db)
    assert site.id is not None
    data = docx_bytes(
        "Assembly service",
        {"Booking": ["Book furniture assembly up to two days before delivery."]},
        bullets=["Wardrobes and beds only", "Costs 39 euros per item"],
    )
    await import_one(db, site.id, "assembly.docx", data)
    result = await find(db, site.id, "can someone assemble my wardrobe")
    assert result.hits[0].title == "Assembly service"
    async with db.read() as session:
        article = (await session.execute(select(Article))).scalar_one()
    assert "## Booking" in article.body and "- Costs 39 euros per item" in article.body
    corrupt = b"PK\x03\x04 this is not really a zip"
    assert (await _refused(db, site.id, "corrupt.docx", corrupt)).code == "corrupt_file"


async def test_faq_jsonl(db: Database) -> None:
    site = await make_site(db)
    assert site.id is not None
    lines = [
        {
            "id": "pets",
            "title": "Pets in store",
            "questions": ["Can I bring my dog?", "Are pets allowed?"],
            "answer": "Dogs on a leash are welcome in all our stores.",
            "tags": ["stores"],
            "locale": "en",
        },
        {
            "id": 42,
            "title": "营业时间",
            "questions": ["你们几点开门？"],
            "answer": "门店每天早上九点开门。",
        },
    ]
    data = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines).encode()
    summary = await import_one(db, site.id, "faq.jsonl", data)
    assert summary.faq_created == 2  # type: ignore[attr-defined]
    result = await find(db, site.id, "is my puppy allowed inside?")
    hit = result.hits[0]
    assert (hit.title, hit.kind, hit.external_id) == ("Pets in store", "faq", "pets")
    assert hit.text == "Dogs on a leash are welcome in all our stores."
    assert (await find(db, site.id, "几点开门")).hits[0].external_id == "42"

    bad = data + b'\n{"id": "x", "questions": ["q"]}\n'
    error = await _refused(db, site.id, "faq.jsonl", bad)
    assert error.code == "invalid_faq_file" and error.details["line"] == 3
    not_json = await _refused(db, site.id, "faq2.jsonl", b'{"id": "a", oops}\n')
    assert not_json.code == "invalid_faq_file"


async def test_faq_csv_rows_with_one_id_add_phrasings(db: Database) -> None:
    site = await make_site(db)
    assert site.id is not None
    data = (
        b"id,title,question,answer,tags\n"
        b"click,Click and collect,Can I pick up my order in a store?,"
        b"Choose click and collect at checkout; orders are ready in two hours.,stores;orders\n"
        b"click,,Do you have in-store pickup?,,\n"
    )
    await import_one(db, site.id, "faq.csv", data)
    async with db.read() as session:
        entry = (await session.execute(select(FaqEntry))).scalar_one()
    assert entry.questions == [
        "Can I pick up my order in a store?",
        "Do you have in-store pickup?",
    ]
    assert entry.tags == ["stores", "orders"]
    assert await top_title(db, site.id, "in-store pickup") == "Click and collect"
    missing = b"id,title,answer\n1,x,y\n"
    error = await _refused(db, site.id, "bad.csv", missing)
    assert error.code == "invalid_faq_file" and "question" in error.message


async def test_a_bad_file_leaves_nothing_of_its_import(db: Database) -> None:
    site = await make_site(db)
    assert site.id is not None
    with pytest.raises(DomainError) as caught:
        await service.import_files(
            db,
            site_id=site.id,
            files=[("good.md", MARKDOWN), ("bad.pdf", b"not a pdf at all")],
            actor=service.SYSTEM,
        )
    assert caught.value.code == "corrupt_file"
    assert await _counts(db) == (0, 0, 0)
    assert (await find(db, site.id, "rug")).hits == []


async def test_single_url_and_reimport_by_source_url(db: Database, tmp_path: Path) -> None:
    site = await make_site(db)
    assert site.id is not None
    root = tmp_path / "www"
    root.mkdir()
    (root / "care.html").write_text(
        html_page("Caring for linen", "Washing", ["Wash linen at 40 degrees and dry it flat."])
    )
    with web_server(root) as base, override_settings(url_import_allow_private_networks=True):
        url = f"{base}/care.html"
        await service.import_url(db, site_id=site.id, url=url, actor=service.SYSTEM)
        hit = (await find(db, site.id, "what temperature should I wash linen")).hits[0]
        assert (hit.title, hit.url) == ("Caring for linen", url)
        (root / "care.html").write_text(
            html_page("Caring for linen", "Washing", ["Wash linen at 30 degrees only."])
        )
        summary = await service.import_url(db, site_id=site.id, url=url, actor=service.SYSTEM)
        assert summary.articles_updated == 1
        with pytest.raises(DomainError) as caught:
            await service.import_url(
                db, site_id=site.id, url=f"{base}/missing.html", actor=service.SYSTEM
            )
        assert caught.value.code == "fetch_failed"
    assert (await _counts(db))[0] == 1
    assert "30 degrees" in (await find(db, site.id, "linen temperature")).hits[0].text
    with (
        pytest.raises(DomainError) as refused,
        override_settings(url_import_allow_private_networks=True),
    ):
        await service.import_url(db, site_id=site.id, url=url, actor=service.SYSTEM)
    assert refused.value.code == "fetch_failed"  # the server is gone
    with pytest.raises(DomainError) as bad_scheme:
        await service.import_url(
            db, site_id=site.id, url="file:///etc/passwd", actor=service.SYSTEM
        )
    assert bad_scheme.value.code == "invalid_url"


async def test_sitemap_crawl_is_bounded_to_its_host_and_page_limit(
    db: Database, tmp_path: Path
) -> None:
    site = await make_site(db)
    assert site.id is not None
    root = tmp_path / "www"
    root.mkdir()
    topics = {
        "candles": "Candles burn for forty hours; trim the wick before lighting.",
        "vases": "Glass vases are dishwasher safe on the top rack.",
        "frames": "Picture frames come with hooks for hanging on the wall.",
    }
    for name, text in topics.items():
        (root / f"{name}.html").write_text(html_page(name.capitalize(), "Care", [text]))
    with web_server(root) as base, override_settings(url_import_allow_private_networks=True):
        urls = [f"{base}/{name}.html" for name in topics]
        urls.insert(1, f"{base}/gone.html")
        locs = "".join(f"<url><loc>{u}</loc></url>" for u in urls)
        locs += "<url><loc>https://elsewhere.example/page.html</loc></url>"
        (root / "sitemap.xml").write_text(
            '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{locs}</urlset>"
        )
        summary = await service.import_url(
            db,
            site_id=site.id,
            url=f"{base}/sitemap.xml",
            sitemap=True,
            max_pages=3,
            actor=service.SYSTEM,
        )
        assert summary.articles_created == 2  # candles + vases; gone.html failed; limit 3
        reasons = {s["url"].rsplit("/", 1)[-1]: s["reason"] for s in summary.skipped}
        assert reasons["page.html"] == "other host"
        assert "404" in reasons["gone.html"]
        assert await top_title(db, site.id, "how long does a candle burn") == "Candles"
        with pytest.raises(DomainError) as caught:
            await service.import_url(
                db, site_id=site.id, url=f"{base}/candles.html", sitemap=True, actor=service.SYSTEM
            )
        assert caught.value.code == "invalid_sitemap"
    assert (await _counts(db))[0] == 2


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/care.html",  # loopback
        "http://localhost:{port}/care.html",  # a name that resolves to loopback
        "http://[::1]:{port}/care.html",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
        "http://10.0.0.8/intranet.html",  # private
    ],
)
async def test_imports_never_fetch_from_non_public_addresses(
    db: Database, tmp_path: Path, url: str
) -> None:
    site = await make_site(db)
    assert site.id is not None
    root = tmp_path / "www"
    root.mkdir()
    (root / "care.html").write_text(html_page("Internal", "Secret", ["Do not import me."]))
    with web_server(root) as base:
        port = base.rsplit(":", 1)[1]
        for sitemap in (False, True):
            with pytest.raises(DomainError) as caught:
                await service.import_url(
                    db,
                    site_id=site.id,
                    url=url.format(port=port),
                    sitemap=sitemap,
                    actor=service.SYSTEM,
                )
            assert caught.value.code == "url_not_allowed"
    assert (await find(db, site.id, "import")).hits == []


async def test_a_redirect_to_a_non_public_address_is_refused(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check runs for each hop: a public page redirecting inward is refused too."""
    import httpx

    from relaydesk.knowledge.importers import web

    site = await make_site(db)
    assert site.id is not None
    hops: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hops.append(str(request.url))
        return httpx.Response(302, headers={"Location": "http://127.0.0.1/admin"})

    async def public(host: str, port: int, **_: object) -> list[tuple[object, ...]]:
        address = "93.184.215.14" if host == "docs.example.com" else "127.0.0.1"
        return [(2, 1, 6, "", (address, port))]

    real_client = web.client

    def routed_client() -> httpx.AsyncClient:
        http = real_client()
        http._transport = httpx.MockTransport(handler)
        return http

    monkeypatch.setattr(web, "client", routed_client)
    loop = asyncio.get_running_loop()
    monkeypatch.setattr(loop, "getaddrinfo", public)
    with pytest.raises(DomainError) as caught:
        await service.import_url(
            db, site_id=site.id, url="http://docs.example.com/faq", actor=service.SYSTEM
        )
    assert caught.value.code == "url_not_allowed"
    assert hops == ["http://docs.example.com/faq"]  # the inward hop was never requested
