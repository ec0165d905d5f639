"""`hypodebate doctor`: the provider and models this config gives, and one structured call to try them."""

from __future__ import annotations

from rich.console import Console

from agents.errors import redact
from agents.probe import ProbeResult, probe
from agents.settings import ROLES, Role
from hypodebate.app.workspace import Workspace
from hypodebate.terminal import shown, shown_error
from store.demo import DEMO_WARNING


def doctor_command(ws: Workspace, *, out: Console) -> int:
    """Print the provider, base URL, whether a key is set and the model of each role; then list the server's
    models and ask one structured question. 1 when the structured call failed (a provider that cannot start is an
    LLMError before anything is printed)."""
    result = ws.run(lambda ws: _probe(ws, out))
    secret = ws.llm.api_key.get_secret_value() if ws.llm.api_key else None
    if result.models is not None:
        listed = ", ".join(result.models[:5]) + (" ..." if len(result.models) > 5 else "")
        out.print(f"server      answers in {result.list_latency_s:.2f} s (models: {shown(listed)})", highlight=False)
    else:
        out.print(
            f"server      /models failed: {shown_error(redact(result.models_error or '', secret))}", highlight=False
        )
    if result.answer is not None:
        out.print(
            f"structured  ok in {result.latency_s:.2f} s, {result.attempts} attempt(s), {result.tokens} tokens: "
            f"{shown(result.answer.model_dump_json())}",
            highlight=False,
            soft_wrap=True,
        )
        return 0
    out.print(
        f"structured  FAILED after {result.latency_s:.2f} s: {shown_error(redact(result.answer_error or '', secret))}",
        highlight=False,
        soft_wrap=True,
    )
    return 1


async def _probe(ws: Workspace, out: Console) -> ProbeResult:
    """Make the client, say what it is, then probe it."""
    llm, client = ws.llm, ws.client
    provider = llm.resolved_provider
    secret = llm.api_key.get_secret_value() if llm.api_key else None
    out.print(f"provider    {shown(provider)}", highlight=False)
    out.print(f"base URL    {shown_error(redact(str(client.base_url), secret))}", highlight=False)
    out.print(f"API key     {'set' if secret else 'not set'}", highlight=False)
    roles: tuple[Role, ...] = (*ROLES, "verifier")
    out.print("models      " + shown(", ".join(f"{r}={llm.model_for(r)}" for r in roles)), highlight=False)
    if provider == "embedded":
        out.print(f"note        {shown(DEMO_WARNING)}", highlight=False)
    return await probe(client)
