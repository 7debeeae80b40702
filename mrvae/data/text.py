"""Text corpora for the LSTM VAE (Section 5.2, Appendix C): Yahoo Answers, as padded id tensors.

Format (He et al., 2019; Yang et al., 2017): one document per line, already tokenised and
lowercased, words separated by blanks, rare words replaced by ``_UNK``. A document becomes the
row ``<s> w_1 ... w_n </s> <pad> ...`` of a LongTensor ``(N, T)``; ``T`` is the longest row of
its split, ``<pad>`` (id 0) fills the rest. The ids of the specials follow He et al.'s loader:
``<pad>`` 0, ``<s>`` 1, ``</s>`` 2, ``<unk>`` 3, then the words.

* :class:`Vocabulary`: built from the training split alone, most frequent words first, ties
  broken alphabetically, so the same files always give the same ids. The files' ``_UNK`` (and a
  literal ``<unk>``) map to ``<unk>``; words outside the vocabulary do too.
* :func:`encode_documents`: documents → padded ids (Python per token here, at load time only).
* :class:`BucketedBatches`: training batches of similar length, each trimmed to its longest
  row; satisfies :class:`mrvae.training.loop.Batches`.
* :func:`load_yahoo`: the official ``yahoo.{train,valid,test}.txt`` when all three are there;
  without ``yahoo.train.txt`` (not redistributable, absent offline) it trains on a fixed-seed
  split of ``yahoo.valid.txt`` and tests on ``yahoo.test.txt``.

Results of file reads are cached per process: treat the returned tensors as read-only.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from mrvae.data.roots import DATA_ENV_VAR, _locate, data_roots

__all__ = [
    "BOS",
    "BOS_ID",
    "EOS",
    "EOS_ID",
    "PAD",
    "PAD_ID",
    "UNK",
    "UNK_ID",
    "YAHOO_FILES",
    "BucketedBatches",
    "TextData",
    "Vocabulary",
    "describe",
    "encode_documents",
    "load_yahoo",
    "read_documents",
    "sequence_lengths",
    "word_counts",
]

PAD, BOS, EOS, UNK = "<pad>", "<s>", "</s>", "<unk>"
SPECIALS: tuple[str, ...] = (PAD, BOS, EOS, UNK)
PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3
#: Tokens of the files that stand for a rare word: the Yahoo files' ``_UNK``, or ``<unk>``.
UNKNOWN_ALIASES: frozenset[str] = frozenset({"_UNK", UNK})

#: The three files of He et al.'s Yahoo release, inside a ``Yahoo/`` folder of a data root.
YAHOO_FILES: dict[str, str] = {"train": "yahoo.train.txt", "valid": "yahoo.valid.txt", "test": "yahoo.test.txt"}
_YAHOO_DIRS = ("Yahoo", "yahoo", "yahoo_data")
#: Held-out documents of the offline split of ``yahoo.valid.txt`` (the rest train).
OFFLINE_VALID_SIZE = 1_000
_YAHOO_HINT = (
    "Yahoo Answers has no official download URL. Copy the tokenised files of He et al. (2019), "
    "yahoo.train.txt, yahoo.valid.txt and yahoo.test.txt (github.com/jxhe/vae-lagging-encoder; "
    "its prepare_data.py fetches them), into <data root>/Yahoo/, or pass root=<that folder's "
    f"parent>, or set {DATA_ENV_VAR}. Without yahoo.train.txt, load_yahoo trains on a fixed-seed "
    "split of yahoo.valid.txt."
)


# ----------------------------------------------------------------------------- vocabulary


@dataclass(frozen=True)
class Vocabulary:
    """Token ↔ id map: the four specials (ids 0–3, see the module docstring), then the words.

    Attributes:
        tokens: every token by id; ``tokens[:4]`` are :data:`SPECIALS`.
    """

    tokens: tuple[str, ...]
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if tuple(self.tokens[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"a Vocabulary must start with the specials {list(SPECIALS)}, got "
                             f"{list(self.tokens[: len(SPECIALS)])}; build one with Vocabulary.build")
        words = self.tokens[len(SPECIALS):]
        clash = sorted(set(words) & (set(SPECIALS) | UNKNOWN_ALIASES))
        if clash:
            raise ValueError(f"vocabulary words {clash} collide with the special tokens; drop them")
        if len(set(words)) != len(words):
            repeated = sorted(w for w, n in Counter(words).items() if n > 1)[:5]
            raise ValueError(f"vocabulary words must be unique; repeated: {repeated}")
        # Only words are looked up: a special's spelling in a document is an unknown word.
        object.__setattr__(self, "_index", {w: i for i, w in enumerate(words, start=len(SPECIALS))})

    @classmethod
    def build(cls, documents: Iterable[Sequence[str]], max_vocab: int | None = None) -> Vocabulary:
        """The words of ``documents`` by decreasing count, ties broken alphabetically.

        Args:
            documents: tokenised documents (the training split only).
            max_vocab: keep the ``max_vocab`` most frequent words (the four specials come on
                top); ``None`` keeps all. Rare-word aliases (``_UNK``) and specials are not words.
        """
        if max_vocab is not None and (isinstance(max_vocab, bool) or not isinstance(max_vocab, int)
                                      or max_vocab < 1):
            raise ValueError(f"max_vocab must be a positive int or None, got {max_vocab!r}")
        counts = Counter(itertools.chain.from_iterable(documents))
        for token in (*SPECIALS, *UNKNOWN_ALIASES):
            counts.pop(token, None)
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        if max_vocab is not None:
            ranked = ranked[:max_vocab]
        return cls(SPECIALS + tuple(word for word, _ in ranked))

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def words(self) -> tuple[str, ...]:
        """The regular words, ids ``4, 5, ...``."""
        return self.tokens[len(SPECIALS):]

    def id(self, token: str) -> int:
        """The id of a word; unknown words, aliases and spelled-out specials give :data:`UNK_ID`."""
        return self._index.get(token, UNK_ID)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Ids of ``tokens`` (no ``<s>``/``</s>`` added; see :func:`encode_documents`)."""
        index = self._index
        return [index.get(token, UNK_ID) for token in tokens]

    def decode(self, ids: Iterable[int] | Tensor, *, strip: bool = True) -> list[str]:
        """Tokens of ``ids``; with ``strip``, without ``<s>`` and stopping at ``</s>``/``<pad>``."""
        values = ids.tolist() if isinstance(ids, Tensor) else list(ids)
        out: list[str] = []
        for i in values:
            if not 0 <= i < len(self.tokens):
                raise ValueError(f"id {i} is outside this vocabulary of {len(self.tokens)} tokens")
            if strip and i == BOS_ID:
                continue
            if strip and i in (EOS_ID, PAD_ID):
                break
            out.append(self.tokens[i])
        return out


# ----------------------------------------------------------------------------- tensors


def _check_ids(x: Tensor, name: str = "data") -> None:
    if x.dim() != 2 or x.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"{name} must be an integer (N, T) tensor of token ids, got {x.dtype} of shape "
                         f"{tuple(x.shape)}; build it with mrvae.data.text.encode_documents")


def encode_documents(documents: Sequence[Sequence[str]], vocab: Vocabulary,
                     max_length: int | None = None) -> Tensor:
    """Padded ids ``(N, T)`` int64: row ``i`` is ``<s>, doc_i[:max_length], </s>``, then ``<pad>``.

    ``T`` is the longest row (at most ``max_length + 2``). Long documents are truncated, never
    dropped; every row ends with ``</s>``, which the model predicts as a word.
    """
    if max_length is not None and (isinstance(max_length, bool) or not isinstance(max_length, int)
                                   or max_length < 1):
        raise ValueError(f"max_length must be a positive int or None, got {max_length!r}")
    if len(documents) == 0:
        raise ValueError("no documents to encode; check that the file is not empty")
    rows = [[BOS_ID, *vocab.encode(doc[:max_length]), EOS_ID] for doc in documents]
    lengths = torch.tensor([len(row) for row in rows])
    flat = torch.tensor(list(itertools.chain.from_iterable(rows)), dtype=torch.int64)
    ids = torch.full((len(rows), int(lengths.max())), PAD_ID, dtype=torch.int64)
    # Row-major boolean indexing fills each row's first `length` slots in order.
    ids[torch.arange(ids.shape[1])[None, :] < lengths[:, None]] = flat
    return ids


def sequence_lengths(x: Tensor, pad_id: int = PAD_ID) -> Tensor:
    """Tokens per row, ``<s>`` and ``</s>`` included: ``(N, T)`` → ``(N,)`` int64."""
    _check_ids(x)
    return (x != pad_id).sum(dim=1)


def word_counts(x: Tensor, pad_id: int = PAD_ID) -> Tensor:
    """Predicted tokens per row, the perplexity denominator: words plus ``</s>``, ``(N,)``.

    He et al. (2019) count ``sent_len - 1`` per sentence (all tokens but ``<s>``), i.e. ``</s>``
    counts as a word.
    """
    return sequence_lengths(x, pad_id) - 1


# ----------------------------------------------------------------------------- batches


class BucketedBatches:
    """Training batches of similar length, each trimmed to its longest row.

    At construction the rows are sorted by length and cut into buckets of ``batch_size *
    batches_per_bucket`` consecutive rows. Every epoch shuffles the rows inside each bucket, cuts
    each bucket into batches and shuffles the order of all batches; all draws come from torch's
    global generator, so :func:`torch.manual_seed` (``TrainConfig.seed``) fixes the epochs.
    Satisfies :class:`mrvae.training.loop.Batches`: ``examples``, ``steps_per_epoch``, ``epoch()``.

    Args:
        data: ``(N, T)`` padded ids.
        batch_size: rows per batch (the last batch of the last bucket may be smaller).
        pad_id: the padding id.
        batches_per_bucket: bucket size in batches; 1 gives fixed batches of near-equal length,
            larger values mix more (more padding).
        device: where to keep the data (default: where it is).

    Yields ``(b, t)`` int64 batches with ``t`` the longest row of the batch.
    """

    def __init__(self, data: Tensor, batch_size: int, *, pad_id: int = PAD_ID, batches_per_bucket: int = 32,
                 device: torch.device | str | None = None) -> None:
        _check_ids(data)
        if data.shape[0] == 0:
            raise ValueError("BucketedBatches needs at least one row of data")
        if batch_size < 1 or batches_per_bucket < 1:
            raise ValueError(f"batch_size and batches_per_bucket must be >= 1, got {batch_size} and "
                             f"{batches_per_bucket}")
        self.data = data if device is None else data.to(device)
        self.batch_size = batch_size
        # Lengths and index bookkeeping stay on the CPU: no device sync per batch.
        self.lengths = sequence_lengths(data.cpu(), pad_id)
        order = torch.sort(self.lengths, stable=True).indices
        self.buckets = list(order.split(batch_size * batches_per_bucket))
        self.examples = data.shape[0]
        self.steps_per_epoch = sum(math.ceil(len(b) / batch_size) for b in self.buckets)

    def epoch(self) -> Iterator[Tensor]:
        """This epoch's batches, in a fresh random order."""
        batches: list[Tensor] = []
        for bucket in self.buckets:
            batches.extend(bucket[torch.randperm(len(bucket))].split(self.batch_size))
        for i in torch.randperm(len(batches)).tolist():
            rows = batches[i]
            width = int(self.lengths[rows].max())
            yield self.data[rows.to(self.data.device), :width]


# ----------------------------------------------------------------------------- files


@dataclass(frozen=True)
class TextData:
    """A tokenised corpus: padded id tensors ``(N, T)`` per split, its vocabulary and provenance.

    Attributes:
        train, valid, test: int64 ids, rows ``<s> ... </s> <pad>...`` (see the module docstring).
        vocab: built from ``train`` alone.
        source: which files were read and how they were split.
    """

    train: Tensor
    valid: Tensor
    test: Tensor
    vocab: Vocabulary
    source: str

    def __post_init__(self) -> None:
        for name in ("train", "valid", "test"):
            x = getattr(self, name)
            _check_ids(x, f"TextData.{name}")
            if x.numel() and (int(x.min()) < 0 or int(x.max()) >= len(self.vocab)):
                raise ValueError(f"TextData.{name} has ids outside [0, {len(self.vocab)}); encode it "
                                 f"with this vocabulary")

    @classmethod
    def from_documents(cls, train: Sequence[Sequence[str]], valid: Sequence[Sequence[str]],
                       test: Sequence[Sequence[str]], *, max_vocab: int | None = None,
                       max_length: int | None = None, source: str = "documents") -> TextData:
        """Vocabulary from ``train`` (see :meth:`Vocabulary.build`), then every split encoded."""
        vocab = Vocabulary.build(train, max_vocab)
        splits = [encode_documents(docs, vocab, max_length) for docs in (train, valid, test)]
        return cls(*splits, vocab=vocab, source=source)


def read_documents(path: Path | str) -> tuple[tuple[str, ...], ...]:
    """Tokenised documents of a one-document-per-line file; blank lines are skipped.

    Cached per (path, mtime, size): a replaced file is read again.
    """
    path = Path(path)
    stat = path.stat()
    return _read_documents(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _read_documents(path: str, mtime_ns: int, size: int) -> tuple[tuple[str, ...], ...]:
    del mtime_ns, size  # only part of the cache key
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return tuple(tuple(words) for words in map(str.split, lines) if words)


def _yahoo_roots(root: Path | str | None) -> list[Path]:
    return [Path(root).expanduser().resolve()] if root is not None else data_roots()


def load_yahoo(root: Path | str | None = None, *, max_vocab: int | None = None, max_length: int | None = None,
               valid_size: int = OFFLINE_VALID_SIZE, seed: int = 0) -> TextData:
    """Yahoo Answers in He et al. (2019)'s tokenised format, as :class:`TextData`.

    Looks for ``Yahoo/yahoo.valid.txt`` and ``Yahoo/yahoo.test.txt`` below ``root`` (or the data
    roots, :func:`mrvae.data.data_roots`). If ``yahoo.train.txt`` lies beside them, the splits
    are the official ones (100k / 10k / 10k documents). Otherwise the training split is a
    fixed-seed ``N - valid_size`` documents of ``yahoo.valid.txt`` (9,000 of 10,000), the
    validation split the other ``valid_size``, and the test split ``yahoo.test.txt``.

    Args:
        root: a folder holding ``Yahoo/`` (or the files themselves); default the data roots.
        max_vocab: keep the most frequent words only (4 specials on top); ``None`` keeps all.
        max_length: truncate documents to this many words (before ``<s>``/``</s>``); the files
            hold 20–200 words per document, so small values make a cheap CPU profile.
        valid_size, seed: the offline split (ignored when ``yahoo.train.txt`` exists).

    Raises:
        DatasetNotFoundError: the files are missing; the message names them and where to put them.
    """
    required = [[f"{d}/{YAHOO_FILES[s]}" for d in _YAHOO_DIRS] + [YAHOO_FILES[s]] for s in ("valid", "test")]
    _, (valid_path, test_path) = _locate(required, "Yahoo", _yahoo_roots(root), _YAHOO_HINT)
    train_path = valid_path.parent / YAHOO_FILES["train"]
    valid_docs, test_docs = read_documents(valid_path), read_documents(test_path)
    if train_path.is_file():
        train_docs = read_documents(train_path)
        split = f"train {train_path}, valid {valid_path}"
    else:
        if not 1 <= valid_size < len(valid_docs):
            raise ValueError(f"valid_size must lie in [1, {len(valid_docs) - 1}] to leave training "
                             f"documents in {valid_path}, got {valid_size}")
        perm = torch.randperm(len(valid_docs), generator=torch.Generator().manual_seed(seed))
        held_out, kept = perm[:valid_size].sort().values, perm[valid_size:].sort().values
        train_docs = tuple(valid_docs[i] for i in kept.tolist())
        valid_docs = tuple(valid_docs[i] for i in held_out.tolist())
        split = (f"OFFLINE: yahoo.train.txt is absent, so train = a fixed-seed (seed {seed}) {len(train_docs):,} "
                 f"of the {len(train_docs) + len(valid_docs):,} documents of {valid_path}, valid = the other "
                 f"{len(valid_docs):,}")
    data = TextData.from_documents(train_docs, valid_docs, test_docs, max_vocab=max_vocab, max_length=max_length)
    limits = ", ".join(f"{k}={v}" for k, v in (("max_vocab", max_vocab), ("max_length", max_length))
                       if v is not None) or "no vocabulary or length limit"
    source = (f"Yahoo Answers (He et al. 2019 format): {split}, test {test_path}; vocabulary of "
              f"{len(data.vocab.words):,} training words + 4 specials; {limits}")
    return TextData(data.train, data.valid, data.test, data.vocab, source)


def describe(data: TextData) -> dict[str, Any]:
    """Sizes for logs: documents, mean/max tokens per split, vocabulary size."""
    out: dict[str, Any] = {"vocab": len(data.vocab)}
    for name in ("train", "valid", "test"):
        lengths = sequence_lengths(getattr(data, name))
        out[name] = {"documents": int(lengths.numel()), "mean_tokens": float(lengths.double().mean()),
                     "max_tokens": int(lengths.max())}
    return out
