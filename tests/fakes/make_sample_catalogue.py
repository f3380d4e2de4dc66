"""Writes the sample catalogue's bundled OAI-PMH responses (bot/sample/catalogue/) with the fake
server's renderers, which follow INLISLite's and SLiMS's own code: the provincial library in
Kupang on INLISLite (MARCXML), the regency library of Sikka on SLiMS (Dublin Core).

The records are sample data: real classics of Indonesian literature, and invented but realistic
titles about farming, weaving, cooking and for children. Run it again after editing the lists:

    .venv/bin/python -m tests.fakes.make_sample_catalogue
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.fakes.oai_pmh import FakeBook, FakeOAI

OUT = Path(__file__).resolve().parents[2] / "bot" / "sample" / "catalogue"

# (title, authors, publisher, place, year, subjects, class number)
NOVELS = [
    ("Bumi Manusia", "Pramoedya Ananta Toer", "Hasta Mitra", 1980, "Novel Indonesia"),
    ("Anak Semua Bangsa", "Pramoedya Ananta Toer", "Hasta Mitra", 1980, "Novel Indonesia"),
    ("Jejak Langkah", "Pramoedya Ananta Toer", "Hasta Mitra", 1985, "Novel Indonesia"),
    ("Rumah Kaca", "Pramoedya Ananta Toer", "Hasta Mitra", 1988, "Novel Indonesia"),
    ("Gadis Pantai", "Pramoedya Ananta Toer", "Lentera Dipantara", 2003, "Novel Indonesia"),
    ("Arok Dedes", "Pramoedya Ananta Toer", "Lentera Dipantara", 1999, "Novel sejarah"),
    ("Siti Nurbaya", "Marah Rusli", "Balai Pustaka", 1922, "Novel Indonesia; Sastra Minangkabau"),
    ("Salah Asuhan", "Abdoel Moeis", "Balai Pustaka", 1928, "Novel Indonesia"),
    ("Layar Terkembang", "Sutan Takdir Alisjahbana", "Balai Pustaka", 1936, "Novel Indonesia"),
    ("Belenggu", "Armijn Pane", "Dian Rakyat", 1940, "Novel Indonesia"),
    ("Atheis", "Achdiat K. Mihardja", "Balai Pustaka", 1949, "Novel Indonesia"),
    ("Tenggelamnya Kapal Van der Wijck", "Hamka", "Bulan Bintang", 1938, "Novel Indonesia"),
    ("Di Bawah Lindungan Ka'bah", "Hamka", "Balai Pustaka", 1938, "Novel Indonesia"),
    ("Robohnya Surau Kami", "A.A. Navis", "Gramedia Pustaka Utama", 1956, "Cerita pendek"),
    ("Ronggeng Dukuh Paruk", "Ahmad Tohari", "Gramedia Pustaka Utama", 1982, "Novel Indonesia"),
    ("Laskar Pelangi", "Andrea Hirata", "Bentang Pustaka", 2005, "Novel Indonesia; Pendidikan"),
    ("Sang Pemimpi", "Andrea Hirata", "Bentang Pustaka", 2006, "Novel Indonesia"),
    ("Burung-Burung Manyar", "Y.B. Mangunwijaya", "Djambatan", 1981, "Novel Indonesia"),
    ("Harimau! Harimau!", "Mochtar Lubis", "Pustaka Jaya", 1975, "Novel Indonesia"),
    ("Jalan Tak Ada Ujung", "Mochtar Lubis", "Pustaka Jaya", 1952, "Novel Indonesia"),
    ("Cantik Itu Luka", "Eka Kurniawan", "Gramedia Pustaka Utama", 2002, "Novel Indonesia"),
    ("Pulang", "Leila S. Chudori", "Kepustakaan Populer Gramedia", 2012, "Novel Indonesia"),
    ("Saman", "Ayu Utami", "Kepustakaan Populer Gramedia", 1998, "Novel Indonesia"),
    ("Ayat-Ayat Cinta", "Habiburrahman El Shirazy", "Republika", 2004, "Novel Indonesia"),
    ("Negeri 5 Menara", "Ahmad Fuadi", "Gramedia Pustaka Utama", 2009, "Novel Indonesia"),
    ("Deru Campur Debu", "Chairil Anwar", "Pembangunan", 1949, "Puisi Indonesia"),
    ("Perahu Kertas", "Dee Lestari", "Bentang Pustaka", 2009, "Novel Indonesia"),
    ("Ziarah", "Iwan Simatupang", "Djambatan", 1969, "Novel Indonesia"),
]
CROPS = [
    ("Kelor", "633.88"), ("Jagung", "633.15"), ("Padi Ladang", "633.18"), ("Ubi Kayu", "633.68"),
    ("Kacang Hijau", "635.65"), ("Sorgum", "633.17"), ("Cabai", "635.64"), ("Tomat", "635.642"),
    ("Bawang Merah", "635.25"), ("Pisang", "634.772"), ("Kelapa", "634.61"),
    ("Jambu Mete", "634.573"), ("Kopi", "633.73"), ("Kakao", "633.74"), ("Cendana", "634.97"),
    ("Lontar", "634.974"), ("Rumput Laut", "639.89"), ("Vanili", "633.82"), ("Sayuran", "635"),
]  # fmt: skip
FARMING_FORMS = [
    ("Budidaya {c} di Lahan Kering", "Pertanian; Budidaya tanaman; {c}"),
    ("Panduan Praktis Bertani {c} untuk Petani Pemula", "Pertanian; {c}"),
    ("Pengolahan Hasil Panen {c}", "Pengolahan hasil pertanian; {c}"),
    ("Hama dan Penyakit Tanaman {c}", "Hama tanaman; Pertanian; {c}"),
]
FARM_AUTHORS = [
    "Yohanes Ndun", "Maria Goreti Lende", "Sutrisno Hadi", "Agustina Bria", "Fransiskus Kolo",
    "Rahmawati Ilyas", "Petrus Bere", "Dewi Lestari Nope", "Antonius Tefa", "Siti Aminah",
]  # fmt: skip
AGRI_PUBLISHERS = ["Penebar Swadaya", "Agromedia Pustaka", "Kanisius", "Trubus", "Andi"]
WEAVING = [
    ("Tenun Ikat Sumba: Motif dan Makna", "Tenun ikat; Sumba; Kebudayaan"),
    ("Tenun Ikat Sikka: Warisan Perempuan Flores", "Tenun ikat; Sikka; Flores"),
    ("Teknik Dasar Menenun dengan Gedogan", "Tenun; Kerajinan tangan"),
    ("Pewarna Alami untuk Kain Tenun", "Pewarnaan alami; Tenun"),
    ("Motif Tenun Timor: Buna dan Sotis", "Tenun ikat; Timor"),
    ("Kain Tenun Rote dan Sabu", "Tenun ikat; Rote Ndao; Sabu Raijua"),
    ("Songke Manggarai: Tenun dan Adat", "Tenun; Manggarai; Adat istiadat"),
    ("Menjual Kain Tenun Secara Daring", "Pemasaran; Usaha kecil; Tenun"),
    ("Mengenal Tenun Ikat Nusantara", "Tenun ikat; Indonesia"),
    ("Benang, Warna, dan Cerita: Penenun Perempuan NTT", "Tenun; Perempuan; Nusa Tenggara Timur"),
    ("Merawat Kain Tenun Tradisional", "Tenun; Tekstil"),
    ("Ragam Hias Tenun Lembata", "Tenun ikat; Lembata"),
]
COOKING = [
    ("Resep Masakan Khas Nusa Tenggara Timur", "Masakan Indonesia; Resep"),
    ("Se'i Sapi dan Olahan Daging Asap", "Masakan Indonesia; Daging"),
    ("Jagung Bose dan Masakan Jagung Lainnya", "Masakan Indonesia; Jagung"),
    ("Olahan Daun Kelor: Resep Sehat Keluarga", "Resep; Kelor; Gizi"),
    ("Kue Tradisional Flores", "Kue; Masakan Indonesia"),
    ("Masakan Laut dari Pesisir Timor", "Ikan; Resep"),
    ("Sambal Lu'at dan Aneka Sambal Nusantara", "Sambal; Resep"),
    ("Gula Lontar: Dari Nira ke Dapur", "Lontar; Gula; Pengolahan pangan"),
    ("Makanan Bergizi untuk Balita", "Gizi; Anak; Resep"),
    ("Mengolah Ubi dan Pisang Menjadi Camilan", "Camilan; Usaha rumahan"),
    ("Memasak Hemat untuk Keluarga", "Resep; Ekonomi rumah tangga"),
    ("Kopi Flores: Dari Kebun ke Cangkir", "Kopi; Minuman"),
    ("Usaha Katering Rumahan", "Usaha kecil; Katering"),
    ("Resep Ikan Kuah Asam", "Ikan; Resep; Masakan Indonesia"),
    ("Roti dan Kue Kering untuk Dijual", "Kue; Usaha kecil"),
]
CHILDREN = [
    ("Asal Usul Danau Kelimutu", "Cerita rakyat; Flores; Bacaan anak"),
    ("Legenda Batu Nitu", "Cerita rakyat; Nusa Tenggara Timur; Bacaan anak"),
    ("Si Kancil dan Buaya", "Fabel; Bacaan anak"),
    ("Putri Mandalika", "Cerita rakyat; Bacaan anak"),
    ("Kisah Komodo dari Pulau Rinca", "Komodo; Bacaan anak; Satwa"),
    ("Aku Suka Membaca", "Bacaan anak; Membaca"),
    ("Belajar Berhitung Bersama Ina", "Matematika; Bacaan anak"),
    ("Ayo Menanam Kelor di Sekolah", "Bacaan anak; Kelor; Lingkungan"),
    ("Sapi Kecil di Padang Sumba", "Bacaan anak; Sumba"),
    ("Rumah Adat Kampung Wae Rebo", "Bacaan anak; Rumah adat; Manggarai"),
    ("Dongeng Sebelum Tidur dari Timor", "Dongeng; Bacaan anak; Timor"),
    ("Nenek Penenun dan Benang Ajaib", "Dongeng; Tenun; Bacaan anak"),
    ("Perahu Lete-Lete", "Bacaan anak; Nelayan"),
    ("Mari Mengenal Pulau-Pulau NTT", "Geografi; Bacaan anak"),
    ("Ikan Paus dari Lamalera", "Bacaan anak; Lembata"),
    ("Kupu-Kupu di Kebun Mama", "Bacaan anak; Serangga"),
    ("Hujan Pertama di Kupang", "Bacaan anak; Cuaca"),
    ("Kenapa Bulan Mengikuti Kita?", "Bacaan anak; Sains"),
    ("Bermain Gasing", "Permainan tradisional; Bacaan anak"),
    ("Cerita Rakyat Nusa Tenggara Timur", "Cerita rakyat; Nusa Tenggara Timur"),
]
CHILD_AUTHORS = ["Tim Penulis Gerakan Literasi Nasional", "Maria Ndun", "Yosef Laga", "Ina Kaka"]
OTHER = [
    ("Beternak Babi dan Ayam Kampung", "Peternakan; Babi; Ayam", "636.4"),
    ("Beternak Sapi Bali di Padang Savana", "Peternakan; Sapi", "636.2"),
    ("Memelihara Kambing untuk Pemula", "Peternakan; Kambing", "636.39"),
    ("Budidaya Ikan Lele di Kolam Terpal", "Perikanan; Lele", "639.3"),
    ("Menangkap Ikan Secara Lestari", "Perikanan; Nelayan", "639.2"),
    ("Air Bersih untuk Desa", "Air bersih; Pedesaan", "628.1"),
    ("Koperasi Desa yang Sehat", "Koperasi; Ekonomi desa", "334"),
    ("Mengenal Komputer dan Internet", "Komputer; Internet", "004"),
    ("Pemasaran Digital untuk UMKM", "Pemasaran; Usaha kecil; Internet", "658.8"),
    ("Bahasa Inggris untuk Pemandu Wisata", "Bahasa Inggris; Pariwisata", "428"),
    ("Sejarah Nusa Tenggara Timur", "Sejarah; Nusa Tenggara Timur", "959.86"),
    ("Kesehatan Ibu dan Anak di Desa", "Kesehatan; Ibu; Anak", "362.1"),
    ("Menghadapi Kekeringan: Panduan Petani NTT", "Pertanian; Kekeringan", "631.7"),
    ("Pupuk Organik dari Kotoran Ternak", "Pupuk organik; Pertanian", "631.86"),
    ("Lahan Kering Kepulauan: Tantangan dan Peluang", "Pertanian; Lahan kering", "631.4"),
]


def _call(number: str, author: str, title: str) -> str:
    surname = re.sub(r"[^A-Za-z]", "", author.split()[-1])[:3].upper() or "ANO"
    return f"{number} {surname} {title[0].lower()}"


def _isbn(n: int) -> str:
    digits = f"978602{n:06d}"
    check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return f"978-602-{n:06d}-{check}"


def works() -> list[FakeBook]:
    """Every sample work once (ids from 1); each library takes its share below."""
    out: list[FakeBook] = []
    ids = itertools.count(1)
    for title, author, publisher, year, subjects in NOVELS:
        n = next(ids)
        number = "811.1" if "Puisi" in subjects else "899.221 3"
        out.append(
            FakeBook(n, title, (author,), tuple(subjects.split("; ")), publisher, "Jakarta",
                     str(year), _call(number, author, title), _isbn(n), "ind", number[:3])
        )  # fmt: skip
    authors = itertools.cycle(FARM_AUTHORS)
    publishers = itertools.cycle(AGRI_PUBLISHERS)
    for (crop, number), (form, subjects) in itertools.product(CROPS, FARMING_FORMS):
        n = next(ids)
        title = form.format(c=crop)
        author = next(authors)
        out.append(
            FakeBook(n, title, (author,), tuple(subjects.format(c=crop).split("; ")),
                     next(publishers), "Jakarta", str(2008 + n % 17), _call(number, author, title),
                     _isbn(n), "ind", number[:3])
        )  # fmt: skip
    for group, number in ((WEAVING, "746.1"), (COOKING, "641.59")):
        for title, subjects in group:
            n = next(ids)
            author = next(authors)
            out.append(
                FakeBook(n, title, (author, next(authors)), tuple(subjects.split("; ")),
                         next(publishers), "Kupang", str(2010 + n % 15),
                         _call(number, author, title), _isbn(n), "ind", number[:3])
            )  # fmt: skip
    child_authors = itertools.cycle(CHILD_AUTHORS)
    for title, subjects in CHILDREN:
        n = next(ids)
        author = next(child_authors)
        out.append(
            FakeBook(n, title, (author,), tuple(subjects.split("; ")), "Kantor Bahasa NTT",
                     "Kupang", str(2016 + n % 9), _call("398.2", author, title), _isbn(n), "ind",
                     "398")
        )  # fmt: skip
    for title, subjects, number in OTHER:
        n = next(ids)
        author = next(authors)
        out.append(
            FakeBook(n, title, (author,), tuple(subjects.split("; ")), next(publishers),
                     "Jakarta", str(2012 + n % 13), _call(number, author, title), _isbn(n), "ind",
                     number[:3])
        )  # fmt: skip
    return out


def _write(server: FakeOAI, folder: Path, prefix: str) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.xml"):
        old.unlink()
    (folder / "identify.xml").write_text(server.identify(), "utf-8")
    (folder / "formats.xml").write_text(server.list_metadata_formats(), "utf-8")
    params: dict[str, str] = {"verb": "ListRecords", "metadataPrefix": prefix}
    page = 0
    while True:
        body = server.list_records(params)
        (folder / f"records-{page:03d}.xml").write_text(body, "utf-8")
        token = re.search(r"<resumptionToken[^>]*>([^<]+)</resumptionToken>", body)
        if token is None:
            return page + 1
        params = {"verb": "ListRecords", "resumptionToken": token.group(1)}
        page += 1


def main() -> None:
    every = works()
    modified = datetime(2026, 6, 1, tzinfo=UTC)
    for i, book in enumerate(every):
        book.created = modified - timedelta(days=400 - i)
    # The province's library has nearly everything; Sikka's has the novels, the weaving and the
    # children's books, some farming and cooking: so "which library has it?" often names both.
    inlis = [b for i, b in enumerate(every) if i % 12 != 4]
    sikka_ids = {b.id for b in every if b.call_number.startswith(("899", "811", "746", "398"))}
    sikka_ids |= {b.id for b in every if b.id % 2 == 0}
    slims = [
        FakeBook(**{**vars(b), "id": 5000 + b.id}) for b in every if b.id in sikka_ids
    ]  # SLiMS numbers its own biblio_id
    inlis_server = FakeOAI("inlislite", inlis, host="contoh-inlislite.pustaka.invalid")
    inlis_server.url = "https://contoh-inlislite.pustaka.invalid/oai-pmh"
    slims_server = FakeOAI("slims", slims)
    slims_server.url = "https://contoh-slims.pustaka.invalid/oai.php"
    pages = _write(inlis_server, OUT / "inlislite", "marcxml")
    print(f"inlislite: {len(inlis)} records in {pages} pages")
    pages = _write(slims_server, OUT / "slims", "oai_dc")
    print(f"slims: {len(slims)} records in {pages} pages")


if __name__ == "__main__":
    main()
