"""Serializer building blocks shared by the apps' APIs: body fields that take only their JSON type,
a finite number from a query string, and the envelope of a keyset-paginated list."""

from __future__ import annotations

import math

from rest_framework import serializers

# Body fields that take only their JSON type: DRF would turn 0 into "0", "12" into 12.0 and "yes"
# into True, which the OpenAPI schema (and so every generated client) says is invalid.


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        # Counted as sent, as the schema's maxLength counts it: DRF checks max_length after trimming
        # whitespace, so " " + 100 characters would pass a max_length of 100.
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictFloatField(serializers.FloatField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictUUIDField(serializers.UUIDField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class FiniteFloatField(serializers.FloatField):
    """A number from a query string; "nan" and "inf" are not numbers here."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("invalid")
        return value


def page_serializer(name: str, item: serializers.Serializer) -> type[serializers.Serializer]:
    """The envelope of a keyset-paginated list of `item`, named `name` in the schema."""

    class PageSerializer(serializers.Serializer):
        results = item.__class__(many=True)
        next_cursor = serializers.CharField(
            allow_null=True, help_text="Pass as `cursor` for the next page; null on the last page."
        )

        class Meta:
            ref_name = name

    PageSerializer.__name__ = name
    return PageSerializer
