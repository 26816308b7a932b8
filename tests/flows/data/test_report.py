"""What people read about a dataset: badge-sized numbers and the length histogram."""

import numpy as np
import pytest

from flows.data.report import compact, length_histogram, ready_message


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "0"), (950, "950"), (999, "999"), (1000, "1k"), (12_400, "12.4k"), (99_960, "100k"),
     (999_400, "999k"), (999_999, "1M"), (3_100_000, "3.1M"), (2_500_000_000, "2.5B")],
)
def test_compact_numbers(n, text):
    assert compact(n) == text


def test_the_ready_badge_reads_like_the_project_page():
    assert ready_message(12_400, 3_100_000) == "ready · 12.4k docs · 3.1M tok"


def test_the_histogram_counts_every_document_in_power_of_two_buckets():
    hist = length_histogram(np.array([5, 6, 7, 8, 300, 1000]))
    assert hist["edges"] == [4, 8, 16, 32, 64, 128, 256, 512, 1024]
    assert hist["counts"] == [3, 1, 0, 0, 0, 0, 1, 1]
    assert length_histogram(np.array([], dtype=int)) == {"edges": [], "counts": []}
