"""The mixed encoding puts every value in its own variable's columns, however wide the frame."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthema.evaluate.encoding import MixedEncoder
from synthema.schema import Dictionary


def test_categorical_one_hot_lands_in_its_block_past_column_127():
    # Setup: 62 booleans (2 columns each) put a 6-category variable at columns 124..130;
    # pandas' int8 category codes plus the offset wrapped to negative indices before the fix
    flags = [{"name": f"f{i:02d}", "type": "boolean"} for i in range(62)]
    cats = ["a", "b", "c", "d", "e"]
    d = Dictionary.from_mapping(
        {
            "name": "wide",
            "version": 1,
            "variables": [*flags, {"name": "c", "type": "categorical", "categories": cats}],
        }
    )
    enc = MixedEncoder.from_dictionary(d)
    frame = pd.DataFrame({f["name"]: pd.array([False] * 5, dtype="boolean") for f in flags})
    frame["c"] = pd.array(cats, dtype="string")

    # Run
    x = enc.transform(frame)

    # Assert: row i has exactly one 1 in c's block, at category i, and nothing outside it
    block = enc.slices["c"]
    assert block.start == 124 and block.stop == 130
    np.testing.assert_array_equal(x[:, block], np.eye(5, 6, dtype=np.float32) * x[0, block].max())
    assert x[0, block].max() > 0
    outside = np.delete(x, np.arange(block.start, block.stop), axis=1)
    np.testing.assert_array_equal(outside, np.broadcast_to(outside[0], outside.shape))
