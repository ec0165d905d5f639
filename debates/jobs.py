"""What a queued job is and how it fails: its arguments checked before anything runs (`DebateJob`, `CompareJob`,
`JobOptions`; a malformed job is `BadJob`), which failures are worth another run (`RETRYABLE`), and the runners a
worker keeps for the options its jobs carry (`Runners`, bounded)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Annotated, Any, Generic, Literal, TypeVar

import httpx2
import openai
from procrastinate import RetryStrategy
from procrastinate.exceptions import ConnectorException, JobAborted
from procrastinate.jobs import Job
from procrastinate.retry import RetryDecision
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError
from sqlalchemy.exc import InterfaceError, OperationalError

from agents.errors import ProviderUnavailable
from debates.graph import Design
from debates.settings import Judges, QueueSettings, Rounds
from safeio.errors import QueueError, validation_line
from store.engine import StoreError

R = TypeVar("R")


class Busy(QueueError):
    """Another live process runs this debate now (e.g. a stalled worker that came back): try again later."""


class BadJob(QueueError):
    """A job whose arguments this worker cannot use (an unknown option, a value out of range): never retried."""


class JobOptions(BaseModel):
    """What a job may change of the worker's own configuration: the worker keeps one runner per distinct value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rounds: Rounds | None = None
    judges: Judges | None = None
    early_stop: bool | None = None  # eval's arms
    design: Design | None = None
    audit: bool | None = None  # whether the judges read the evidence audit
    subject: Literal["labelled"] | None = None  # eval rows are rebuilt as LabelledSubject
    digests: bool | None = None  # the tournament's debate digests

    def given(self) -> dict[str, Any]:
        """The options the job set, normalised (so 3 and 3.0 are one runner)."""
        return self.model_dump(exclude_none=True)


Id = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class DebateJob(BaseModel):
    """A debate job's arguments, checked before anything runs: a malformed job fails at once with the reason."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    debate_id: Id
    batch_id: Id
    options: JobOptions = JobOptions()


class CompareJob(BaseModel):
    """A comparison job's arguments: two stored versions, each (hypothesis id, content hash), and judge k."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    first: tuple[Id, Id]
    second: tuple[Id, Id]
    judge: Judges  # judge k of the panel
    options: JobOptions = JobOptions()
    protocol_hash: Id

    @property
    def what(self) -> str:
        return f"comparison of {self.first[0]} and {self.second[0]}"


J = TypeVar("J", DebateJob, CompareJob)


def checked(model: type[J], task: str, arguments: Mapping[str, Any]) -> J:
    """A job's arguments as `model`, or BadJob naming the task and the field at fault."""
    try:
        return model.model_validate(dict(arguments))
    except ValidationError as exc:
        raise BadJob(validation_line(exc, where=f"{task} job")) from None


# What can succeed when the job runs again: the debate is busy elsewhere, the worker was stopped while it ran, or the
# database, the queue or the model's server could not be reached. Anything else (malformed arguments, a mismatched
# worker, a missing row) fails at once, its reason in the worker's log.
RETRYABLE: tuple[type[BaseException], ...] = (
    Busy,
    JobAborted,  # the worker was asked to stop
    asyncio.CancelledError,
    OSError,  # ConnectionError, TimeoutError
    OperationalError,  # the database went away or refused a connection (as SQLAlchemy wraps the driver's error)
    InterfaceError,
    StoreError,
    ConnectorException,
    httpx2.TransportError,
    openai.APIConnectionError,  # APITimeoutError too
    openai.RateLimitError,
    openai.InternalServerError,
    ProviderUnavailable,
)


class _Retry(RetryStrategy):
    """procrastinate's linear wait and attempt cap, for `RETRYABLE` exceptions only."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if not isinstance(exception, RETRYABLE):
            return None
        return super().get_retry_decision(exception=exception, job=job)


def retry_strategy(settings: QueueSettings) -> RetryStrategy:
    return _Retry(max_attempts=settings.max_attempts, linear_wait=settings.retry_wait_s)


class Runners(Generic[R]):
    """The runners a worker keeps, one per job options value, at most `keep` of them idle: the least recently used
    idle one is let go (`release`: it stops following the client and frees its connection) when a new one is made,
    so jobs with ever new options cannot pile up runners. One in use is never let go."""

    def __init__(self, make: Callable[[dict[str, Any]], Awaitable[R]], release: Callable[[R], None], keep: int) -> None:
        self.make, self.release, self.keep = make, release, keep
        self.kept: OrderedDict[str, R] = OrderedDict()
        self.busy: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def use(self, options: dict[str, Any]) -> AsyncIterator[R]:
        key = json.dumps(options, sort_keys=True)
        if key not in self.kept:
            self.kept[key] = await self.make(options)
        self.kept.move_to_end(key)
        self.busy[key] = self.busy.get(key, 0) + 1
        try:
            self._trim()
            yield self.kept[key]
        finally:
            self.busy[key] -= 1
            if not self.busy[key]:
                del self.busy[key]
            self._trim()

    def _trim(self) -> None:
        for key in [k for k in self.kept if k not in self.busy][: max(0, len(self.kept) - self.keep)]:
            self.release(self.kept.pop(key))

    def close(self) -> None:
        while self.kept:
            self.release(self.kept.popitem()[1])
