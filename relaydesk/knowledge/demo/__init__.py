"""The demo site's help center: original articles and FAQ entries in English and Chinese
for a made-up shop, "Juniper & Oak", so that a fresh `relaydesk serve` answers at once."""

from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import select

from relaydesk.core import event_log
from relaydesk.core.db import Database
from relaydesk.core.models import Event
from relaydesk.knowledge import service
from relaydesk.knowledge.importers.documents import parse_markdown
from relaydesk.knowledge.importers.faq import FaqRecord
from relaydesk.knowledge.importers.types import ParsedBatch
from relaydesk.knowledge.models import ImportSummary

DEMO_DIR = Path(__file__).resolve().parent


def demo_batch() -> ParsedBatch:
    batch = ParsedBatch()
    for path in sorted((DEMO_DIR / "articles").glob("*.md")):
        article = parse_markdown(path.read_bytes(), name=path.name)
        article.external_id = f"demo:{path.stem}"
        batch.articles.append(article)
        batch.files += 1
    records = json.loads((DEMO_DIR / "faq.json").read_text(encoding="utf-8"))
    batch.faqs = [FaqRecord.model_validate(r).parsed() for r in records]
    for entry in batch.faqs:
        entry.external_id = f"demo:{entry.external_id}"
    batch.files += 1
    return batch


async def seed_demo_knowledge(db: Database, *, site_id: int) -> ImportSummary | None:
    """Import the demo help center once per site; None when it was seeded before (so an
    editor's changes to the demo content survive restarts)."""
    async with db.read() as session:
        seeded = (
            await session.execute(
                select(Event.id)
                .where(Event.site_id == site_id, Event.type == "knowledge.demo_seeded")
                .limit(1)
            )
        ).first()
    if seeded is not None:
        return None
    batch = demo_batch()
    summary = await service.import_batch(
        db, site_id=site_id, batch=batch, publish=True, actor=service.SYSTEM, source="demo"
    )
    async with db.write() as session:
        event_log.record(
            session,
            event_log.KnowledgeDemoSeeded(
                articles=len(batch.articles), faq_entries=len(batch.faqs)
            ),
            site_id=site_id,
            actor_kind=service.SYSTEM.kind,
        )
    return summary
