"""The ``synthema`` command line: one thin module per command group.

Each command parses its options, makes one library call that returns objects, and renders
them (``error:``/``fix:`` lines for any :class:`synthema.errors.SynthemaError`, exit status
2, never a traceback: :mod:`synthema.cli._output`). Parameters are checked by the library,
once. Commands are documented in docs/cli.md.

==================  ============================  =====================================
module              commands                      library call
==================  ============================  =====================================
``dictionary``      dictionary show, draft        ``load_dictionary``, ``harmonize.draft``
``simulate``        simulate                      ``cohorts.simulate.simulate_to``
``validate``        validate, summary             ``harmonize.validate_file``, ``summarize_file``
``harmonize``       harmonize                     ``harmonize.harmonize_file``
``anonymize``       anonymize                     ``anonymize.files.anonymize_file``
``synth``           synth fit, sample, show       ``synth.files.fit_files``, ``sample_file``,
                                                  ``describe_model``
``federate``        federate up, fit, down,       ``federation.deploy.up``, ``run_fit``,
                    status                        ``down``
``budget``          budget show, set              ``privacy.statement``
``evaluate``        evaluate                      ``evaluate.evaluate_files``
==================  ============================  =====================================
"""

from __future__ import annotations

from typing import Annotated

import typer

from synthema.cli import (
    anonymize,
    budget,
    dictionary,
    evaluate,
    federate,
    harmonize,
    simulate,
    synth,
    validate,
)
from synthema.cli._output import console
from synthema.cli.synth import SYNTH_METHODS

app = typer.Typer(
    name="synthema",
    help="Harmonise, validate and simulate rare blood disease data (AML, SCD).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from synthema import installed_version

        console.print(f"synthema {installed_version()}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = None,
) -> None:
    """Harmonise, validate and simulate rare blood disease data (AML, SCD)."""


app.add_typer(dictionary.app, name="dictionary")
app.command("simulate")(simulate.simulate_cmd)
app.command("summary")(validate.summary_cmd)
app.command("validate")(validate.validate_cmd)
app.command("harmonize")(harmonize.harmonize_cmd)
app.add_typer(synth.app, name="synth")
app.command("anonymize")(anonymize.anonymize_cmd)
app.command("evaluate")(evaluate.evaluate_cmd)
app.add_typer(federate.app, name="federate")
app.add_typer(budget.app, name="budget")

__all__ = ["SYNTH_METHODS", "app"]
