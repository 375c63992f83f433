"""A local stand-in for an OpenAI-compatible chat-completions endpoint, for tests and
benchmarks (this machine has no LLM API, and fakes below the client would skip the real
`langchain_openai.ChatOpenAI` → `openai` → HTTP path).

    async with LLMStandIn() as llm:
        llm.script(Reply("Cards arrive in 5 days [1]."))
        ... settings llm_base_url=llm.base_url ...
        assert llm.requests[0]["messages"][0]["role"] == "system"

Each request takes the next scripted reply (or the default when the script is empty); a
reply may also be a function of the request body. Failure kinds: an HTTP error status
(500, 429 with `retry-after`), a slow first token, a stream cut off before its end, a
malformed chunk, and a hang (never answers, for timeouts).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from relaydesk.testing.servers import free_port


@dataclass
class Reply:
    text: str = ""
    # Explicit stream pieces; default: the text split into words (spaces kept).
    chunks: list[str] | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    first_token_delay: float = 0.0
    chunk_delay: float = 0.0
    # End the stream after this many chunks with no finish_reason and no [DONE].
    cut_off_after: int | None = None
    # Send a data line that is not JSON after this many chunks.
    malformed_after: int | None = None
    # Never answer (the client must time out).
    hang: bool = False

    def pieces(self) -> list[str]:
        if self.chunks is not None:
            return list(self.chunks)
        words = self.text.split(" ")
        return [w if i == len(words) - 1 else w + " " for i, w in enumerate(words)]


Script = Reply | Callable[[dict[str, Any]], Reply]


class LLMStandIn:
    def __init__(self, *, model: str = "standin-1") -> None:
        self.model = model
        self.port = free_port()
        self.requests: list[dict[str, Any]] = []
        self.default: Script = Reply("I can only answer from the knowledge base.")
        self._script: deque[Script] = deque()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._hanging: set[asyncio.Event] = set()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *replies: Script) -> None:
        """Queue replies for the next requests, in order."""
        self._script.extend(replies)

    def always(self, reply: Script) -> None:
        """The reply for every request once the script is used up."""
        self.default = reply

    def reset(self) -> None:
        self._script.clear()
        self.requests.clear()

    # Server

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/chat/completions", self._complete, methods=["POST"])])

    async def start(self) -> LLMStandIn:
        config = uvicorn.Config(
            self.app(),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        for gate in self._hanging:
            gate.set()
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._task, timeout=10)

    async def __aenter__(self) -> LLMStandIn:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # Handler

    async def _complete(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": {"message": "bad json"}}, status_code=400)
        self.requests.append(body)
        entry = self._script.popleft() if self._script else self.default
        reply = entry(body) if callable(entry) else entry
        if reply.hang:
            gate = asyncio.Event()
            self._hanging.add(gate)
            await gate.wait()
            return Response(status_code=503)
        if reply.status != 200:
            return JSONResponse(
                {"error": {"message": f"stand-in error {reply.status}", "type": "server_error"}},
                status_code=reply.status,
                headers=reply.headers,
            )
        if reply.first_token_delay:
            await asyncio.sleep(reply.first_token_delay)
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        if not body.get("stream"):
            return JSONResponse(self._completion(completion_id, reply.text))
        return StreamingResponse(self._stream(completion_id, reply), media_type="text/event-stream")

    def _completion(self, completion_id: str, text: str) -> dict[str, Any]:
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }

    def _chunk(self, completion_id: str, delta: dict[str, Any], finish: str | None) -> bytes:
        data = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(data)}\n\n".encode()

    async def _stream(self, completion_id: str, reply: Reply) -> AsyncIterator[bytes]:
        yield self._chunk(completion_id, {"role": "assistant", "content": ""}, None)
        for n, piece in enumerate(reply.pieces()):
            if reply.cut_off_after is not None and n >= reply.cut_off_after:
                return
            if reply.malformed_after is not None and n == reply.malformed_after:
                yield b"data: {this is not json\n\n"
            if reply.chunk_delay and n:
                await asyncio.sleep(reply.chunk_delay)
            yield self._chunk(completion_id, {"content": piece}, None)
        yield self._chunk(completion_id, {}, "stop")
        yield b"data: [DONE]\n\n"
