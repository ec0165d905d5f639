"""What one command works in: its settings, the store URL, and the store, LLM client and prompts it opens.

    async with Workspace(settings, db) as ws:    # a command that may call the model
        await batch.run_batch(ws, files, options)
    with Workspace(settings, db) as ws:          # a command that only reads or writes the store
        agreement.agreement(ws, None)
    ws.run(lambda ws: batch.run_batch(ws, files, options))    # from blocking code: asyncio.run in `async with`

The store, the client and the prompts are opened on first use (a command pays only for what it uses: `status` never
imports the LLM client) and closed once, when the block ends: the client first, then the store.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from safeio.errors import InputError

if TYPE_CHECKING:
    from agents.client import LLMClient
    from agents.prompts import PromptSet
    from agents.settings import LLMSettings
    from hypodebate.config import Settings
    from store.engine import Store

T = TypeVar("T")


class Workspace:
    """The settings, the store URL (`db`, else `store.url`), and the store, LLM client and prompts once opened.

    `llm`: the LLM settings with the command's overrides (default `settings.llm`). A sync `with` block may use the
    store and the prompts; the client needs `async with` (it is closed by awaiting)."""

    def __init__(self, settings: Settings, db: str | None = None, *, llm: LLMSettings | None = None) -> None:
        self.settings = settings
        self.url = db or settings.store.url
        self.llm = llm or settings.llm
        self._store: Store | None = None
        self._client: LLMClient | None = None
        self._prompts: PromptSet | None = None
        self._sync = False

    @classmethod
    def at(cls, url: str) -> Workspace:
        """A workspace over the database at `url` with the default settings, for a caller that only needs the store
        (`report_command(url, ...)` from Python)."""
        from hypodebate.config import Settings

        return cls(Settings(), url)

    @property
    def store(self) -> Store:
        """The migrated database at `url`, opened on first use (a bad URL fails here as a StoreError)."""
        if self._store is None:
            from store.engine import open_store

            self._store = open_store(self.url)
        return self._store

    @property
    def client(self) -> LLMClient:
        """The LLM client of `llm`, made on first use (a provider that cannot start fails here as an LLMError)."""
        if self._client is None:
            if self._sync:
                raise RuntimeError("the LLM client is closed by awaiting: open the workspace with `async with`")
            from agents.factory import make_client

            self._client = make_client(self.llm)
        return self._client

    @property
    def prompts(self) -> PromptSet:
        """Every prompt template, compiled once (about 80 ms) and checked (a bad template is a PromptError)."""
        if self._prompts is None:
            from agents.prompts import load_prompts

            self._prompts = load_prompts()
        return self._prompts

    def runner_parts(self) -> dict[str, Any]:
        """What every runner is built on, as its keywords: the store (`sessions`), the client, the rubric
        (`scoring`) and the prompts; opened in that order."""
        return {"sessions": self.store, "client": self.client, "rubric": self.settings.scoring, "prompts": self.prompts}

    def queue_url(self) -> str:
        """`url`, which must be PostgreSQL: the job queue lives in a database every machine reaches."""
        from sqlalchemy.engine import make_url

        if make_url(self.url).get_backend_name() != "postgresql":
            raise InputError(
                "the queue lives in a PostgreSQL database that every machine reaches: give --db "
                "postgresql+psycopg://user@host/db (or store.url / HYPODEBATE_DATABASE_URL)"
            )
        return self.url

    def run(self, use: Callable[[Workspace], Awaitable[T]]) -> T:
        """From blocking code (a CLI command): `asyncio.run` of `use(self)` inside `async with self`."""
        import asyncio  # here: `hypodebate --help` does not need it

        async def main() -> T:
            async with self:
                return await use(self)

        return asyncio.run(main())

    def close(self) -> None:
        """Close the store, if it was opened."""
        store, self._store = self._store, None
        if store is not None:
            store.close()

    async def aclose(self) -> None:
        """Close the client (if one was made), then the store."""
        client, self._client = self._client, None
        try:
            if client is not None:
                await client.aclose()
        finally:
            self.close()

    def __enter__(self) -> Workspace:
        self._sync = True
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._sync = False
        self.close()

    async def __aenter__(self) -> Workspace:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
