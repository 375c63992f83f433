"""Bot fixtures: a site whose knowledge base is a real HybridIndex over a small EN+ZH FAQ,
and the OpenAI-compatible stand-in LLM wired into the settings."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from relaydesk.bot import knowledge
from relaydesk.bot.policy import BotPolicy
from relaydesk.bot.service import set_policy
from relaydesk.core.config import override_settings
from relaydesk.core.db import Database
from relaydesk.core.models import Site
from relaydesk.knowledge.retrieval import HybridIndex, OnnxMiniLMEmbedder
from relaydesk.knowledge.retrieval.model_files import onnx_folder
from relaydesk.testing.llm_standin import LLMStandIn
from tests.bot.faq import faq_chunks
from tests.factories import make_site

REPO = Path(__file__).resolve().parents[2]
MODEL_DIR = Path(
    os.environ.get("RELAYDESK_EMBEDDING_MODEL_DIR")
    or REPO.parent / "shared" / "models" / "all-MiniLM-L6-v2"
)
# Long enough that a reply from the local stand-in never times out on a loaded 2-core
# machine (1.5 s did under CI-like load), short enough for the fault tests that wait it out.
LLM_TIMEOUT = 3.0


@pytest.fixture(scope="session")
def faq_index() -> HybridIndex:
    folder = onnx_folder(MODEL_DIR)
    if folder is None:
        pytest.fail(f"no embedding model under {MODEL_DIR}")
    index = HybridIndex(OnnxMiniLMEmbedder(folder))
    index.upsert(faq_chunks())
    return index


@pytest.fixture
async def site(db: Database, faq_index: HybridIndex) -> Site:
    """A site whose knowledge base is the hand-made FAQ."""
    created = await make_site(db)
    assert created.id is not None
    source = knowledge.IndexSource()
    source.add_site(created.id, faq_index, faq_chunks())
    knowledge.set_source(source)  # on this test's app state: the next test has its own
    return created


async def configure(db: Database, site: Site, **values: object) -> BotPolicy:
    assert site.id is not None
    return await set_policy(db, site_id=site.id, policy=BotPolicy.model_validate(values))


@pytest.fixture
async def llm(db: Database) -> AsyncIterator[LLMStandIn]:
    """The stand-in LLM, configured as the site's endpoint for the test."""
    async with LLMStandIn() as server:
        with override_settings(llm_base_url=server.base_url, llm_timeout_seconds=LLM_TIMEOUT):
            yield server
