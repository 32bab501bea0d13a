"""One list of file endings for every room: what read_table reads is what a site serves."""

from __future__ import annotations

import pandas as pd
import pytest

from synthema.errors import DataFileError
from synthema.federation import deploy
from synthema.tables import READ_SUFFIXES, WRITE_SUFFIXES, is_table_file, read_table, write_table


def test_a_federated_site_serves_every_format_read_table_reads(tmp_path):
    # Setup: one harmonised-looking file per written format, plus a Parquet file named .pq
    frame = pd.DataFrame({"patient_id": ["P1", "P2"], "age": ["60", "70"]})
    files = [write_table(frame, tmp_path / f"site_0{i}{ext}")
             for i, ext in enumerate(WRITE_SUFFIXES, 1)]
    (tmp_path / "notes.docx").write_text("not a table")

    # Run: the federation picks a site's file with the same list read_table uses
    found = deploy.site_files(tmp_path, len(files))

    # Assert: the .pq file is served too (it was skipped when deploy kept its own list)
    assert found == sorted(files)
    assert all(read_table(p)["age"].tolist() == ["60", "70"] for p in found)


@pytest.mark.parametrize("suffix", READ_SUFFIXES)
def test_every_read_suffix_is_a_table_file(suffix):
    assert is_table_file(f"x{suffix.upper()}")


def test_an_unknown_ending_is_refused_with_the_formats_that_work(tmp_path):
    path = tmp_path / "site.sav"
    path.write_bytes(b"x")
    with pytest.raises(DataFileError, match="'.sav' files cannot be read") as info:
        read_table(path)
    assert ".parquet" in info.value.fix
