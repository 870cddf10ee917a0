"""What a field's status and an empty field can be: the two vocabularies every step shares.

A record's ``field_status`` says ``accepted`` or ``review``; the store's state of a field adds
what people did (``reviewed``, ``publisher_error``) and, for a null nobody has decided that
the report does not print blank, why it is null (``unplaced``, ``not_read``), so an empty
value never passes for a blank waiting or for a blank checked.

A null value is one of three things (the record's ``empty``): a blank the report prints, a
value gouji could not place (the reader's candidates, if any, in the record's
``candidates``), or a value not read at all (no table or row found, a document not read).
Only a printed blank may be confirmed "as printed"; the other two become a value only when a
person decides one.
"""

from __future__ import annotations

from enum import StrEnum


class FieldStatus(StrEnum):
    ACCEPTED = "accepted"  # grounded in the source, placed with certainty, no check objects
    REVIEW = "review"  # waiting for a person
    REVIEWED = "reviewed"  # a person settled it
    PUBLISHER_ERROR = "publisher_error"  # a person found the report's own figures inconsistent
    UNPLACED = "unplaced"  # null: gouji could not place a value, and nobody has decided one
    NOT_READ = "not_read"  # null: no value was read, and nobody has decided one


class Empty(StrEnum):
    BLANK = "blank"  # the report prints the cell blank (—, /, 无, empty)
    UNPLACED = "unplaced"  # gouji could not place a value (its candidates kept)
    NOT_READ = "not_read"  # no value was read: no table or row found, or the file not read


def waiting(empty: Empty | str | None) -> FieldStatus:
    """The state of a field in review that nobody has decided: a null that is not a printed
    blank says why it is null."""
    if empty == Empty.UNPLACED:
        return FieldStatus.UNPLACED
    if empty == Empty.NOT_READ:
        return FieldStatus.NOT_READ
    return FieldStatus.REVIEW
