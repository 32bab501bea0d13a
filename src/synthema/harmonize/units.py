"""Unit conversion keyed by a variable's ``quantity`` (dictionary field).

Each quantity has a table of units and their factor relative to a reference unit;
``value_in_target = value * factor[source] / factor[target]``. Factors and their sources
are listed in docs/harmonize.md. Unit spellings are matched without regard to case, with
``u``/``µ``/``μ`` and a leading ``x``/``×`` treated alike (``x10^9/l`` is ``10^9/L``).

>>> conversion_factor("haemoglobin", "mmol/L", "g/dL", column="Hb")
1.6114
>>> conversion_factor("cell_count", "/µL", "10^9/L", column="PLT")
0.001
>>> round(conversion_factor("creatinine", "umol/L", "mg/dL", column="Krea") * 88.42, 12)
1.0
"""

from __future__ import annotations

import re

from synthema.errors import MappingError
from synthema.schema.dictionary import Variable, VariableType

UNITS: dict[str, dict[str, float]] = {
    "haemoglobin": {"g/dL": 1.0, "g/L": 0.1, "mmol/L": 1.6114},
    "cell_count": {
        "10^9/L": 1.0, "G/L": 1.0, "10^3/uL": 1.0, "10^3/µL": 1.0,
        "/uL": 0.001, "/µL": 0.001, "10^6/L": 0.001,
    },
    "enzyme_activity": {"U/L": 1.0, "ukat/L": 60.0, "µkat/L": 60.0},
    "creatinine": {"mg/dL": 1.0, "umol/L": 1 / 88.42, "µmol/L": 1 / 88.42},
    "bilirubin": {"mg/dL": 1.0, "umol/L": 1 / 17.1, "µmol/L": 1 / 17.1},
    "ferritin": {"ng/mL": 1.0, "ug/L": 1.0, "µg/L": 1.0},
    "percent": {"%": 1.0, "fraction": 100.0},
    "duration": {"days": 1.0, "weeks": 7.0, "months": 30.4375, "years": 365.25},
    "velocity_cm": {"cm/s": 1.0, "m/s": 100.0},
    "velocity_m": {"m/s": 1.0, "cm/s": 0.01},
    "albumin_creatinine_ratio": {"mg/g": 1.0, "mg/mmol": 1000 / 113.12, "g/mol": 1000 / 113.12},
    "length": {"cm": 1.0, "m": 100.0, "mm": 0.1, "in": 2.54},
    "mass": {"kg": 1.0, "g": 0.001, "lb": 0.45359237},
    "pressure": {"mmHg": 1.0, "kPa": 7.50062},
    "liver_iron": {"mg/g": 1.0, "umol/g": 0.055845, "µmol/g": 0.055845},
}
_ALIASES = {"day": "days", "week": "weeks", "month": "months", "year": "years", "d": "days"}


def _key(unit: str) -> str:
    text = unit.strip().replace("μ", "µ").replace("×", "x").replace(" ", "")
    text = re.sub(r"^x(?=10)", "", text, flags=re.IGNORECASE)
    text = re.sub(r"10(\*\*|e|E)(?=\d)", "10^", text)
    text = text.lower().replace("µ", "u").replace("mcl", "ul").replace("mcg", "ug")
    return _ALIASES.get(text, text)


def known_units(quantity: str) -> tuple[str, ...]:
    """Units of a quantity's table (empty when the quantity has no table)."""
    return tuple(UNITS.get(quantity, {}))


def unit_factor(quantity: str, unit: str) -> float | None:
    """A unit's factor within its quantity's table, or None when not listed."""
    table = UNITS.get(quantity, {})
    wanted = _key(unit)
    for name, factor in table.items():
        if _key(name) == wanted:
            return factor
    return None


def same_unit(a: str, b: str) -> bool:
    """True when two spellings name the same unit (``mg/dl`` and ``mg/dL``)."""
    return _key(a) == _key(b)


def variable_quantity(var: Variable) -> str | None:
    """The quantity of a variable; durations in days/weeks/months/years imply ``duration``."""
    if var.quantity:
        return var.quantity
    if var.type is VariableType.DURATION and var.unit and unit_factor("duration", var.unit):
        return "duration"
    return None


def conversion_factor(quantity: str, source: str, target: str, *, column: str) -> float:
    """Multiplier taking values in ``source`` units to ``target`` units of ``quantity``.

    Raises:
        MappingError: naming ``column`` and listing the units known for the quantity.
    """
    if quantity not in UNITS:
        if same_unit(source, target):
            return 1.0
        raise MappingError(
            f"column '{column}': no unit table for quantity '{quantity}' "
            f"(tables: {', '.join(UNITS)})",
            fix=f"give 'factor:' (multiplier from {source} to {target}) instead of 'unit:'",
        )
    f_source = unit_factor(quantity, source)
    if f_source is None:
        raise MappingError(
            f"column '{column}': unknown {quantity} unit '{source}' "
            f"(known: {', '.join(UNITS[quantity])})",
            fix="write one of the known units, or give 'factor:' instead of 'unit:'",
        )
    f_target = unit_factor(quantity, target)
    if f_target is None:
        raise MappingError(
            f"column '{column}': the dictionary's unit '{target}' is not a known {quantity} "
            f"unit (known: {', '.join(UNITS[quantity])})",
            fix="give 'factor:' in the mapping, or correct the unit in the dictionary",
        )
    return f_source / f_target


def variable_factor(var: Variable, source_unit: str, *, column: str) -> float:
    """Multiplier from ``source_unit`` to the variable's own unit.

    Raises:
        MappingError: the variable is not numeric, has no unit, or the unit is unknown.
    """
    if not var.type.is_numeric:
        raise MappingError(
            f"column '{column}': 'unit' given for {var.type.value} variable '{var.name}'",
            fix="remove 'unit:' (units apply to numbers only)",
        )
    if not var.unit:
        raise MappingError(
            f"column '{column}': variable '{var.name}' has no unit in the dictionary",
            fix="give 'factor:' instead of 'unit:', or add a unit to the dictionary",
        )
    quantity = variable_quantity(var)
    if quantity is None:
        if same_unit(source_unit, var.unit):
            return 1.0
        raise MappingError(
            f"column '{column}': variable '{var.name}' has no quantity, so '{source_unit}' "
            f"cannot be converted to '{var.unit}'",
            fix="give 'factor:' instead of 'unit:', or add 'quantity:' to the dictionary",
        )
    return conversion_factor(quantity, source_unit, var.unit, column=column)
