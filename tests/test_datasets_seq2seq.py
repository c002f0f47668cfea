"""Data for sequence-to-sequence tasks: CMUdict pairs, KJV/WEB verse pairs (diatheke), Twemoji images + names."""

import csv
import io
import json
import tarfile

import numpy as np
import pytest
from PIL import Image

from rnnkit.datasets import bible, export_twemoji, twemoji
from rnnkit.datasets.cmudict import load_cmudict, pronunciations_by_word, split_by_word, strip_stress
from rnnkit.errors import UserError

# --- CMUdict -----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cmu_pairs():
    return load_cmudict()


def test_cmudict_words_are_alphabetic_and_alternates_are_kept_in_order(cmu_pairs):
    table = pronunciations_by_word(cmu_pairs)
    assert 120_000 < len(table) < 130_000 and len(cmu_pairs) > len(table)
    assert table["cat"] == ["K AE1 T"]
    assert table["tomato"][0] == "T AH0 M EY1 T OW2" and len(table["tomato"]) == 2  # the main one first
    assert "o'clock" in table and "a." not in table
    assert all(word.replace("'", "").isalpha() and word == word.lower() for word in table)


def test_split_by_word_keeps_every_word_on_one_side(cmu_pairs):
    splits = split_by_word(cmu_pairs, seed=0, validation=0.05, test=0.1)
    words = [{word for word, _ in split} for split in splits]
    assert not (words[0] & words[1] or words[0] & words[2] or words[1] & words[2])
    assert sum(map(len, splits)) == len(cmu_pairs)
    total = sum(map(len, words))
    assert len(words[1]) == pytest.approx(0.05 * total, abs=1) and len(words[2]) == pytest.approx(0.1 * total, abs=1)
    few = cmu_pairs[:3000]
    assert split_by_word(few, seed=1) == split_by_word(few, seed=1) != split_by_word(few, seed=2)
    with pytest.raises(UserError, match="fractions"):
        split_by_word(cmu_pairs, validation=0.6, test=0.5)


def test_strip_stress_leaves_the_39_phonemes(cmu_pairs):
    assert strip_stress("T AH0 M EY1 T OW2") == "T AH M EY T OW"
    assert strip_stress("K AE T") == "K AE T"  # already stress-free
    phonemes = {p for _, pron in cmu_pairs for p in strip_stress(pron).split()}
    assert len(phonemes) == 39 and not any(ch.isdigit() for p in phonemes for ch in p)


# --- KJV / WEB -----------------------------------------------------------------------------------------------------

# diatheke -f OSIS -o f output, shortened: a repeated Psalm title before the reference, <w> tags, footnotes before
# a word and before punctuation, the KJV's USFM divine-name marker and pilcrow, curly quotes, verse 0 (intro).
SAMPLE = (
    "Psalms 3:0: An introduction.<milestone type=\"line\"/>\n"
    "A Psalm by David, when he fled.  Psalms 3:1: <w>Yahweh</w>, how my adversaries "
    "<w>have</w> increased!<note placement=\"foot\">3:1 or, multiplied</note> Many rise <w>up</w>."
    "<milestone type=\"line\"/>\n"
    "A Psalm by David, when he fled.  Psalms 3:2: Many say of my soul,<note placement=\"foot\">3:2 a note"
    "</note><w>“There</w> is no help for him in \\nd GOD\\+nd*’s house.” ¶ Selah.<milestone type=\"line\"/>\n"
    "(engWEB2015eb)\n")


def test_parse_book_cleans_titles_notes_tags_markers_and_quotes():
    verses = bible.parse_book(SAMPLE, "Psalms")
    assert verses == {(3, 1): "Yahweh, how my adversaries have increased! Many rise up.",
                      (3, 2): "Many say of my soul, \"There is no help for him in GOD's house.\" Selah."}


def test_one_real_book_pairs_and_caches(tmp_path, monkeypatch):
    records = bible.load_bible_pairs(["Jude"], cache_dir=tmp_path)
    assert len(records) == 25 and records[0][:3] == ("Jude", 1, 1)
    assert records[0].kjv.startswith("Jude, the servant of Jesus Christ, and brother of James")
    assert records[0].web.startswith("Jude, a servant of Jesus Christ, and brother of James")  # footnotes cut cleanly
    assert all("<" not in r.kjv + r.web and "  " not in r.kjv + r.web for r in records)
    cached = json.loads(next(tmp_path.glob("kjv_web_v*.json")).read_text())
    assert list(cached) == ["Jude"]
    monkeypatch.setattr(bible.subprocess, "run", None)  # a second load must not call diatheke
    assert bible.load_bible_pairs(["Jude"], cache_dir=tmp_path) == records


def test_missing_diatheke_names_the_debian_packages(tmp_path, monkeypatch):
    monkeypatch.setattr(bible.shutil, "which", lambda name: None)
    with pytest.raises(UserError, match="apt-get install diatheke sword-text-kjv sword-text-web"):
        bible.load_bible_pairs(["Jude"], cache_dir=tmp_path)
    with pytest.raises(UserError, match="unknown book"):
        bible.load_bible_pairs(["Tobit"], cache_dir=tmp_path)


def test_split_by_book_holds_out_fixed_books():
    records = [bible.BibleVerse(book, 1, 1, "a", "b") for book in bible.BOOKS]
    train, validation, test = bible.split_by_book(records)
    assert [r.book for r in validation] == [b for b in bible.BOOKS if b in bible.VALIDATION_BOOKS]
    assert [r.book for r in test] == [b for b in bible.BOOKS if b in bible.TEST_BOOKS]
    assert len(train) == 66 - len(bible.VALIDATION_BOOKS) - len(bible.TEST_BOOKS)
    assert {"Mark", "Ruth"} <= set(bible.VALIDATION_BOOKS) and {"Jonah", "James"} <= set(bible.TEST_BOOKS)
    with pytest.raises(UserError, match="both"):
        bible.split_by_book(records, validation=["Jude"], test=["Jude"])


# --- Twemoji -------------------------------------------------------------------------------------------------------

def _png(rgba) -> bytes:
    image = np.zeros((64, 64, 4), np.uint8)
    image[16:48, 16:48] = rgba  # a square on a transparent background
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture()
def fake_tarball(tmp_path):
    """Three emoji, one with a skin-tone variant, one without a Twitter image."""
    entries = [
        {"name": "WAVING HAND SIGN", "image": "1f44b.png", "has_img_twitter": True, "sort_order": 2,
         "skin_variations": {"1F3FD": {"image": "1f44b-1f3fd.png", "has_img_twitter": True}}},
        {"name": "St. Kitts & Nevis Flag", "image": "1f1f0-1f1f3.png", "has_img_twitter": True, "sort_order": 1},
        {"name": "NO PICTURE", "image": "0000.png", "has_img_twitter": False, "sort_order": 3},
    ]
    files = {"package/emoji.json": json.dumps(entries).encode(),
             "package/img/twitter/64/1f44b.png": _png((255, 200, 0, 255)),
             "package/img/twitter/64/1f44b-1f3fd.png": _png((160, 100, 50, 255)),
             "package/img/twitter/64/1f1f0-1f1f3.png": _png((0, 0, 255, 128))}
    path = tmp_path / "emoji-datasource-twitter-0.0.0.tgz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_twemoji_reads_the_tarball_and_the_unpacked_folder(fake_tarball, tmp_path):
    data = twemoji.load_twemoji(fake_tarball)
    assert data.captions == ["st kitts and nevis flag", "waving hand sign"]  # sort order; no image: skipped
    assert data.images.shape == (2, 64, 64, 3) and data.images.dtype == np.uint8
    assert data.images[0, 0, 0].tolist() == [255, 255, 255]  # transparent -> white
    assert data.images[0, 32, 32].tolist() == [127, 127, 255]  # half-transparent blue on white
    with tarfile.open(fake_tarball) as tar:
        tar.extractall(tmp_path / "unpacked", filter="data")
    folder = twemoji.load_twemoji(tmp_path / "unpacked")
    assert folder.captions == data.captions and np.array_equal(folder.images, data.images)


def test_twemoji_skin_tones_stay_with_their_emoji(fake_tarball):
    data = twemoji.load_twemoji(fake_tarball, skin_tones=True)
    assert data.captions[1:] == ["waving hand sign", "waving hand sign medium skin tone"]
    assert data.groups[1] == data.groups[2] != data.groups[0]
    for seed in range(5):
        splits = twemoji.split_emoji(data, validation=0.5, test=0.0, seed=seed)
        assert sorted(len(split) for split in splits) == [0, 1, 2]  # the hand and its variant never part


def test_twemoji_errors_name_npm_pack(tmp_path):
    with pytest.raises(UserError, match="npm pack emoji-datasource-twitter"):
        twemoji.load_twemoji(tmp_path / "missing.tgz")
    (tmp_path / "bad.tgz").write_bytes(b"not a tarball")
    with pytest.raises(UserError, match="npm pack emoji-datasource-twitter"):
        twemoji.load_twemoji(tmp_path / "bad.tgz")


def test_twemoji_export_writes_images_and_captions_csv(fake_tarball, tmp_path):
    data = twemoji.load_twemoji(fake_tarball)
    assert export_twemoji.main([str(fake_tarball), str(tmp_path / "out")]) == 0
    with open(tmp_path / "out" / "captions.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["file"], r["caption"]) for r in rows] == list(zip(data.files, data.captions))
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / rows[0]["file"])), data.images[0])
    tables = {}
    for side in ("train", "test"):
        with open(tmp_path / "out" / f"{side}.csv", newline="") as handle:
            tables[side] = [r["file"] for r in csv.DictReader(handle)]
    assert tables["test"] == twemoji.split_emoji(data).test.files  # the held-out emoji, and all the rest to train
    assert sorted(tables["train"] + tables["test"]) == sorted(data.files)


def test_caption_from_name():
    assert twemoji.caption_from_name("WOMAN: BEARD") == "woman beard"
    assert twemoji.caption_from_name("Côte d’Ivoire Flag") == "cote d'ivoire flag"
    assert twemoji.caption_from_name("KEYCAP: *") == "keycap *"
    assert twemoji.caption_from_name("U.S. Virgin Islands Flag") == "us virgin islands flag"
