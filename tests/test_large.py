"""Inputs of more than 2**31 elements: every offset and count in 64 bits.

Opt-in (``LOGSOFTMAX_C_TEST_LARGE=1``): each case writes an 8.6 GB output (10-19 GiB
of free memory in all, checked first) and takes about ten seconds, beyond a CI
machine.  The inputs come from ``np.zeros``
(pages of zeros the system shares until written), a few elements set; the expected
values are those of the closed form, checked block by block so that no temporary the
size of the array is made.
"""
import os

import numpy as np
import pytest

import logsoftmax_c as lsc

BIG = 2**31

pytestmark = [
    pytest.mark.skipif(os.environ.get("LOGSOFTMAX_C_TEST_LARGE") != "1",
                       reason="inputs of 2**31 elements: set LOGSOFTMAX_C_TEST_LARGE=1"),
]


def _free_bytes():
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 0


def _need(gib):
    if _free_bytes() < gib * 2**30:
        pytest.skip(f"needs about {gib} GiB of free memory")


def _lse(terms):
    """log(sum(counts * exp(values))) in double, for (value, count) pairs."""
    m = max(v for v, _ in terms)
    return m + np.log(sum(c * np.exp(v - m) for v, c in terms))


def _blocks_equal(y, value, stop, step=2**26):
    """y[:stop] (1-d) all equal to value, checked in blocks."""
    for i in range(0, stop, step):
        if not (y[i:min(i + step, stop)] == value).all():
            return False
    return True


@pytest.mark.parametrize("num_threads", [1, 2])
def test_one_row_longer_than_2_31(num_threads):
    _need(10)
    n = BIG + 37
    x = np.zeros(n, np.float32)
    x[3] = -np.inf
    x[n - 5] = 10.0
    y = lsc.log_softmax(x, num_threads=num_threads)
    s = _lse([(0.0, n - 2), (10.0, 1)])
    rest = y[0]
    assert rest == pytest.approx(-s, rel=1e-6)
    assert y[3] == -np.inf
    assert y[n - 5] == pytest.approx(10.0 - s, rel=1e-6)
    assert (y[:3] == rest).all()
    assert _blocks_equal(y[4:], rest, n - 9)
    assert (y[n - 4:] == rest).all()
    assert np.float32(lsc.logsumexp(x, num_threads=num_threads)) == pytest.approx(s, rel=1e-6)


def test_rows_past_2_31_elements():
    _need(19)
    rows, n = 2**21 + 1, 1024
    x = np.zeros((rows, n), np.float32)
    x[:, 7] = 5.0
    x[-1, -1] = 20.0
    y = lsc.log_softmax(x, axis=1, num_threads=2)
    s = _lse([(0.0, n - 1), (5.0, 1)])
    assert y[0, 0] == pytest.approx(-s, rel=1e-6)
    assert y[0, 7] == pytest.approx(5.0 - s, rel=1e-6)
    for i in range(0, rows - 1, 2**16):
        block = y[i:min(i + 2**16, rows - 1)]
        assert (block == y[0]).all()
    s2 = _lse([(0.0, n - 2), (5.0, 1), (20.0, 1)])
    assert y[-1, 0] == pytest.approx(-s2, rel=1e-6)
    assert y[-1, -1] == pytest.approx(20.0 - s2, rel=1e-5)


def test_columns_past_2_31_elements():
    _need(13)
    n, b = 3, BIG // 3 + 11
    x = np.zeros((n, b), np.float32)
    x[1, :] = 1.0
    x[2, -1] = 9.0
    y = lsc.log_softmax(x, axis=0, num_threads=2)
    s = _lse([(0.0, 2), (1.0, 1)])
    np.testing.assert_allclose(y[:, 0], [-s, 1.0 - s, -s], rtol=1e-6)
    for j in range(n):
        assert _blocks_equal(y[j], y[j, 0], b - 1)
    s3 = _lse([(0.0, 1), (1.0, 1), (9.0, 1)])
    np.testing.assert_allclose(y[:, -1], [-s3, 1.0 - s3, 9.0 - s3], rtol=1e-5)
