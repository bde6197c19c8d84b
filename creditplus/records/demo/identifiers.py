"""Check characters of Chinese identifiers, vectorized over (n, width) byte matrices.

USCCs (GB 32100) with their embedded organisation codes (GB 11714) and resident ID
numbers (GB 11643, ISO 7064 MOD 11-2). The bad rows reuse them to break a check on purpose.
"""

from __future__ import annotations

import numpy as np
import polars as pl

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_BYTES = np.frombuffer(USCC_ALPHABET.encode(), np.uint8)
_USCC_VALUE = np.zeros(128, np.int64)
_USCC_VALUE[_USCC_BYTES] = np.arange(31)
_USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], np.int64)
_ORG_VALUE = np.zeros(128, np.int64)
_ORG_VALUE[np.arange(48, 58)] = np.arange(10)
_ORG_VALUE[np.arange(65, 91)] = np.arange(10, 36)
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], np.int64)
_RIC_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], np.int64)


def _matrix(strings: pl.Series, width: int) -> np.ndarray:
    """Fixed-width ASCII strings as an (n, width) uint8 matrix."""
    if strings.len() == 0:
        return np.zeros((0, width), np.uint8)
    joined = strings.str.join("").item()
    return np.frombuffer(joined.encode("ascii"), np.uint8).reshape(-1, width).copy()


def _strings(matrix: np.ndarray) -> pl.Series:
    width = matrix.shape[1]
    return pl.Series(np.ascontiguousarray(matrix).view(f"S{width}").ravel()).cast(pl.String)


def uscc_check_values(m17: np.ndarray) -> np.ndarray:
    """GB 32100 check values (0–30) of (n, 17) uint8 USCC bodies."""
    return (31 - (_USCC_VALUE[m17] @ _USCC_WEIGHTS) % 31) % 31


def with_uscc_check(bodies: pl.Series) -> pl.Series:
    """Append the GB 32100 check character to 17-character bodies."""
    m = _matrix(bodies, 17)
    return _strings(np.hstack([m, _USCC_BYTES[uscc_check_values(m)][:, None]]))


def org_check_chars(m8: np.ndarray) -> np.ndarray:
    """GB 11714 check characters (ASCII) of (n, 8) organisation code bodies."""
    c = 11 - (_ORG_VALUE[m8] @ _ORG_WEIGHTS) % 11
    return np.where(c == 10, ord("X"), np.where(c == 11, ord("0"), c + 48)).astype(np.uint8)


def with_ric_check(bodies: pl.Series) -> pl.Series:
    """Append the ISO 7064 MOD 11-2 check character to 17-digit resident ID bodies."""
    m = _matrix(bodies, 17)
    c = (12 - ((m.astype(np.int64) - 48) @ _RIC_WEIGHTS) % 11) % 11
    check = np.where(c == 10, ord("X"), c + 48).astype(np.uint8)
    return _strings(np.hstack([m, check[:, None]]))
