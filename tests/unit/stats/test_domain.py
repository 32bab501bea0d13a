"""The Domain: public, data-independent, mbi-shaped, with a missing code on every attribute."""

from __future__ import annotations

import copy
import inspect
import pickle

import pytest

from synthema.errors import DictionaryError
from synthema.schema import Dictionary, VariableType, load_dictionary
from synthema.stats import Attribute, Domain


def test_domain_is_built_from_the_dictionary_alone_and_is_reproducible(aml_dictionary):
    # Setup
    params = inspect.signature(Domain.from_dictionary).parameters
    # Run
    first = Domain.from_dictionary(aml_dictionary)
    second = Domain.from_dictionary(load_dictionary("aml"))
    # Assert: no data argument exists, and two builds agree exactly
    assert list(params) == ["dictionary", "max_bins"]
    assert first == second and hash(first) == hash(second)
    assert first.for_mbi() == second.for_mbi()


@pytest.mark.parametrize("name", ["aml", "scd"])
def test_every_variable_is_an_attribute_with_a_final_missing_code(name, request):
    # Setup
    dictionary = request.getfixturevalue(f"{name}_dictionary")
    # Run
    domain = Domain.from_dictionary(dictionary)
    # Assert
    assert domain.names == dictionary.names
    assert domain.patient_id == "patient_id" and "patient_id" not in domain
    for attr in domain.attributes:
        var = dictionary[attr.name]
        assert attr.missing_code == attr.size - 1 and attr.labels[-1] == "missing"
        assert len(attr.labels) == attr.size
        if var.type is VariableType.BOOLEAN:
            assert attr.size == 3
        elif var.type.has_categories:
            assert attr.categories == var.categories and attr.size == len(var.categories) + 1
        else:
            assert 2 <= attr.size <= 17  # at most max_bins bins plus missing


def test_aml_shape_ecog_age_and_survival_times(aml_domain, aml_dictionary):
    # Setup
    os_days = aml_dictionary["os_days"]
    # Run
    shape = aml_domain.shape
    # Assert
    assert len(shape) == len(aml_dictionary.names) == 157
    assert aml_domain["ecog"].size == 6 and aml_domain["ecog"].labels[:5] == (
        "0",
        "1",
        "2",
        "3",
        "4",
    )
    assert aml_domain["sex"].size == 3
    assert set(os_days.cut_points) <= set(aml_domain["os_days"].edges)
    assert aml_domain["os_days"].labels[:3] == ("0..29", "30..59", "60..179")


def test_scd_shape_and_dates(scd_domain):
    # Setup
    enrolment = scd_domain["enrolment_date"]
    # Run
    shape = scd_domain.shape
    # Assert
    assert len(shape) == 74
    assert enrolment.size == 15  # 27 years in 2-year periods (14) + missing
    assert scd_domain["genotype"].size == 6
    assert scd_domain["hb"].labels[4] == "7.0..7.9"


def test_project_size_axes_and_for_mbi(aml_domain):
    # Setup
    clique = ("sex", "ecog", "npm1")
    # Run
    sub = aml_domain.project(clique)
    # Assert: order as given, like mbi's Domain.project
    assert sub.names == clique and sub.shape == (3, 6, 3)
    assert aml_domain.size(clique) == 54 and sub.size() == 54 and aml_domain.size(()) == 1
    assert aml_domain.axes(("ecog", "age")) == (9, 0)  # positions in the dictionary
    assert sub.for_mbi() == (clique, (3, 6, 3))
    assert list(sub) == list(clique) and len(sub) == 3


def test_max_bins_changes_the_resolution(aml_dictionary):
    # Setup / Run
    coarse = Domain.from_dictionary(aml_dictionary, max_bins=4)
    # Assert: cut points still win, small integers still get one bin per value
    assert coarse["os_days"].size == 9  # 7 cut points -> 8 bins, + missing
    assert coarse["ecog"].size == 5  # 4 bins (0..4 over 4 bins), + missing
    assert coarse["age"].size == 7  # 5 cut points -> 6 bins, + missing


def test_unknown_and_repeated_names_are_rejected(aml_domain):
    # Run / Assert
    with pytest.raises(KeyError, match="did you mean 'ecog'"):
        aml_domain["ecgo"]
    with pytest.raises(ValueError, match="twice"):
        aml_domain.project(["sex", "sex"])
    with pytest.raises(ValueError, match="unique"):
        Domain(aml_domain.attributes[:2] * 2)


def test_numeric_variable_without_bounds_tells_the_user_to_set_them():
    # Setup
    dictionary = Dictionary.from_mapping(
        {"name": "x", "version": 1, "variables": [{"name": "wbc", "type": "continuous"}]}
    )
    # Run / Assert
    with pytest.raises(DictionaryError, match="no public min or max") as info:
        Domain.from_dictionary(dictionary)
    assert "min and max" in info.value.fix


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": VariableType.CATEGORICAL, "dtype": "string"},
        {"kind": VariableType.CATEGORICAL, "dtype": "string", "categories": ("a", "a")},
        {"kind": VariableType.INTEGER, "dtype": "Int64", "edges": (0,), "low": 0, "high": 1},
        {"kind": VariableType.INTEGER, "dtype": "Int64", "edges": (0, 2, 1), "low": 0, "high": 1},
        {"kind": VariableType.INTEGER, "dtype": "Int64", "edges": (0, 2), "low": 3, "high": 1},
    ],
)
def test_attribute_validates_itself(kwargs):
    # Run / Assert
    with pytest.raises(ValueError, match="attribute 'x'"):
        Attribute("x", **kwargs)


def test_domain_survives_pickle_and_deepcopy(scd_domain):
    # Run
    pickled = pickle.loads(pickle.dumps(scd_domain))
    copied = copy.deepcopy(scd_domain)
    # Assert
    assert pickled == scd_domain and copied == scd_domain
    assert pickled["hb"].labels == scd_domain["hb"].labels
    assert pickled.axes(["hb"]) == scd_domain.axes(["hb"]) == (scd_domain.names.index("hb"),)
