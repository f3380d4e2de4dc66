"""One harvested OAI record -> a `BookRecord`: MARCXML (INLISLite) through pymarc, Dublin Core
(SLiMS) by its elements.

INLISLite 3 (app/Modules/SubModule/Oai) serves `marc21`/`marcxml` records as
`<marc:record xmlns:marc="http://www.loc.gov/MARC21/slim">`, or the MARC it stored, which may use
the namespace without a prefix; call numbers come in 090, 084 or (from INLISLite's own generator)
050. SLiMS 9 (lib/oai-pmh.inc.php, lib/detail.inc.php) writes `dc:identifier` three times: the
permalink, the ISBN without dashes, then the call number; and its last `dc:subject` is the
classification number, not a topic.
"""

from __future__ import annotations

import re

from lxml import etree
from pymarc import Field, Indicators, Record, Subfield

from storage.catalogue import BookRecord

MARC_NS = "http://www.loc.gov/MARC21/slim"
DC_NS = "http://purl.org/dc/elements/1.1/"
_M = "{" + MARC_NS + "}"
_DC = "{" + DC_NS + "}"

# ISBD punctuation that ends a MARC subfield ("Bumi manusia /", "Jakarta :").
_TRAILING = re.compile(r"[\s/:;,=.]+$")
_YEAR = re.compile(r"(1[5-9]\d\d|20\d\d)")
_ISBN = re.compile(r"^(?:ISBN[:\s]*)?([0-9][0-9\- ]{8,16}[0-9Xx])$")
_CLASS_NUMBER = re.compile(r"^\d{3}(?:\.\d+)?(?:\s+\d+)?(?:\s+[A-Z]{2,4})?(?:\s+\w)?$")
_TEXT_MAX = 400


def _clean(value: str | None) -> str:
    return _TRAILING.sub("", " ".join((value or "").split()))[:_TEXT_MAX]


def _local(tag: object) -> str:
    return str(tag).rpartition("}")[2]


def marc_record(element: etree._Element) -> Record:
    """A pymarc Record from a MARCXML <record> element, prefixed namespace or not."""
    record = Record()
    for child in element:
        name = _local(child.tag)
        if name == "leader":
            record.leader = child.text or record.leader
        elif name == "controlfield":
            record.add_field(Field(tag=child.get("tag", ""), data=child.text or ""))  # type: ignore[no-untyped-call]
        elif name == "datafield":
            subfields = [
                Subfield(code=sub.get("code", ""), value=sub.text or "")
                for sub in child
                if _local(sub.tag) == "subfield"
            ]
            record.add_field(  # type: ignore[no-untyped-call]
                Field(
                    tag=child.get("tag", ""),
                    indicators=Indicators(child.get("ind1", " "), child.get("ind2", " ")),
                    subfields=subfields,
                )
            )
    return record


def _first(record: Record, tags: tuple[str, ...], codes: tuple[str, ...]) -> str | None:
    for tag in tags:
        for field in record.get_fields(tag):
            value = _clean(" ".join(field.get_subfields(*codes)))
            if value:
                return value
    return None


def from_marc(identifier: str, element: etree._Element) -> BookRecord | None:
    record = marc_record(element)
    title = _first(record, ("245",), ("a", "b"))
    if not title:
        return None
    authors = [
        _clean(" ".join(f.get_subfields("a")))
        for tag in ("100", "110", "700", "710")
        for f in record.get_fields(tag)
    ]
    subjects = [
        _clean(" -- ".join(f.get_subfields("a", "x", "z"))) for f in record.get_fields("650", "651")
    ]
    year_text = _first(record, ("260", "264"), ("c",))
    year = _YEAR.search(year_text or "")
    language = _first(record, ("041",), ("a",))
    if language is None:
        control = record.get("008")
        data = control.data if control is not None else None
        language = data[35:38].strip() if data and len(data) >= 38 else None
    isbn = _first(record, ("020",), ("a",))
    return BookRecord(
        identifier=identifier,
        title=title,
        authors=tuple(dict.fromkeys(a for a in authors if a)),
        subjects=tuple(dict.fromkeys(s for s in subjects if s)),
        publisher=_first(record, ("260", "264"), ("b",)),
        year=year.group(1) if year else None,
        call_number=_first(record, ("090", "084", "050", "082"), ("a", "b")),
        isbn=isbn.split(" ")[0] if isbn else None,
        language=language or None,
    )


def from_dc(identifier: str, element: etree._Element) -> BookRecord | None:
    values: dict[str, list[str]] = {}
    for child in element.iter(_DC + "*"):
        text = _clean(child.text)
        if text:
            values.setdefault(_local(child.tag), []).append(text)
    titles = values.get("title", [])
    if not titles:
        return None
    isbn = call_number = None
    for value in values.get("identifier", []):
        if value.startswith(("http://", "https://")):
            continue  # SLiMS's permalink to its OPAC page
        if value.lower().startswith("call number:"):
            call_number = value.split(":", 1)[1].strip()
            continue
        match = _ISBN.match(value)
        if match and isbn is None:
            isbn = match.group(1).replace(" ", "")
        elif call_number is None:
            call_number = value
    subjects = [s for s in values.get("subject", []) if not _CLASS_NUMBER.match(s)]
    year = _YEAR.search(" ".join(values.get("date", [])))
    return BookRecord(
        identifier=identifier,
        title=titles[0],
        authors=tuple(dict.fromkeys(values.get("creator", []))),
        subjects=tuple(dict.fromkeys(subjects)),
        publisher=next(iter(values.get("publisher", [])), None),
        year=year.group(1) if year else None,
        call_number=call_number,
        isbn=isbn,
        language=next(iter(values.get("language", [])), None),
    )
