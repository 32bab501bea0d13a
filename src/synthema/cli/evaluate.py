"""``synthema evaluate``: score synthetic data (a progress bar), print each group's counts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from synthema.cli._output import friendly, say


class ProgressBar:
    """A Rich progress bar on stderr, driven as the library's ``progress`` callback.

    It appears at the first step, so a run refused before any work shows no bar.
    """

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(TextColumn("{task.description:<28}"), BarColumn(),
                             TextColumn("{task.completed}/{task.total}"),
                             TimeElapsedColumn(), console=Console(stderr=True),
                             transient=False)  # fmt: skip
        self._task = None

    def __enter__(self) -> Callable[[int, int, str], None]:
        return self._step

    def _step(self, done: int, total: int, name: str) -> None:
        if self._task is None:
            self._bar.start()
            self._task = self._bar.add_task("evaluating", total=1)
        self._bar.update(self._task, completed=done, total=total, description=name)

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._bar.stop()


@friendly
def evaluate_cmd(
    dictionary: Annotated[str, typer.Option("--dictionary", "-d", help="aml, scd or YAML path.")],
    real: Annotated[list[Path], typer.Option(
        help="Real rows the generator was trained on (repeat for several site files).")],
    synthetic: Annotated[Path, typer.Option(help="Synthetic rows to evaluate.")],
    out: Annotated[Path, typer.Option(help="Folder for report.json and report.html.")],
    holdout: Annotated[list[Path] | None, typer.Option(
        help="Real rows never used for training (repeatable).")] = None,
    target: Annotated[str | None, typer.Option(
        help="Classification target (default: the dictionary's targets, else cr).")] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed of samples, splits and models.")] = 0,
    model: Annotated[Path | None, typer.Option(
        help="The model the synthetic rows came from: the report states its method, mode and "
             "privacy spent (default: the sidecar synth sample wrote next to the file).")] = None,
) -> None:
    """Score synthetic data: verdict, fidelity, utility, privacy attacks, clinical checks."""
    from synthema.evaluate.files import evaluate_files

    generator = None
    if model is not None:
        from synthema.synth.files import model_provenance

        generator = model_provenance(model)
    with ProgressBar() as progress:
        done = evaluate_files(dictionary=dictionary, real=real, holdout=holdout or None,
                              synthetic=synthetic, out=out, progress=progress, target=target,
                              random_state=seed, generator=generator)  # fmt: skip
    verdict = done.report.get("verdict", {})
    say(f"verdict: {verdict.get('headline', '?')} ({'; '.join(verdict.get('reasons', []))})")
    say(f"release: {verdict.get('release', '?')}")
    from synthema.evaluate.page import fmt_score

    for group, g in done.report.get("groups", {}).items():
        score = fmt_score(g.get("score"))
        say(f"{group:<9} score {score}: {g['pass']} pass, {g['warn']} warn, {g['fail']} fail, "
            f"{g['error']} error")
    for m in done.errors:
        say(f"  {m['name']}: error: {m.get('error')}")
    say(f"wrote {done.json_path} and {done.html_path}")
