"""Every exception synthema raises on purpose, each user-caused one with a one-line fix.

The CLI prints ``error: <message>`` and ``fix: <fix>`` for any :class:`SynthemaError`
and exits with status 2, never with a traceback. Library callers can catch the
specific subclasses. A parameter the user can correct (a method name, ε, δ, a number of
rows, dropouts for the number of sites) raises :class:`ParameterError`, from the library,
once: the command line does not check it again.
"""

from __future__ import annotations


class SynthemaError(Exception):
    """Base class for errors caused by input the user can correct.

    Args:
        message: what is wrong, naming the file, row and column where known.
        fix: one line telling the user what to do about it.

    >>> e = SynthemaError("x.csv: column 'age' missing", fix="add the column")
    >>> str(e)
    "x.csv: column 'age' missing"
    >>> e.fix
    'add the column'
    """

    def __init__(self, message: str, *, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix


class ParameterError(SynthemaError, ValueError):
    """A parameter value the user can correct (as scikit-learn's ``InvalidParameterError``).

    A ``ValueError`` too, so code written against the usual Python convention catches it.

    >>> isinstance(ParameterError("epsilon is 0", fix="use a positive budget"), ValueError)
    True
    """


class NotFittedError(ValueError, AttributeError):
    """``sample`` or ``save`` was called before ``fit`` (as scikit-learn's NotFittedError).

    A programming mistake rather than bad input, so not a :class:`SynthemaError`.
    """


class DictionaryError(SynthemaError):
    """A data dictionary file is malformed or inconsistent."""


class RuleSyntaxError(DictionaryError):
    """A clinical rule does not parse under the rule grammar (docs/rules.md)."""


class DataFileError(SynthemaError):
    """A data file cannot be read: empty, wrong encoding, ragged rows, duplicate header."""


class MappingError(SynthemaError):
    """A harmonisation mapping file is malformed or does not fit the data."""


class ValidationFailed(SynthemaError):
    """Data failed validation against a dictionary; ``problems`` lists every finding."""

    def __init__(self, message: str, *, fix: str = "", problems: list | None = None) -> None:
        super().__init__(message, fix=fix)
        self.problems = problems or []


class BudgetExceededError(SynthemaError):
    """A privacy charge would take a site's zCDP budget past its ``rho_max``.

    Raised before anything is released or recorded: the refused query costs nothing.
    """


class LedgerError(SynthemaError):
    """A privacy budget ledger cannot be used: not a ledger, corrupt, locked or mismatched."""


class FederationError(SynthemaError):
    """A federated run cannot go on: a site refused, too few sites answered, or setup failed."""


class InsufficientNoiseError(FederationError):
    """Fewer sites contributed noise than the accounting assumed: the answer is not released."""


class AnonymizationError(SynthemaError):
    """An anonymisation policy is malformed, does not fit the data, or cannot be met."""


class IncomputableMetricError(SynthemaError):
    """A metric cannot be computed on these data (no target, no survival pair, no holdout)."""
