"""A class's record in SQLite (the standard library's `sqlite3`, WAL mode): the class's settings
and instructor token, each student who joined and their token, each answer (one transaction an
answer), and each question revealed. A server restarted on the same file loses nothing."""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from sandbox.errors import InvalidQuiz

SCHEMA = """
CREATE TABLE IF NOT EXISTS class (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS students (
    key TEXT PRIMARY KEY,            -- the id as seeds read it: case and spaces do not count
    shown TEXT NOT NULL,             -- the id as the student first typed it
    token TEXT UNIQUE,               -- NULL once released: the next join gets a new one
    joined REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS answers (
    student TEXT NOT NULL REFERENCES students(key),
    question TEXT NOT NULL,
    answer TEXT NOT NULL,            -- JSON: an option's index, or a number
    at REAL NOT NULL,
    PRIMARY KEY (student, question)
);
CREATE TABLE IF NOT EXISTS reveals (question TEXT PRIMARY KEY, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS predictions (
    n INTEGER PRIMARY KEY,           -- p1, p2, ... in the order opened
    body TEXT NOT NULL               -- JSON: the prediction, and what the fleet did once observed
);
"""


TABLES = {"class", "students", "answers", "reveals", "predictions"}
# SQLite's own tables and the indexes of the primary keys above
TABLES |= {"sqlite_sequence"} | {f"sqlite_autoindex_{t}_{n}" for t in TABLES for n in (1, 2)}


class Store:
    """One class's SQLite file, shared by the server's threads (one connection, one lock)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise InvalidQuiz(
                f"--db {self.path}: the folder {self.path.parent} does not exist; create it or "
                "give a file in an existing folder"
            )
        new = not self.path.exists()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            if new:  # tokens and answers: for the instructor's eyes only
                self.path.chmod(0o600)
            tables = {t for (t,) in self._db.execute("SELECT name FROM sqlite_master")}
            if tables - TABLES:
                self._db.close()
                raise InvalidQuiz(
                    f"--db {self.path} holds other tables ({', '.join(sorted(tables - TABLES))}): "
                    "it is not a class's database and was left as it was; give a new file"
                )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
        except sqlite3.Error as e:
            raise InvalidQuiz(
                f"--db {self.path}: not a class's database ({e}); give a new file or one a class "
                "wrote"
            ) from None
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _run(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def settings(self, wanted: dict[str, str]) -> dict[str, str]:
        """The class's settings: `wanted` (and a new instructor token) on a new file; on a file a
        class wrote, its own, refused when they differ from `wanted`."""
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            kept = dict(self._db.execute("SELECT key, value FROM class").fetchall())
            if not kept:  # a new class: its tokens, and the secret its variants are drawn with
                secrets_of = {"instructor_token": secrets.token_urlsafe(24)}
                secrets_of["salt"] = secrets.token_hex(16)
                kept = {**wanted, **secrets_of}
                self._db.executemany("INSERT INTO class VALUES (?, ?)", list(kept.items()))
        differ = {k: (kept.get(k), v) for k, v in wanted.items() if kept.get(k) != v}
        if differ:
            said = ", ".join(f"{k} {old!r} (asked for {new!r})" for k, (old, new) in differ.items())
            raise InvalidQuiz(
                f"--db {self.path} holds a class with {said}; give those settings to go on with "
                "it, or another --db for a new class"
            )
        return kept

    def join(self, key: str, shown: str) -> str | None:
        """A new token for the student: on their first join, or after `release`; None when the
        id has joined already (its token is not handed to whoever types the id)."""
        token = secrets.token_urlsafe(24)
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            found = self._db.execute("SELECT token FROM students WHERE key = ?", (key,)).fetchone()
            if found and found[0]:
                return None
            if found:
                self._db.execute("UPDATE students SET token = ? WHERE key = ?", (token, key))
            else:
                row = (key, shown, token, time.time())
                self._db.execute("INSERT INTO students VALUES (?, ?, ?, ?)", row)
            return token

    def release(self, key: str) -> bool:
        """Let the student join again (their old token stops working); False: no such id."""
        with self._lock, self._db:
            done = self._db.execute("UPDATE students SET token = NULL WHERE key = ?", (key,))
            return done.rowcount > 0

    def student(self, token: str) -> tuple[str, str] | None:
        """(key, shown id) of the student with `token`, or None."""
        rows = self._run("SELECT key, shown FROM students WHERE token = ?", token)
        return (str(rows[0][0]), str(rows[0][1])) if rows else None

    def students(self) -> list[tuple[str, str]]:
        """(key, shown id) of every student, in the order they joined."""
        return [
            (str(k), str(s))
            for k, s in self._run("SELECT key, shown FROM students ORDER BY joined")
        ]

    def answer(self, student: str, question: str, answer: str) -> bool:
        """Store `student`'s answer to `question` in one transaction, replacing an earlier one
        unless the question was revealed; False (and nothing stored) if it was."""
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            if self._db.execute("SELECT 1 FROM reveals WHERE question = ?", (question,)).fetchone():
                return False
            self._db.execute(
                "INSERT INTO answers VALUES (?, ?, ?, ?) ON CONFLICT (student, question) "
                "DO UPDATE SET answer = excluded.answer, at = excluded.at",
                (student, question, answer, time.time()),
            )
            return True

    def answers(self, student: str | None = None) -> dict[str, dict[str, str]]:
        """Each student's answers by question (one student's, given one)."""
        rows = (
            self._run("SELECT student, question, answer FROM answers WHERE student = ?", student)
            if student is not None
            else self._run("SELECT student, question, answer FROM answers")
        )
        found: dict[str, dict[str, str]] = {}
        for who, question, answer in rows:
            found.setdefault(str(who), {})[str(question)] = str(answer)
        return found

    def reveal(self, *questions: str) -> None:
        """Make the answers to `questions` final, in one transaction."""
        rows = [(q, time.time()) for q in questions]
        with self._lock, self._db:
            self._db.executemany("INSERT OR IGNORE INTO reveals VALUES (?, ?)", rows)

    def unreveal(self, *questions: str) -> None:
        """Open the answers to `questions` again (an observation that could not be made)."""
        rows = [(q,) for q in questions]
        with self._lock, self._db:
            self._db.executemany("DELETE FROM reveals WHERE question = ?", rows)

    def revealed(self) -> set[str]:
        return {str(q) for (q,) in self._run("SELECT question FROM reveals")}

    def predict(self, body: str) -> int:
        """Store a new prediction; its number (1, 2, ...)."""
        with self._lock, self._db:
            return int(
                self._db.execute("INSERT INTO predictions (body) VALUES (?)", (body,)).lastrowid
                or 0
            )

    def observed(self, n: int, body: str) -> None:
        """Store what the fleet did for prediction `n`."""
        with self._lock, self._db:
            self._db.execute("UPDATE predictions SET body = ? WHERE n = ?", (body, n))

    def predictions(self) -> list[tuple[int, str]]:
        return [
            (int(n), str(b)) for n, b in self._run("SELECT n, body FROM predictions ORDER BY n")
        ]
