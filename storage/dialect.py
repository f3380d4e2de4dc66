"""SQLite-flavoured SQL, as the repositories write it, turned into PostgreSQL's.

Repositories keep one text per query, written for SQLite (the default engine and the one most
contributors run). For PostgreSQL each text is translated once and cached:

- parameters: `?` and `:name` become `$1, $2, ...` (named ones in first-use order);
- scalar `max(a, b)` / `min(a, b)` become `greatest` / `least` (aggregates keep one argument);
- `json_extract(x, '$.k')`, `json_each(x)`, `json_set(x, '$.k', v)` (v a number),
  `json_type(x)` become their jsonb forms (columns stay TEXT holding JSON, as in SQLite);
- `INSERT OR IGNORE` is `ON CONFLICT DO NOTHING`, `INSERT OR REPLACE` an upsert on the primary
  key; `group_concat(x, sep)` is `string_agg`,
  `ifnull` is `coalesce`, `hex(randomblob(n))` is 2n random hex digits; `INDEXED BY` goes;
- a bare column in `DO UPDATE SET` is qualified with the table (PostgreSQL finds it ambiguous);
- `strftime('%Y-%m-%dT%H:%M:%SZ', 'now')` becomes the same UTC text from `now()`;
- an INSERT into a table with an `id` column gets `RETURNING id`, so `cursor.lastrowid` works.

Schema files go through `translate_schema`: `INTEGER PRIMARY KEY` becomes an identity column,
`WITHOUT ROWID` goes, REAL is `DOUBLE PRECISION` (SQLite's REAL is 8 bytes). A migration that
needs more (triggers) has a `.postgresql.sql` twin. A `/*FOR UPDATE SKIP LOCKED*/` comment
becomes that clause. Text inside quotes and comments is otherwise never touched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_NAME_START = re.compile(r"[A-Za-z_]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Translated:
    sql: str
    # For named parameters: the names in $n order; None when the text used `?`.
    names: tuple[str, ...] | None
    # The statement gives rows (a SELECT, or RETURNING): run with fetch, not execute.
    returns_rows: bool
    # RETURNING id was added for lastrowid; the rows are not the caller's.
    added_returning: bool

    def args(self, params: Sequence[object] | Mapping[str, object]) -> list[object]:
        if self.names is None:
            if isinstance(params, Mapping):
                raise TypeError("named parameters given to a statement that uses ?")
            return list(params)
        if not isinstance(params, Mapping):
            raise TypeError("positional parameters given to a statement that uses :name")
        return [params[name] for name in self.names]


def _segments(sql: str) -> list[tuple[bool, str]]:
    """The text split into (is_code, piece): quoted strings, quoted names and comments are not
    code and pass through untouched."""
    out: list[tuple[bool, str]] = []
    i = start = 0
    n = len(sql)
    while i < n:
        c = sql[i]
        if c in ("'", '"'):
            if start < i:
                out.append((True, sql[start:i]))
            j = i + 1
            while j < n:
                if sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:  # '' inside a string
                        j += 2
                        continue
                    break
                j += 1
            out.append((False, sql[i : j + 1]))
            i = start = j + 1
            continue
        if c == "-" and sql.startswith("--", i):
            if start < i:
                out.append((True, sql[start:i]))
            j = sql.find("\n", i)
            j = n if j < 0 else j
            out.append((False, sql[i:j]))
            i = start = j
            continue
        i += 1
    if start < n:
        out.append((True, sql[start:]))
    return out


def _placeholders(sql: str) -> tuple[str, tuple[str, ...] | None]:
    names: list[str] = []
    positional = 0
    pieces: list[str] = []
    for is_code, piece in _segments(sql):
        if not is_code:
            pieces.append(piece)
            continue
        out: list[str] = []
        i = 0
        while i < len(piece):
            c = piece[i]
            if c == "?":
                positional += 1
                out.append(f"${positional}")
                i += 1
            elif (
                c == ":"
                and i + 1 < len(piece)
                and _NAME_START.match(piece[i + 1])
                and (i == 0 or piece[i - 1] != ":")
            ):
                m = _NAME.match(piece, i + 1)
                assert m is not None
                name = m.group(0)
                if name not in names:
                    names.append(name)
                out.append(f"${names.index(name) + 1}")
                i = m.end()
            elif c == ":" and piece.startswith("::", i):
                out.append("::")
                i += 2
            else:
                out.append(c)
                i += 1
        pieces.append("".join(out))
    if positional and names:
        raise ValueError("a statement mixes ? and :name parameters")
    return "".join(pieces), (tuple(names) if names else None)


def _closing(text: str, open_at: int) -> int:
    """Index of the parenthesis closing the one at `open_at` (quotes already set aside)."""
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    raise ValueError(f"unbalanced parentheses in {text!r}")


def _top_level_args(inner: str) -> list[str]:
    args: list[str] = []
    depth = 0
    start = 0
    for i, c in enumerate(inner):
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "," and depth == 0:
            args.append(inner[start:i])
            start = i + 1
    args.append(inner[start:])
    return [a.strip() for a in args]


_FUNC = re.compile(
    r"\b(max|min|json_extract|json_each|json_set|json_type|group_concat|ifnull)\s*\(",
    re.IGNORECASE,
)
_KEPT = "\x00"
_ALIAS = re.compile(r"\s+(?:AS\s+)?([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)
_NOW_TEXT = (
    "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"  # ISO UTC, as to_db
)
_STRFTIME_NOW = re.compile(r"strftime\(\s*'%Y-%m-%dT%H:%M:%SZ'\s*,\s*'now'\s*\)", re.IGNORECASE)


def _json_path(arg: str) -> str:
    if not (arg.startswith("'$.") and arg.endswith("'")):
        raise ValueError(f"only '$.key' JSON paths are translated, not {arg}")
    return arg[3:-1]


def _functions(sql: str) -> str:
    """Rewrite the SQLite-only functions, innermost first (arguments may hold others)."""
    # Masks quoted text so parentheses and commas inside strings do not count.
    while True:
        masked = _mask(sql)
        found = None
        for m in _FUNC.finditer(masked):
            found = m
        if found is None:
            return sql.replace(_KEPT, "")
        # Work on the last match: it cannot contain another unrewritten match after it.
        name = found.group(1).lower()
        open_at = found.end() - 1
        close_at = _closing(masked, open_at)
        args = _top_level_args(sql[open_at + 1 : close_at])
        if name in ("max", "min"):
            if len(args) < 2:
                # An aggregate: kept as it is; the mark hides it from the next search.
                replacement = f"{found.group(1)}{_KEPT}({sql[open_at + 1 : close_at]})"
            else:
                replacement = f"{'greatest' if name == 'max' else 'least'}({', '.join(args)})"
        elif name == "json_extract":
            replacement = f"(CAST({args[0]} AS jsonb) ->> '{_json_path(args[1])}')"
        elif name == "json_each":
            # `json_each(x) t` names the rows t; keep that name, else one of our own.
            alias = _ALIAS.match(masked, close_at + 1)
            table = "json_each_"
            if alias and not _CLAUSE_WORDS.match(alias.group(0)):
                table = alias.group(1)
                close_at = alias.end() - 1
            replacement = f"json_array_elements_text(CAST({args[0]} AS json)) AS {table}(value)"
        elif name == "json_set":
            key = _json_path(args[1])
            replacement = (
                f"CAST(jsonb_set(CAST({args[0]} AS jsonb), '{{{key}}}', "
                f"CAST(CAST({args[2]} AS text) AS jsonb)) AS text)"
            )
        elif name == "group_concat":
            separator = args[1] if len(args) > 1 else "','"
            replacement = f"string_agg(CAST({args[0]} AS text), {separator})"
        elif name == "ifnull":
            replacement = f"coalesce({', '.join(args)})"
        else:  # json_type
            replacement = f"jsonb_typeof(CAST({args[0]} AS jsonb))"
        sql = sql[: found.start()] + replacement + sql[close_at + 1 :]


def _mask(sql: str) -> str:
    return "".join(p if code else "_" * len(p) for code, p in _segments(sql))


_INSERT = re.compile(r"^\s*INSERT\s+INTO\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_ROWS = re.compile(r"^\s*(SELECT|WITH|VALUES|PRAGMA|SHOW|EXPLAIN)\b", re.IGNORECASE)


_SUBQUERY = re.compile(r"\bFROM\s*\(\s*SELECT\b", re.IGNORECASE)
_ALIAS_AFTER = re.compile(r"\s*(AS\b|[A-Za-z_])", re.IGNORECASE)
_CLAUSE_WORDS = re.compile(
    r"\s*(WHERE|GROUP|ORDER|LIMIT|UNION|JOIN|LEFT|INNER|ON|HAVING|OFFSET|EXCEPT|INTERSECT)\b",
    re.IGNORECASE,
)


def _subquery_aliases(sql: str) -> str:
    """PostgreSQL before 16 wants a name for every subquery in FROM; SQLite does not."""
    count = 0
    while True:
        masked = _mask(sql)
        for m in _SUBQUERY.finditer(masked):
            close_at = _closing(masked, masked.index("(", m.start()))
            after = masked[close_at + 1 :]
            if _ALIAS_AFTER.match(after) and not _CLAUSE_WORDS.match(after):
                continue
            count += 1
            sql = f"{sql[: close_at + 1]} AS _sub{count}{sql[close_at + 1 :]}"
            break
        else:
            return sql


_IS_NOT_PARAM = re.compile(r"\bIS\s+NOT\s+(?=[?:])", re.IGNORECASE)
_IS_PARAM = re.compile(r"\bIS\s+(?=[?:])", re.IGNORECASE)


def _null_safe(sql: str) -> str:
    """SQLite's `a IS ?` / `a IS NOT ?` compare null-safely; PostgreSQL spells it DISTINCT."""
    out = []
    for is_code, piece in _segments(sql):
        if is_code:
            piece = _IS_NOT_PARAM.sub("IS DISTINCT FROM ", piece)
            piece = _IS_PARAM.sub("IS NOT DISTINCT FROM ", piece)
        out.append(piece)
    return "".join(out)


_DO_UPDATE = re.compile(r"\bDO\s+UPDATE\s+SET\b", re.IGNORECASE)
_WORD = re.compile(r"(?<![\w.\"])([A-Za-z_][A-Za-z0-9_]*)\b(?!\s*[.(])")
_TARGET_BEFORE = re.compile(r"(\bSET|,)\s*$", re.IGNORECASE)
_ASSIGN_AFTER = re.compile(r"\s*=(?!=)")


def _qualify_upsert(sql: str, columns: Mapping[str, frozenset[str]]) -> str:
    """In `ON CONFLICT ... DO UPDATE SET`, SQLite reads a bare column as the row's own;
    PostgreSQL calls it ambiguous (it could be `excluded`'s). Qualify it with the table."""
    masked = _mask(sql)
    insert = _INSERT.match(masked)
    update = _DO_UPDATE.search(masked)
    if insert is None or update is None:
        return sql
    table = insert.group(1)
    known = columns.get(table.lower(), frozenset())
    out = [sql[: update.end()]]
    last = update.end()
    for m in _WORD.finditer(masked, update.end()):
        word = m.group(1)
        if word.lower() not in known:
            continue
        before = masked[: m.start()]
        if _TARGET_BEFORE.search(before) and _ASSIGN_AFTER.match(masked, m.end()):
            continue  # the column being set: never qualified
        out.append(sql[last : m.start()])
        out.append(f"{table}.{word}")
        last = m.end()
    out.append(sql[last:])
    return "".join(out)


_HEX_RANDOM = re.compile(r"\bhex\(\s*randomblob\(\s*(\d+)\s*\)\s*\)", re.IGNORECASE)


_INDEXED_BY = re.compile(r"\s+INDEXED\s+BY\s+\w+", re.IGNORECASE)


def _hex_random(m: re.Match[str]) -> str:
    digits = 2 * int(m.group(1))
    return f"upper(substr(md5(random()::text || clock_timestamp()::text), 1, {digits}))"


_OR_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+INTO\b", re.IGNORECASE)


def _on_conflict_nothing(sql: str) -> str:
    """`INSERT OR IGNORE` is `INSERT ... ON CONFLICT DO NOTHING` (before any RETURNING)."""
    sql = _OR_IGNORE.sub("INSERT INTO", sql, count=1)
    masked = _mask(sql)
    returning = _RETURNING.search(masked)
    at = returning.start() if returning else len(sql.rstrip().rstrip(";"))
    return f"{sql[:at].rstrip()} ON CONFLICT DO NOTHING {sql[at:]}".rstrip()


_OR_REPLACE = re.compile(
    r"^\s*INSERT\s+OR\s+REPLACE\s+INTO\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(([^)]*)\)", re.IGNORECASE
)


def _upsert(sql: str, keys: Mapping[str, tuple[str, ...]]) -> str:
    """`INSERT OR REPLACE INTO t (cols) ...` is an upsert on t's primary key that sets the listed
    columns (SQLite would also reset the unlisted ones to their defaults)."""
    m = _OR_REPLACE.match(_mask(sql))
    if m is None:
        return sql
    table = m.group(1)
    key = keys.get(table.lower())
    if not key:
        raise ValueError(f"INSERT OR REPLACE into {table}: no primary key known")
    listed = [c.strip() for c in m.group(2).split(",")]
    sets = ", ".join(f"{c} = excluded.{c}" for c in listed if c not in key)
    action = f"DO UPDATE SET {sets}" if sets else "DO NOTHING"
    body = re.sub(r"^\s*INSERT\s+OR\s+REPLACE\s+INTO", "INSERT INTO", sql, count=1, flags=re.I)
    return f"{body.rstrip().rstrip(';')} ON CONFLICT ({', '.join(key)}) {action}"


def translate(
    sql: str,
    id_tables: frozenset[str],
    columns: Mapping[str, frozenset[str]] | None = None,
    keys: Mapping[str, tuple[str, ...]] | None = None,
) -> Translated:
    text = _STRFTIME_NOW.sub(_NOW_TEXT, sql).replace(
        "/*FOR UPDATE SKIP LOCKED*/", "FOR UPDATE SKIP LOCKED"
    )
    if _IS_PARAM.search(text) or _IS_NOT_PARAM.search(text):
        text = _null_safe(text)
    if _FUNC.search(_mask(text)):
        text = _functions(text)
    if _SUBQUERY.search(text):
        text = _subquery_aliases(text)
    text = _HEX_RANDOM.sub(_hex_random, text)
    # A SQLite planner hint (storage/stats.py); PostgreSQL plans by its own statistics.
    text = _INDEXED_BY.sub("", text)
    if columns and _DO_UPDATE.search(text):
        text = _qualify_upsert(text, columns)
    if _OR_IGNORE.match(_mask(text)):
        text = _on_conflict_nothing(text)
    if keys and _OR_REPLACE.match(_mask(text)):
        text = _upsert(text, keys)
    text, names = _placeholders(text)
    masked = _mask(text)
    returns_rows = bool(_ROWS.match(masked) or _RETURNING.search(masked))
    added = False
    insert = _INSERT.match(masked)
    if insert and not returns_rows and insert.group(1).lower() in id_tables:
        text = text.rstrip().rstrip(";") + " RETURNING id"
        returns_rows = added = True
    return Translated(text, names, returns_rows, added)


_INTEGER_PK = re.compile(r"\bINTEGER\s+PRIMARY\s+KEY\b", re.IGNORECASE)
_REAL = re.compile(r"\bREAL\b", re.IGNORECASE)
_WITHOUT_ROWID = re.compile(r"\)\s*WITHOUT\s+ROWID", re.IGNORECASE)


def translate_schema(script: str) -> str:
    """A SQLite migration as PostgreSQL runs it (see the module docstring)."""
    out = []
    for is_code, piece in _segments(script):
        if is_code:
            piece = _INTEGER_PK.sub("INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", piece)
            piece = _WITHOUT_ROWID.sub(")", piece)
            piece = _REAL.sub("DOUBLE PRECISION", piece)  # SQLite's REAL is 8 bytes
            piece = _STRFTIME_NOW.sub(_NOW_TEXT, piece)
        out.append(piece)
    return "".join(out)
