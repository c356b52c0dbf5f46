"""Labels on services, `key: value` as in Kubernetes (`team: payments`): what maintenance
windows and notification rules select services by, as `key=value`."""

from __future__ import annotations

import re

from ose_mesh.domain.errors import InvalidField
from ose_mesh.domain.text import storable

LABEL_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$")
MAX_LABEL_VALUE = 200
MAX_LABELS = 32
Labels = tuple[tuple[str, str], ...]  # sorted by key: a service stays hashable


def parse_label(selector: str, field_name: str) -> tuple[str, str]:
    """`key=value` as (key, value), or InvalidField."""
    key, sep, value = selector.partition("=")
    if not sep:
        raise InvalidField(field_name, f"must be key=value (team=payments), got {selector!r}")
    validate_label(field_name, key, value)
    return key, value


def as_labels(values: dict[str, str]) -> Labels:
    """A mapping of labels as a service keeps them, or InvalidField."""
    if not isinstance(values, dict):
        raise InvalidField("labels", "must be an object of key: value")
    if len(values) > MAX_LABELS:
        raise InvalidField("labels", f"at most {MAX_LABELS} labels")
    for key, value in values.items():
        validate_label("labels", key, value)
    return tuple(sorted(values.items()))


def validate_label(field_name: str, key: object, value: object) -> None:
    if not isinstance(key, str) or not LABEL_KEY.fullmatch(key):
        raise InvalidField(
            field_name,
            f"a label key is 1-63 letters, digits, '.', '_', '/' or '-', got {key!r}",
        )
    if not isinstance(value, str) or len(value) > MAX_LABEL_VALUE or not value.isprintable():
        raise InvalidField(
            field_name,
            f"the value of {key!r} must be at most {MAX_LABEL_VALUE} printable characters",
        )
    storable(field_name, value)
