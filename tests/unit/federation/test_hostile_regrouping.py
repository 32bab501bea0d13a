"""A site refuses every malformed or hostile regrouping with its refusal, never another error.

Found by a review: deeply nested JSON made json.loads raise RecursionError, which the site did
not turn into a refusal; booleans passed as integers.
"""

from __future__ import annotations

import pytest
from fedhelpers import make_site

from synthema.errors import FederationError
from synthema.federation.protocol import Query, domain_fingerprint


@pytest.fixture()
def site(tmp_path, site_files, small_dictionary):
    return make_site(tmp_path, site_files[0], small_dictionary, "site_1")


HOSTILE = [
    '{"os_days":[0,9223372036854775808]}',          # beyond int64
    '{"os_days":[0,' + "9" * 400 + "]}",            # a 400-digit integer
    "[" * 100000 + "]" * 100000,                    # nesting past the recursion limit
    '{"os_days":[0,true,2]}',                       # a bool for 1
    '{"os_days":[0' + ",1" * 600000 + "]}",         # longer than MAX_JSON
    '{"os_days":[0,1e400]}',                        # a float overflowing to inf
    '{"os_days":[0,NaN]}',                          # NaN (Python's json accepts it)
    '{"os_days":[true]}',                           # a bool for 0
    '{"os_days":{"0":1}}',                          # not a list
    '"os_days"',                                    # not an object
    "{",                                            # not JSON
    '{"os_days":[]}',                               # empty
    '{"os_days":[1]}',                              # not from 0
    '{"os_days":[0,0]}',                            # not increasing
    '{"os_days":[0,-1]}',                           # negative
    '{"sex":[0,1]}',                                # not numeric
    '{"nope":[0]}',                                 # unknown
    '{"os_days":[0,-9223372036854775809]}',         # below int64
]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_hostile_regrouping_is_refused(site, small_domain, text):
    # Setup
    query = Query("q-hostile", (("os_days",),), share_sigma=2.0, n_sites=3, min_contributors=2,
                  fingerprint=domain_fingerprint(small_domain), regrouping=text)
    # Run / Assert: the site's refusal, nothing else, and nothing charged
    with pytest.raises(FederationError, match="REFUSAL|bad regrouping"):
        site.answer(query)
