"""How hospitals in four countries export data: the styles simulated raw exports follow.

A :class:`Style` fixes what differs between real exports: file type, delimiter, decimal
mark, thousands separator (US exports write ``150,000``), encoding, date format, missing
marker, boolean words, category codes, the unit each
measured ``quantity`` is reported in, column names (a small translation table for common
clinical variables, a rule for the rest) and the direct identifiers a hospital system
adds. :mod:`synthema.cohorts.raw` renders clean data in a style; the mapping it writes
undoes every difference.

>>> from synthema.schema.dictionary import Variable, VariableType
>>> hb = Variable("hb", VariableType.CONTINUOUS, unit="g/dL", quantity="haemoglobin")
>>> GERMAN.unit_for(hb, "haemoglobin"), GERMAN.header(hb, "mmol/L")
('mmol/L', 'Hb_mmol')
>>> npm1 = Variable("npm1", VariableType.BOOLEAN, group="mutations")
>>> GERMAN.header(npm1, None), US.header(npm1, None)
('Mut_NPM1', 'MUT_NPM1')
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np

from synthema.schema.dictionary import Variable, VariableType

_DURATION_SUFFIX = re.compile(r"_(days|day|d|weeks|months|years)$")
_PLATELET = re.compile(r"(plt|platelet|thromb)", re.IGNORECASE)


@dataclass(frozen=True)
class Style:
    """One hospital export style (see the module docstring)."""

    key: str
    title: str
    extension: str
    read: dict[str, str]
    date_format: str | None
    missing: str
    true_false: tuple[str, str]
    units: dict[str, str]
    categories: str  # verbatim | lower | upper | numeric
    sex_codes: dict[str, str]
    case: str  # title | lower | upper
    names: dict[str, str]
    flag_prefix: dict[str, str]
    unit_words: dict[str, str]
    unit_pattern: str
    study_header: str
    birth_header: str
    name_headers: tuple[str, ...]
    mrn_header: str
    mrn_format: str
    postcode_header: str
    surnames: tuple[str, ...]
    female: tuple[str, ...]
    male: tuple[str, ...]
    unit_always: bool = False
    thousands: str | None = None
    platelet_unit: str | None = None
    upper_surname: bool = False
    mrn_range: tuple[int, int] = (1_000_000, 9_999_999)
    postcode_range: tuple[int, int] = (1_000, 99_999)

    @property
    def delimiter(self) -> str:
        """Field separator of the written text file."""
        return self.read.get("delimiter", ",")

    @property
    def decimal(self) -> str:
        """Decimal mark of numbers in the written text file."""
        return self.read.get("decimal", ".")

    @property
    def encoding(self) -> str:
        """Text encoding the style prefers (UTF-8 is used when it cannot hold the data)."""
        return self.read.get("encoding", "utf-8")

    def unit_for(self, var: Variable, quantity: str) -> str | None:
        """The unit this style reports ``quantity`` in (None: the dictionary's own)."""
        if quantity == "cell_count" and self.platelet_unit and _PLATELET.search(var.name):
            return self.platelet_unit
        if quantity == "duration" and var.unit != "days":
            return None  # follow-up in days is exported in months/weeks; ages stay in years
        return self.units.get(quantity)

    def _case(self, name: str) -> str:
        match self.case:
            case "title":
                return "_".join(t[:1].upper() + t[1:] for t in name.split("_"))
            case "lower":
                return name.lower()
            case "upper":
                return name.upper()
            case _:
                raise ValueError(f"unknown case {self.case!r}")

    def header(self, var: Variable, unit: str | None) -> str:
        """The column name this style gives ``var`` reported in ``unit``."""
        name = var.name
        if unit is not None and var.type is VariableType.DURATION:
            name = _DURATION_SUFFIX.sub("", name) or name
        base = self.names.get(var.name)
        if base is None and var.type is VariableType.BOOLEAN and var.group in self.flag_prefix:
            flag = var.name.upper() if self.case != "lower" else var.name.lower()
            base = self.flag_prefix[var.group] + flag
        if base is None:
            base = self._case(name)
        shown = unit if unit is not None else (var.unit if self.unit_always else None)
        if shown is None:
            return base
        word = self.unit_words.get(shown) or (
            shown if "(" in self.unit_pattern
            else re.sub(r"[^0-9A-Za-z%]+", "", shown.replace("µ", "u")))
        return self.unit_pattern.format(base=base, unit=word)

    def identifiers(
        self,
        *,
        n: int,
        female: np.ndarray,
        birth: list[dt.date],
        years: np.ndarray,
        rng: np.random.Generator,
    ) -> dict[str, list[str]]:
        """Direct identifiers a hospital export carries: name, number, birth date, postcode."""
        last = [self.surnames[i] for i in rng.integers(0, len(self.surnames), size=n)]
        if self.upper_surname:
            last = [s.upper() for s in last]
        first = []
        for is_female in female:
            names = self.female if is_female else self.male
            first.append(names[int(rng.integers(0, len(names)))])
        out: dict[str, list[str]] = {}
        if len(self.name_headers) == 1:
            out[self.name_headers[0]] = [f"{a}, {b}" for a, b in zip(last, first, strict=True)]
        else:
            out[self.name_headers[0]] = last
            out[self.name_headers[1]] = first
        numbers = np.unique(rng.integers(*self.mrn_range, size=n))
        while len(numbers) < n:
            numbers = np.unique(np.concatenate([numbers, rng.integers(*self.mrn_range, size=n)]))
        numbers = rng.permutation(numbers)[:n]
        out[self.mrn_header] = [
            self.mrn_format.format(n=int(k), year=int(y))
            for k, y in zip(numbers, years, strict=True)
        ]
        fmt = self.date_format or "%Y-%m-%d"
        out[self.birth_header] = [d.strftime(fmt) for d in birth]
        codes = rng.integers(*self.postcode_range, size=n)
        out[self.postcode_header] = [f"{int(c):05d}" for c in codes]
        return out


GERMAN = Style(
    key="german", title="German university hospital, CSV from SAP", extension=".csv",
    read={"delimiter": ";", "decimal": ","}, date_format="%d.%m.%Y", missing="n.d.",
    true_false=("ja", "nein"),
    units={"haemoglobin": "mmol/L", "cell_count": "G/L", "duration": "months",
           "albumin_creatinine_ratio": "mg/mmol"},
    categories="verbatim", sex_codes={"F": "w", "M": "m"}, case="title",
    names={"age": "Alter", "sex": "Geschlecht", "hb": "Hb", "wbc": "Leukos",
           "platelets": "Thrombos", "plt": "Thrombos", "ldh": "LDH", "diagnosis_date": "ED",
           "bm_blasts": "KM_Blasten", "pb_blasts": "PB_Blasten", "ecog": "ECOG",
           "os_days": "OS", "os_status": "Verstorben", "efs_days": "EFS",
           "efs_status": "EFS_Ereignis", "splenomegaly": "Milz", "creatinine": "Kreatinin",
           "ferritin": "Ferritin", "weight": "Gewicht", "height": "Groesse",
           "enrolment_date": "Einschluss", "relapse": "Rezidiv", "hsct": "AlloSZT",
           "aml_type": "AML_Typ", "induction_intensity": "Induktion",
           # SCD case report form fields (issue 26)
           "height_cm": "Groesse", "weight_kg": "Gewicht", "systolic_bp": "RR_sys",
           "diastolic_bp": "RR_dia", "spo2_pct": "SpO2"},
    flag_prefix={"mutations": "Mut_", "karyotype": "Zyto_"},
    unit_words={"months": "Monate", "mmol/L": "mmol", "G/L": "G_l"}, unit_pattern="{base}_{unit}",
    study_header="Studien_ID", birth_header="Geburtsdatum", name_headers=("Name",),
    mrn_header="PID", mrn_format="{n}", postcode_header="PLZ",
    mrn_range=(10_000_000, 99_999_999), postcode_range=(1_067, 99_998),
    surnames=("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
              "Schulz", "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann"),
    female=("Anna", "Maria", "Ursula", "Monika", "Petra", "Sabine", "Renate", "Helga", "Karin"),
    male=("Peter", "Klaus", "Michael", "Thomas", "Wolfgang", "Jürgen", "Hans", "Stefan", "Uwe"),
)

FRENCH = Style(
    key="french", title="French CHU, CSV from the hospital data warehouse", extension=".csv",
    read={"delimiter": ";", "decimal": ",", "encoding": "latin-1"}, date_format="%d/%m/%Y",
    missing="", true_false=("oui", "non"),
    units={"haemoglobin": "g/L", "cell_count": "G/L", "creatinine": "µmol/L",
           "bilirubin": "µmol/L", "ferritin": "µg/L", "albumin_creatinine_ratio": "mg/mmol",
           "liver_iron": "µmol/g"},
    categories="lower", sex_codes={"F": "F", "M": "H"}, case="lower",
    names={"age": "Âge", "sex": "Sexe", "hb": "Hémoglobine", "wbc": "Leucocytes",
           "platelets": "Plaquettes", "plt": "Plaquettes", "ldh": "LDH",
           "diagnosis_date": "Date du diagnostic", "bm_blasts": "Blastes médullaires",
           "pb_blasts": "Blastes sanguins", "ecog": "ECOG", "os_days": "Survie globale",
           "os_status": "Décès", "efs_days": "Survie sans événement", "splenomegaly":
           "Splénomégalie", "creatinine": "Créatinine", "bilirubin": "Bilirubine",
           "ferritin": "Ferritine", "weight": "Poids", "height": "Taille",
           "enrolment_date": "Date d'inclusion", "relapse": "Rechute", "hsct": "Allogreffe",
           "height_cm": "Taille", "weight_kg": "Poids", "systolic_bp": "PAS",
           "diastolic_bp": "PAD"},
    flag_prefix={"mutations": "mut_", "karyotype": "caryo_"},
    unit_words={"years": "ans", "days": "jours", "months": "mois"}, unit_pattern="{base} ({unit})",
    unit_always=True,
    study_header="N° inclusion", birth_header="Date de naissance", name_headers=("Nom", "Prénom"),
    mrn_header="IPP", mrn_format="80{n}", postcode_header="Code postal",
    mrn_range=(10_000_000, 99_999_999), postcode_range=(1_000, 95_999), upper_surname=True,
    surnames=("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
              "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Fournier", "Roux"),
    female=("Marie", "Nathalie", "Isabelle", "Sylvie", "Catherine", "Françoise", "Hélène",
            "Élodie", "Monique"),
    male=("Jean", "Pierre", "Michel", "Philippe", "Alain", "Nicolas", "François", "Éric", "Jérôme"),
)

US = Style(
    key="us", title="US cancer centre, CSV from the EHR", extension=".csv",
    read={"delimiter": ","}, thousands=",", date_format="%m/%d/%Y",
    missing="NA", true_false=("Y", "N"),
    units={"cell_count": "10^3/uL", "duration": "months", "mass": "lb", "length": "in"},
    platelet_unit="/uL",
    categories="upper", sex_codes={"F": "FEMALE", "M": "MALE"}, case="upper",
    names={"hb": "HGB", "platelets": "PLT", "diagnosis_date": "DX_DATE",
           "bm_blasts": "BM_BLAST_PCT", "pb_blasts": "PB_BLAST_PCT",
           "enrolment_date": "ENROLL_DATE", "os_status": "DECEASED", "height_cm": "HEIGHT",
           "weight_kg": "WEIGHT", "systolic_bp": "SBP", "diastolic_bp": "DBP"},
    flag_prefix={"mutations": "MUT_", "karyotype": "CYTO_"},
    unit_words={"months": "MO", "/uL": "PER_UL", "10^3/uL": "K_UL", "lb": "LB", "in": "IN"},
    unit_pattern="{base}_{unit}",
    study_header="STUDY_ID", birth_header="DOB", name_headers=("PATIENT_NAME",),
    mrn_header="MRN", mrn_format="{n:07d}", postcode_header="ZIP", upper_surname=True,
    mrn_range=(1, 9_999_999), postcode_range=(1_001, 99_950),
    surnames=("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
              "Rodriguez", "Martinez", "Wilson", "Anderson", "Taylor", "Moore", "Jackson", "Lee"),
    female=("Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Karen"),
    male=("James", "Robert", "John", "Michael", "David", "William", "Richard", "Joseph"),
)

ITALIAN = Style(
    key="italian", title="Italian haematology unit, Excel workbook", extension=".xlsx",
    read={"sheet": "Estrazione"}, date_format=None, missing="", true_false=("1", "0"),
    units={"duration": "weeks", "percent": "fraction"},
    categories="numeric", sex_codes={"M": "1", "F": "2"}, case="lower",
    names={"age": "eta", "sex": "sesso", "hb": "emoglobina", "wbc": "globuli_bianchi",
           "platelets": "piastrine", "plt": "piastrine", "diagnosis_date": "data_diagnosi",
           "bm_blasts": "blasti_midollari", "pb_blasts": "blasti_periferici",
           "os_days": "sopravvivenza", "os_status": "decesso", "splenomegaly": "splenomegalia",
           "creatinine": "creatinina", "bilirubin": "bilirubina", "ferritin": "ferritina",
           "weight": "peso", "height": "altezza", "enrolment_date": "data_arruolamento",
           "relapse": "recidiva", "hsct": "trapianto_allogenico", "height_cm": "altezza",
           "weight_kg": "peso", "systolic_bp": "pas", "diastolic_bp": "pad"},
    flag_prefix={"mutations": "mut_", "karyotype": "cario_"},
    unit_words={"weeks": "settimane", "fraction": "frazione"}, unit_pattern="{base}_{unit}",
    study_header="codice_studio", birth_header="data_nascita", name_headers=("cognome", "nome"),
    mrn_header="n_cartella", mrn_format="{year}/{n:06d}", postcode_header="cap",
    mrn_range=(1, 999_999), postcode_range=(10, 98_168),
    surnames=("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
              "Marino", "Greco", "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa"),
    female=("Giulia", "Maria", "Francesca", "Anna", "Chiara", "Laura", "Paola", "Giovanna"),
    male=("Giuseppe", "Giovanni", "Antonio", "Mario", "Luigi", "Francesco", "Marco", "Paolo"),
)

STYLES: tuple[Style, ...] = (GERMAN, FRENCH, US, ITALIAN)
