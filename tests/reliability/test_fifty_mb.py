"""Reliability 9: a 50 MB text file — bounded memory.
"""

from __future__ import annotations

import pytest
from reliability_support import BigIngest

from ingest.generations import generation
from ingest.manifest import read_manifest

# Peak memory allowed for ingesting the 50 MB file below (18.4 M characters, 620 k
# sentences), lexical-only. Ingest holds every unit, passage and token list of a
# document until the writer has taken it (ingest.writer: one document at a time), then
# scores BM25 from counts: about 1.8 kB per sentence, 1,086 MiB measured (this machine,
# Python 3.11; 1.4 GB when bm25s built the matrix from every token list).
# Before the segmenter flushed long blocks, a file without blank lines was one block
# whose clean text was a list of 18 M one-character strings plus their offsets, and
# tokens were not interned: 2.8 GB and 148 s. 2 GB catches that kind of regression.
PEAK_RSS_LIMIT = 2 * 1024**3


@pytest.mark.slow
def test_fifty_megabyte_file_ingests_in_bounded_memory(fifty_mb_ingest: BigIngest | None) -> None:
    assert fifty_mb_ingest is not None
    rc, seconds, out = fifty_mb_ingest.wait(timeout=900)
    peak = fifty_mb_ingest.peak
    print(f"\n50 MB ingest: {fifty_mb_ingest.size / 1e6:.1f} MB, peak RSS {peak / 1024**2:.0f} MiB, "
          f"{seconds:.1f} s (beside the other tests of this file)")
    assert rc == 0, out
    assert out.startswith("indexed 1 documents")
    m = read_manifest(generation(fifty_mb_ingest.root / "index"))
    text = (fifty_mb_ingest.root / "big" / "big.txt").read_text(encoding="utf-8")
    assert m.counts["chars"] == len(text)
    assert m.counts["units"] > 500_000
    assert 0 < peak < PEAK_RSS_LIMIT, f"peak RSS {peak / 1024**2:.0f} MiB"
