"""Time columns as people write them: integer steps, R's decimal years, quarters, months, day/month order."""

import numpy as np
import pandas as pd
import pytest

from rnnkit.data.inputs import read_table
from rnnkit.data.timeseries import SeriesColumns, to_panel
from rnnkit.errors import UserError


def panel(times, **options):
    frame = pd.DataFrame({"t": times, "y": np.arange(len(times), dtype=float)})
    return to_panel(frame, SeriesColumns(target="y", time="t"), **options)


@pytest.mark.parametrize("times, freq, first", [
    (np.round(1920 + np.arange(36) / 12, 3), "MS", ["1920-01-01", "1920-02-01"]),  # R: time(nottem)
    (1990 + np.arange(12) / 4, "QS-OCT", ["1990-01-01", "1990-04-01"]),
    ([f"{1990 + i // 4}Q{i % 4 + 1}" for i in range(12)], "QS-OCT", ["1990-01-01", "1990-04-01"]),
    ([f"{1990 + i // 4} q{i % 4 + 1}" for i in range(12)], "QS-OCT", ["1990-01-01", "1990-04-01"]),
    ([f"{1990 + i // 12}-{i % 12 + 1:02d}" for i in range(24)], "MS", ["1990-01-01", "1990-02-01"]),
    ([f"{d:02d}/03/2020" for d in range(1, 25)], "D", ["2020-03-01", "2020-03-02"]),  # day first: 13..24 say so
    ([f"03/{d:02d}/2020" for d in range(1, 25)], "D", ["2020-03-01", "2020-03-02"]),  # month first
])
def test_times_are_read_as_written(times, freq, first):
    found = panel(times)
    assert found.freq == freq and [str(t.date()) for t in found.series[0].index[:2]] == first


def test_numbers_are_steps_not_nanoseconds():
    assert list(panel([1949, 1950, 1951, 1952]).series[0].index) == [1949, 1950, 1951, 1952]
    assert list(panel([1.0, 2.0, 3.0]).series[0].index) == [1, 2, 3]


@pytest.mark.parametrize("times, message", [
    (np.arange(30) * 0.5, r"time column 't' holds decimal numbers \(e\.g\. 0\.5\) that are neither whole steps nor "
                          r"decimal years"),
    ([f"01/{m:02d}/2020" for m in range(1, 10)], r"time column 't' is ambiguous: '01/02/2020' reads as month 01, "
                                                 r"day 02 \(US\) or day 01, month 02 of 2020"),
    (["13/01/2020", "01/13/2020", "14/01/2020"], r"mixes day/month and month/day dates"),
    (["2020-01-01", "2020-01-02", "soon"], r"not a date or time at row 3: 'soon'"),
    ([True, False, True], r"true/false values, not times"),
])
def test_unreadable_times_are_refused_with_an_example(times, message):
    with pytest.raises(UserError, match=message):
        panel(times)


def test_a_time_read_from_a_file_is_named_by_its_line(tmp_path):
    path = tmp_path / "series.csv"
    path.write_text("t,y\n2020-01-01,1\n\n2020-01-02,2\nlater,3\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"series\.csv: time column 't' has a value that is not a date or time at "
                                        r"line 5: 'later'"):
        to_panel(read_table(path), SeriesColumns(target="y", time="t"), where=str(path))
