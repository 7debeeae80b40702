"""Tests for the text loader: vocabulary, padded ids, Yahoo files and bucketed batches."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mrvae.data import text as T
from mrvae.data.roots import SHARED_DATA, DatasetNotFoundError


def write_yahoo(root: Path, valid: list[str], test: list[str], train: list[str] | None = None) -> Path:
    folder = root / "Yahoo"
    folder.mkdir(parents=True, exist_ok=True)
    for name, lines in (("valid", valid), ("test", test), ("train", train)):
        if lines is not None:
            (folder / f"yahoo.{name}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


# ----------------------------------------------------------------------------- vocabulary


def test_vocabulary_orders_by_count_then_word_and_maps_unknowns() -> None:
    docs = [["b", "a", "_UNK", "c"], ["a", "b", "d", "<s>"], ["a"]]
    vocab = T.Vocabulary.build(docs)
    assert vocab.tokens[:4] == ("<pad>", "<s>", "</s>", "<unk>")
    assert (T.PAD_ID, T.BOS_ID, T.EOS_ID, T.UNK_ID) == (0, 1, 2, 3)
    # a:3, b:2, then c and d tied at 1 → alphabetical; _UNK and the spelled-out <s> are not words.
    assert vocab.words == ("a", "b", "c", "d")
    assert vocab.encode(["a", "d", "_UNK", "<unk>", "<s>", "zzz"]) == [4, 7, 3, 3, 3, 3]
    assert T.Vocabulary.build(docs, max_vocab=2).words == ("a", "b")
    assert T.Vocabulary.build(list(reversed(docs))) == vocab  # order of documents does not matter
    assert vocab.decode([1, 4, 5, 2, 0, 6]) == ["a", "b"]
    with pytest.raises(ValueError, match="max_vocab"):
        T.Vocabulary.build(docs, max_vocab=0)
    with pytest.raises(ValueError, match="specials"):
        T.Vocabulary(("a", "b"))


def test_encode_documents_pads_truncates_and_adds_specials() -> None:
    vocab = T.Vocabulary.build([["x", "y", "x"]])
    ids = T.encode_documents([["x"], ["y", "x", "new", "x"]], vocab)
    assert ids.dtype == torch.int64
    assert ids.tolist() == [[1, 4, 2, 0, 0, 0], [1, 5, 4, 3, 4, 2]]
    assert T.sequence_lengths(ids).tolist() == [3, 6]
    assert T.word_counts(ids).tolist() == [2, 5]  # words + </s>
    short = T.encode_documents([["y", "x", "x", "y"]], vocab, max_length=2)
    assert short.tolist() == [[1, 5, 4, 2]]
    with pytest.raises(ValueError, match="max_length"):
        T.encode_documents([["x"]], vocab, max_length=0)


# ----------------------------------------------------------------------------- Yahoo files


def test_load_yahoo_offline_split_is_deterministic_and_vocab_from_train(tmp_path: Path) -> None:
    valid = [f"doc {i} common" + (" rare" if i == 0 else "") for i in range(10)] + [""]  # a blank line
    write_yahoo(tmp_path, valid, ["common unseen _UNK", "doc common"])
    data = T.load_yahoo(tmp_path, valid_size=3, seed=1)
    assert (data.train.shape[0], data.valid.shape[0], data.test.shape[0]) == (7, 3, 2)
    assert "OFFLINE" in data.source and "yahoo.valid.txt" in data.source
    again = T.load_yahoo(tmp_path, valid_size=3, seed=1)
    assert torch.equal(again.train, data.train) and again.vocab == data.vocab
    other = T.load_yahoo(tmp_path, valid_size=3, seed=2)
    assert other.vocab.words != data.vocab.words  # another seed holds out other documents
    # The vocabulary holds training words only: "rare" appears in training iff doc 0 was kept.
    train_words = {w for row in data.train.tolist() for w in data.vocab.decode(row)}
    assert set(data.vocab.words) == train_words
    assert data.test[0].tolist() == [T.BOS_ID, data.vocab.id("common"), T.UNK_ID, T.UNK_ID, T.EOS_ID]
    # max_length and max_vocab make a small profile.
    small = T.load_yahoo(tmp_path, valid_size=3, seed=1, max_vocab=2, max_length=1)
    assert len(small.vocab) == 6 and small.train.shape[1] == 3


def test_load_yahoo_uses_the_official_train_file_when_present(tmp_path: Path) -> None:
    write_yahoo(tmp_path, ["v one", "v two"], ["t"], train=["a b", "a c", "b"])
    data = T.load_yahoo(tmp_path)
    assert (data.train.shape[0], data.valid.shape[0], data.test.shape[0]) == (3, 2, 1)
    assert "OFFLINE" not in data.source and "yahoo.train.txt" in data.source
    assert data.vocab.words == ("a", "b", "c")


def test_load_yahoo_missing_files_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as info:
        T.load_yahoo(tmp_path)
    message = str(info.value)
    for needle in ("Yahoo/yahoo.valid.txt", "Yahoo/yahoo.test.txt", "yahoo.train.txt", str(tmp_path.resolve()),
                   "MRVAE_DATA", "He et al."):
        assert needle in message


def test_load_yahoo_rejects_a_split_that_leaves_no_training_data(tmp_path: Path) -> None:
    write_yahoo(tmp_path, ["a", "b"], ["c"])
    with pytest.raises(ValueError, match="valid_size"):
        T.load_yahoo(tmp_path, valid_size=2)


@pytest.mark.skipif(not (SHARED_DATA / "Yahoo" / "yahoo.valid.txt").is_file(), reason="no shared Yahoo files")
def test_shared_yahoo_files_give_the_documented_offline_split() -> None:
    data = T.load_yahoo(SHARED_DATA, max_length=20)
    assert (data.train.shape[0], data.valid.shape[0], data.test.shape[0]) == (9_000, 1_000, 10_000)
    assert data.train.shape[1] == 22 and int(data.test.max()) < len(data.vocab)
    assert bool((data.train[:, 0] == T.BOS_ID).all())


# ----------------------------------------------------------------------------- batches


def test_bucketed_batches_cover_every_row_once_trimmed_and_seeded() -> None:
    gen = torch.Generator().manual_seed(0)
    lengths = torch.randint(2, 30, (103,), generator=gen)
    data = torch.zeros(103, 40, dtype=torch.int64)
    for i, n in enumerate(lengths.tolist()):
        data[i, :n] = i + 4  # each row's id names the row
    batches = T.BucketedBatches(data, 8, batches_per_bucket=2)
    assert batches.examples == 103 and batches.steps_per_epoch == 13  # buckets of 16 rows: 6 * 2 + 1

    torch.manual_seed(3)
    epoch = list(batches.epoch())
    assert len(epoch) == batches.steps_per_epoch
    seen = sorted(int(b[r, 0]) - 4 for b in epoch for r in range(b.shape[0]))
    assert seen == list(range(103))
    for batch in epoch:
        rows = batch[:, 0] - 4
        assert batch.shape[1] == int(lengths[rows].max())  # trimmed to its longest row
        assert int(lengths[rows].max() - lengths[rows].min()) <= 14  # one bucket: similar lengths
    torch.manual_seed(3)
    assert all(torch.equal(a, b) for a, b in zip(epoch, batches.epoch(), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(epoch, batches.epoch(), strict=True))


def test_bucketed_batches_validate_inputs() -> None:
    with pytest.raises(ValueError, match="integer"):
        T.BucketedBatches(torch.zeros(4, 3), 2)
    with pytest.raises(ValueError, match="batch_size"):
        T.BucketedBatches(torch.ones(4, 3, dtype=torch.int64), 0)
