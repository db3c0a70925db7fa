"""Positional readers: arrays and posting lists on disk of which only the rows a question needs enter memory.

`NpyRows` reads rows of a ``.npy`` file with ``os.pread``; `Postings` serves a bm25s index one posting list at
a time on top of it, and `QueryPostings` holds one query's lists. A generation (`index.store.Generation`)
opens its vector files and lexical indexes through these, so a million-chunk index stays on disk.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import CorruptIndexError


class NpyRows:
    """A 2-D (or 1-D) .npy array on disk, read with positional reads: only the rows asked for enter
    memory, and nothing stays there.

    A memory map would do the same on paper, but with the large page-cache folios of current kernels
    every touched row maps hundreds of kilobytes around it into the process: a server's resident memory
    then climbs towards the size of the files (3.7 GB at a million chunks, scripts/bench.py).
    """

    _GAP = 32  # rows apart that are still read in one call (the rows between are read and dropped)

    def __init__(self, path: Path) -> None:
        self._file = path.open("rb")
        major, _ = np.lib.format.read_magic(self._file)
        header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = header(self._file)
        if fortran or not shape:
            raise ValueError(f"{path.name} is not a C-ordered array")
        self.shape: tuple[int, ...] = tuple(shape)
        self.dtype = np.dtype(dtype)
        self._offset = self._file.tell()
        self._row = (self.shape[1:], int(np.prod(self.shape[1:], dtype=np.int64)) * self.dtype.itemsize)
        if self._offset + self.shape[0] * self._row[1] != os.fstat(self._file.fileno()).st_size:
            raise ValueError(f"{path.name} is shorter or longer than its header says")

    def __len__(self) -> int:
        return self.shape[0]

    def read(self, first: int, end: int) -> np.ndarray:
        """Rows ``[first, end)``."""
        first, end = max(first, 0), min(end, self.shape[0])
        count = max(end - first, 0)
        data = os.pread(self._file.fileno(), count * self._row[1], self._offset + first * self._row[1])
        return np.frombuffer(data, dtype=self.dtype).reshape((count, *self._row[0]))

    def take(self, ids: np.ndarray) -> np.ndarray:
        """The listed rows, in the order listed; rows close together are read in one call."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return np.empty((0, *self._row[0]), dtype=self.dtype)
        unique, inverse = np.unique(ids, return_inverse=True)
        breaks = np.flatnonzero(np.diff(unique) > self._GAP) + 1
        firsts = unique[np.concatenate([[0], breaks])]
        ends = unique[np.concatenate([breaks - 1, [len(unique) - 1]])] + 1
        size, fd, offset = self._row[1], self._file.fileno(), self._offset
        data = b"".join(
            os.pread(fd, (end - first) * size, offset + first * size)
            for first, end in zip(firsts.tolist(), ends.tolist(), strict=True)
        )
        # Where each unique row landed in ``data``: its run's start there, plus its place in the run.
        run_starts = np.concatenate([[0], np.cumsum(ends - firsts)[:-1]])
        run_of = np.repeat(np.arange(len(firsts)), np.diff(np.concatenate([[0], breaks, [len(unique)]])))
        position = run_starts[run_of] + unique - firsts[run_of]
        block = np.frombuffer(data, dtype=self.dtype).reshape((-1, *self._row[0]))
        if len(block) != int((ends - firsts).sum()):
            raise CorruptIndexError("A vector file is shorter than its header says.")
        taken: np.ndarray = block[position[inverse]]
        return taken

    def __getitem__(self, rows: slice) -> np.ndarray:
        first, end, step = rows.indices(self.shape[0])
        return self.read(first, end)[::step]


class Postings:
    """A bm25s index (built and saved by bm25s) read one posting list at a time.

    bm25s stores each word's precomputed BM25 weight per row as a CSC matrix; a query's score is
    the sum of its words' rows, exactly as bm25s's ``get_scores`` adds them (a repeated word counts
    twice; `QueryPostings.scores`). Reading only the query's lists with `NpyRows` keeps a
    million-chunk index out of memory.
    """

    def __init__(self, folder: Path) -> None:
        self._indptr: np.ndarray = np.load(folder / "indptr.csc.index.npy")  # 8 bytes a vocabulary word
        self._rows = NpyRows(folder / "indices.csc.index.npy")
        self._weights = NpyRows(folder / "data.csc.index.npy")
        params = json.loads((folder / "params.index.json").read_text("utf-8"))
        self.num_docs = int(params["num_docs"])
        if len(self._rows) != len(self._weights) or int(self._indptr[-1]) != len(self._rows):
            raise ValueError(f"the BM25 index in {folder.name} is inconsistent")

    def posting(self, token: int) -> tuple[np.ndarray, np.ndarray]:
        """The rows that hold the word (ascending) and the word's BM25 weight in each."""
        if not 0 <= token < len(self._indptr) - 1:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
        first, end = int(self._indptr[token]), int(self._indptr[token + 1])
        return self._rows.read(first, end), self._weights.read(first, end)

    def query(self, tokens: Sequence[int]) -> QueryPostings:
        """The posting lists of a query's words, each read once."""
        return QueryPostings(self.num_docs, list(tokens), {t: self.posting(t) for t in set(tokens)})


@dataclass(frozen=True)
class QueryPostings:
    """The posting lists of one query's words (`Postings.query`)."""

    num_docs: int
    tokens: list[int]  # the query's word ids in order, repeats kept
    lists: dict[int, tuple[np.ndarray, np.ndarray]]

    def scores(self) -> np.ndarray:
        """The BM25 score of every row, as bm25s's ``get_scores`` computes it."""
        scores = np.zeros(self.num_docs, dtype=np.float32)
        for token in self.tokens:
            rows, weights = self.lists[token]
            scores[rows] += weights  # a row appears once in a posting list
        return scores
