"""Progress of a fit or a sample, for whoever listens (the command line shows it).

Synthesizers announce what they are doing through two calls: :func:`stage` when a new step
starts (a batch of measurements, the estimation, sampling) and :func:`advance` as a step with a
known size moves on (mirror-descent iterations, rows written). Nothing is shown unless a
listener is installed with :func:`listening`, which holds for the current thread or task only
(a :class:`contextvars.ContextVar`), so library users and tests see no output and concurrent
fits do not mix. :class:`Timeline` is a listener that also records how long each stage took.

>>> seen = []
>>> with listening(lambda event: seen.append((event.stage, event.done, event.total))):
...     stage("measuring 3 one-way marginals")
...     advance("estimating the model", 50, 100)
>>> seen
[('measuring 3 one-way marginals', None, None), ('estimating the model', 50, 100)]
>>> stage("nobody listens")  # no listener: nothing happens
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Event:
    """One report: the stage's text and, for a step of known size, how far it is."""

    stage: str
    done: int | None = None
    total: int | None = None
    kind: str = "other"


Listener = Callable[[Event], None]
#: the kinds of work a stage can be, in the order summaries list them
KINDS = ("measure", "compile", "estimate", "sample", "repair", "other")
_LISTENER: ContextVar[Listener | None] = ContextVar("synthema_progress", default=None)


def stage(text: str, *, kind: str = "other") -> None:
    """A new stage starts: ``text`` says what it does ("mst: 12 marginal(s)"), ``kind`` what
    sort of work it is (one of :data:`KINDS`, for summaries)."""
    listener = _LISTENER.get()
    if listener is not None:
        listener(Event(text, kind=kind))


def advance(text: str, done: int, total: int, *, kind: str = "other") -> None:
    """Stage ``text`` has done ``done`` of ``total`` units (a new text starts a new stage)."""
    listener = _LISTENER.get()
    if listener is not None:
        listener(Event(text, int(done), int(total), kind=kind))


@contextmanager
def listening(listener: Listener) -> Iterator[Listener]:
    """Send the reports made inside the ``with`` block (this thread or task) to ``listener``."""
    token = _LISTENER.set(listener)
    try:
        yield listener
    finally:
        _LISTENER.reset(token)


@dataclass
class Timeline:
    """A listener that records each stage with its duration and its last ``done``/``total``.

    ``forward`` (optional) receives every event too (the command line's live display).

    >>> clock = iter([0.0, 1.0, 3.5, 4.0]).__next__
    >>> t = Timeline(clock=clock)
    >>> with listening(t):
    ...     stage("measuring")
    ...     advance("estimating", 50, 100)
    ...     advance("estimating", 100, 100)
    >>> t.close()
    >>> [(s.text, s.seconds, s.done) for s in t.stages]
    [('measuring', 1.0, None), ('estimating', 3.0, 100)]
    """

    forward: Listener | None = None
    clock: Callable[[], float] = time.perf_counter
    stages: list[Stage] = field(default_factory=list)

    def __call__(self, event: Event) -> None:
        now = self.clock()
        if not self.stages or self.stages[-1].text != event.stage:
            self._end(now)
            self.stages.append(Stage(event.stage, start=now, kind=event.kind))
        current = self.stages[-1]
        current.done, current.total = event.done, event.total
        if self.forward is not None:
            self.forward(event)

    def _end(self, now: float) -> None:
        if self.stages and self.stages[-1].seconds is None:
            last = self.stages[-1]
            last.seconds = now - last.start

    def close(self) -> None:
        """End the last stage (its duration runs until now)."""
        self._end(self.clock())

    def seconds_by_kind(self) -> dict[str, float]:
        """Total seconds per kind of stage (ended stages only), in :data:`KINDS` order."""
        out = dict.fromkeys(KINDS, 0.0)
        for s in self.stages:
            out[s.kind] += s.seconds or 0.0
        return {k: v for k, v in out.items() if v > 0}

    def count(self, kind: str) -> tuple[int, int]:
        """(stages, units done) of one kind: e.g. measurement batches, or iterations run."""
        stages = [s for s in self.stages if s.kind == kind]
        return len(stages), sum(s.done or 0 for s in stages)


@dataclass
class Stage:
    """A stage of a :class:`Timeline`: its text, start, duration and last progress."""

    text: str
    start: float
    kind: str = "other"
    seconds: float | None = None
    done: int | None = None
    total: int | None = None
