"""Hospital-style raw exports of clean simulated data, each with the mapping that undoes it.

Real site exports differ in language, delimiter, decimal mark, thousands separator (US
exports write ``150,000``), encoding, date format, units, codes and missing markers, and
they carry direct identifiers. :func:`make_raw_export`
renders a typed clean frame the way one of four site styles (:data:`STYLES`, cycling by
site number) would, and writes the mapping file that :func:`synthema.harmonize.harmonize`
needs to get the clean frame back *exactly*: converted values are written with just
enough decimals to survive the round trip. The styles are generic over any dictionary:
units follow each variable's ``quantity``, codes follow its type, and names come from its
name (with a small translation table for common clinical variables).

Identifiers (name, hospital number, birth date consistent with age and index date,
postcode) are listed under ``drop:``; the clean patient id travels as a study-id column.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthema.cohorts.styles import STYLES, Style
from synthema.harmonize.convert import finish_numeric, parse_number
from synthema.harmonize.mapping import dump_mapping
from synthema.harmonize.units import unit_factor, variable_quantity
from synthema.schema.dictionary import BUILTIN, Dictionary, Variable, VariableType, builtin_path
from synthema.schema.values import out_of_range
from synthema.tables import DEFAULT_MISSING
from synthema.tables.sheets import cell_text


@dataclass(frozen=True)
class RawExport:
    """One hospital-style export: its text cells, its mapping and how to write them.

    ``data`` holds the cells as the file holds them (decimal commas, the style's missing
    marker; Excel cells as :func:`synthema.tables.read_table` renders them).
    ``mapping`` is the mapping as a dict; its ``dictionary`` entry is made relative to
    the output folder by :meth:`write`.
    """

    data: pd.DataFrame
    mapping: dict[str, Any]
    style: str
    extension: str
    kinds: dict[str, str]
    dictionary_path: str | None = None

    def write(self, directory: Path, *, name: str) -> list[Path]:
        """Write ``name.<ext>`` and ``name.mapping.yaml`` into ``directory``; return both."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        data_path = directory / f"{name}{self.extension}"
        read = self.mapping.get("read", {})
        if self.extension == ".xlsx":
            self._write_excel(data_path, read.get("sheet") or "Sheet1")
        else:
            self.data.to_csv(data_path, sep=read.get("delimiter", ","), index=False,
                             encoding=read.get("encoding", "utf-8"), lineterminator="\r\n")
        mapping = {"dictionary": self.mapping["dictionary"], "file": data_path.name}
        mapping |= {k: v for k, v in self.mapping.items() if k != "dictionary"}
        if self.dictionary_path:
            mapping["dictionary"] = os.path.relpath(self.dictionary_path, directory.resolve())
        map_path = directory / f"{name}.mapping.yaml"
        header = (f"# Mapping of {data_path.name} ({self.style} style) onto dictionary "
                  f"'{mapping['dictionary']}'.\n# Apply: synthema harmonize --mapping "
                  f"{map_path.name} --out harmonised.csv\n")
        map_path.write_text(header + dump_mapping(mapping), encoding="utf-8")
        return [data_path, map_path]

    def _write_excel(self, path: Path, sheet: str) -> None:
        import openpyxl

        book = openpyxl.Workbook()
        ws = book.active
        ws.title = sheet
        ws.append(list(self.data.columns))
        kinds = [self.kinds.get(c, "text") for c in self.data.columns]
        for row in self.data.itertuples(index=False):
            ws.append([_excel_value(v, k) for v, k in zip(row, kinds, strict=True)])
        for pos, kind in enumerate(kinds, start=1):
            if kind == "date":
                for cell in next(ws.iter_cols(min_col=pos, max_col=pos, min_row=2)):
                    cell.number_format = "DD/MM/YYYY"
        book.save(path)


def _excel_value(text: str, kind: str) -> Any:
    if text == "":
        return None
    if kind == "number":
        return int(text) if re.fullmatch(r"-?\d+", text) else float(text)
    if kind == "date":
        return dt.date.fromisoformat(text)
    return text


# -- values -------------------------------------------------------------------------------------
def _round_trips(text: pd.Series, target: pd.Series, var: Variable, factor: float) -> bool:
    # harmonize checks the range on the converted value before rounding: stay inside it too
    converted = parse_number(text) * factor
    if out_of_range(converted, var).any():
        return False
    back = finish_numeric(converted, var)
    return bool((back.astype("Float64") == target.astype("Float64")).fillna(False).all())


def _number_text(values: pd.Series, var: Variable, factor: float | None) -> pd.Series:
    """Numbers as text ('.' decimals) that harmonise back to ``values`` exactly."""
    present = values.dropna()
    num = present.astype("float64")
    if factor is None:
        if var.is_whole_number:
            text = num.map(lambda v: str(int(round(v))))
        elif var.decimals is not None:
            text = num.map(lambda v: f"{v:.{var.decimals}f}")
        else:
            text = num.map(lambda v: np.format_float_positional(v, trim="-"))
        return text.reindex(values.index).astype("string")
    raw = num / factor
    target_decimals = 0 if var.is_whole_number else (var.decimals or 0)
    start = max(0, math.ceil(target_decimals + math.log10(factor)))
    for d in range(start, start + 10):
        text = raw.round(d).map(lambda v, d=d: f"{v:.{d}f}").astype("string")
        if _round_trips(text, present, var, factor):
            return text.reindex(values.index).astype("string")
    raise ValueError(f"no exact text for '{var.name}' in its site unit")  # pragma: no cover


def group_thousands(text: str, sep: str = ",") -> str:
    """``150000`` -> ``150,000``; ``-1234.5`` -> ``-1,234.5`` (numbers below 1000 unchanged).

    >>> [group_thousands(t) for t in ("150000", "-1234.5", "999", "12.75")]
    ['150,000', '-1,234.5', '999', '12.75']
    """
    sign, body = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, dot, frac = body.partition(".")
    if not whole.isdigit() or len(whole) <= 3:
        return text
    groups = []
    while len(whole) > 3:
        whole, groups = whole[:-3], [whole[-3:], *groups]
    return sign + sep.join([whole, *groups]) + dot + frac


def _codes(var: Variable, style: Style) -> dict[str, str]:
    """Dictionary category -> the site's code for it."""
    cats = list(var.categories)
    keys = [_sex_key(c) for c in cats]
    if len(cats) == 2 and sorted(k or "" for k in keys) == ["F", "M"]:
        return {c: style.sex_codes[k] for c, k in zip(cats, keys, strict=True) if k}
    match style.categories:
        case "verbatim":
            codes = {c: c for c in cats}
        case "lower":
            codes = {c: c.lower() for c in cats}
        case "upper":
            codes = {c: c.upper() for c in cats}
        case "numeric":
            codes = {c: str(i) for i, c in enumerate(cats, start=1)}
        case _:
            raise ValueError(f"unknown category style {style.categories!r}")
    if len(set(codes.values())) < len(codes) or set(codes.values()) & set(DEFAULT_MISSING):
        codes = {c: str(i) for i, c in enumerate(cats, start=1)}  # would clash or read as missing
    return codes


def _sex_key(category: str) -> str | None:
    low = category.lower()
    return "F" if low in ("f", "female", "w") else "M" if low in ("m", "male") else None


@dataclass
class _Column:
    header: str
    text: pd.Series
    entry: dict[str, Any]
    kind: str
    codes: tuple[str, ...] = ()


def _encode(values: pd.Series, var: Variable, style: Style) -> _Column:
    entry: dict[str, Any] = {}
    kind = "text"
    unit_word = None
    match var.type:
        case VariableType.CATEGORICAL | VariableType.ORDINAL:
            codes = _codes(var, style)
            text = values.astype("string").map(codes, na_action="ignore")
            if any(k != v for k, v in codes.items()):
                pairs = sorted(codes.items(), key=lambda kv: int(kv[1]) if kv[1].isdigit() else 0)
                entry["codes"] = {v: k for k, v in pairs}
            kind = "number" if all(v.isdigit() for v in codes.values()) else "text"
            return _Column(style.header(var, None), text, entry, kind, tuple(codes.values()))
        case VariableType.BOOLEAN:
            yes, no = style.true_false
            text = values.astype("boolean").map({True: yes, False: no}, na_action="ignore")
            entry["codes"] = {yes: True, no: False}
            kind = "number" if yes.isdigit() and no.isdigit() else "text"
            return _Column(style.header(var, None), text, entry, kind, (yes, no))
        case VariableType.DATE:
            dates = pd.to_datetime(values)
            if style.date_format:
                entry["date_format"] = style.date_format
                text = dates.dt.strftime(style.date_format)
            else:
                text, kind = dates.dt.strftime("%Y-%m-%d"), "date"
            return _Column(style.header(var, None), text, entry, kind)
        case VariableType.INTEGER | VariableType.CONTINUOUS | VariableType.DURATION:
            factor, unit = _site_unit(var, style)
            if unit is not None:
                entry["unit"] = unit
                unit_word = unit
            text = _number_text(values, var, factor)
            if style.thousands:
                text = text.map(lambda t: group_thousands(t, style.thousands),
                                na_action="ignore").astype("string")
            if style.decimal == ",":
                text = text.str.replace(".", ",", regex=False)
            if style.extension == ".xlsx":
                text = text.map(lambda t: cell_text(float(t)), na_action="ignore")
            return _Column(style.header(var, unit_word), text, entry, "number")
        case _:
            raise ValueError(f"unknown variable type {var.type!r}")


def _site_unit(var: Variable, style: Style) -> tuple[float | None, str | None]:
    quantity = variable_quantity(var)
    if quantity is None or not var.unit:
        return None, None
    if not (var.is_whole_number or var.decimals is not None):
        return None, None  # unrounded values cannot survive a conversion exactly
    unit = style.unit_for(var, quantity)
    if unit is None or unit == var.unit:
        return None, None
    f_site, f_target = unit_factor(quantity, unit), unit_factor(quantity, var.unit)
    if f_site is None or f_target is None:
        return None, None
    factor = f_site / f_target
    return (None if factor == 1.0 else factor), unit


# -- identifiers --------------------------------------------------------------------------------
def _birth_dates(df: pd.DataFrame, dictionary: Dictionary, age_column: str,
                 index_date_column: str, rng: np.random.Generator) -> list[dt.date]:
    n = len(df)
    if age_column in df:
        ages = pd.to_numeric(df[age_column], errors="coerce").astype("float64").to_numpy()
    else:
        ages = np.full(n, np.nan)
    if index_date_column in df:
        index = pd.to_datetime(df[index_date_column])
    else:
        index = pd.Series(pd.NaT, index=df.index)
    var = dictionary[age_column] if age_column in dictionary else None
    lo = int(var.min) if var is not None and isinstance(var.min, float) else 18
    hi = int(var.max) if var is not None and isinstance(var.max, float) else 90
    out = []
    for i in range(n):
        age = int(math.floor(ages[i])) if not np.isnan(ages[i]) else int(rng.integers(lo, hi + 1))
        ref = index.iloc[i].date() if not pd.isna(index.iloc[i]) else dt.date(2020, 6, 30)
        latest = _years_before(ref, age)  # born on or before this day: age >= `age`
        earliest = _years_before(ref, age + 1) + dt.timedelta(days=1)
        out.append(latest - dt.timedelta(days=int(rng.integers(0, (latest - earliest).days + 1))))
    return out


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _female(df: pd.DataFrame, dictionary: Dictionary, rng: np.random.Generator) -> np.ndarray:
    for var in dictionary.variables:
        keys = [_sex_key(c) for c in var.categories]
        if len(keys) == 2 and sorted(k or "" for k in keys) == ["F", "M"] and var.name in df:
            sex = df[var.name].astype("string").map(_sex_key, na_action="ignore")
            guess = rng.random(len(df)) < 0.5
            return np.where(sex.isna().to_numpy(), guess, (sex == "F").fillna(False).to_numpy())
    return rng.random(len(df)) < 0.5


# -- the export ---------------------------------------------------------------------------------
def _dictionary_reference(dictionary: Dictionary) -> tuple[str, str | None]:
    source = Path(dictionary.source)
    if dictionary.name in BUILTIN:
        try:
            if source.resolve() == builtin_path(dictionary.name).resolve():
                return dictionary.name, None
        except OSError:
            pass
    if source.is_file():
        return str(source.resolve()), str(source.resolve())
    return dictionary.name, None


def make_raw_export(
    df: pd.DataFrame,
    dictionary: Dictionary,
    *,
    site: int,
    age_column: str,
    index_date_column: str,
    rng: np.random.Generator,
) -> RawExport:
    """Render a typed clean frame as hospital ``site`` would export it.

    Args:
        df: typed clean frame with the dictionary's columns (patient id first).
        dictionary: the dictionary ``df`` follows.
        site: 1-based site number; picks the style (cycling through :data:`STYLES`).
        age_column: the age variable (birth dates are consistent with it).
        index_date_column: the date the age refers to (e.g. diagnosis date).
        rng: randomness for identifiers.
    """
    absent = [c for c in dictionary.columns if c not in df.columns]
    if absent:
        raise ValueError(f"clean frame lacks dictionary columns: {', '.join(absent)}")
    style = STYLES[(site - 1) % len(STYLES)]
    df = df.reset_index(drop=True)
    columns = [_encode(df[v.name], v, style) for v in dictionary.variables]
    used_codes = {c for col in columns for c in col.codes}
    marker = style.missing if style.missing not in used_codes else ""
    idents = style.identifiers(
        n=len(df), female=_female(df, dictionary, rng),
        birth=_birth_dates(df, dictionary, age_column, index_date_column, rng), rng=rng,
        years=_index_years(df, index_date_column),
    )
    frame: dict[str, pd.Series] = {h: pd.Series(v, dtype="string") for h, v in idents.items()}
    kinds = {style.birth_header: "date"} if style.extension == ".xlsx" else {}
    entries: dict[str, Any] = {}
    if dictionary.patient_id:
        frame[style.study_header] = df[dictionary.patient_id].astype("string")
        entries[dictionary.patient_id] = {"from": style.study_header}
    taken = set(frame)
    for var, col in zip(dictionary.variables, columns, strict=True):
        header = col.header
        k = 2
        while header in taken:
            header, k = f"{col.header}_{k}", k + 1
        taken.add(header)
        frame[header] = col.text.astype("string").fillna(marker)
        kinds[header] = col.kind
        entries[var.name] = {"from": header} | col.entry
    data = pd.DataFrame(frame).astype("string")
    encoding = style.encoding
    if encoding != "utf-8" and not _encodable(data, encoding):
        encoding = "utf-8"
    read = {k: v for k, v in style.read.items() if k != "encoding"}
    if encoding != "utf-8":
        read["encoding"] = encoding
    ref, ref_path = _dictionary_reference(dictionary)
    mapping: dict[str, Any] = {"dictionary": ref, "source": f"Site {site} export ({style.title})"}
    if read:
        mapping["read"] = read
    if marker:
        mapping["missing_values"] = [marker]
    mapping["drop"] = list(idents)
    mapping["columns"] = entries
    return RawExport(data=data, mapping=mapping, style=style.key, extension=style.extension,
                     kinds=kinds, dictionary_path=ref_path)


def _index_years(df: pd.DataFrame, index_date_column: str) -> np.ndarray:
    if index_date_column not in df:
        return np.full(len(df), 2020)
    years = pd.to_datetime(df[index_date_column]).dt.year
    return years.fillna(2020).astype(int).to_numpy()


def _encodable(data: pd.DataFrame, encoding: str) -> bool:
    try:
        "\n".join(data.columns).encode(encoding)
        for col in data.columns:
            "\n".join(data[col].fillna("").tolist()).encode(encoding)
    except UnicodeEncodeError:
        return False
    return True
