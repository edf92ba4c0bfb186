"""API v1 of the standard catalogue: list its entries (with their state here) and install one (bureau admin)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from indicators import catalogue
from portal.errors import ServiceError


class CatalogueFigureSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    name_en = serializers.CharField()
    unit = serializers.CharField()
    value_type = serializers.CharField()
    time_aggregation = serializers.CharField()
    unit_aggregation = serializers.CharField()
    reported_by = serializers.DictField()
    help_text = serializers.CharField()  # type: ignore[assignment]  # a figure's own help text, not DRF's


class CatalogueEntrySerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    name_en = serializers.CharField()
    synonyms = serializers.ListField(child=serializers.CharField())
    definition = serializers.CharField()
    unit = serializers.CharField()
    formula = serializers.DictField()
    unit_filter = serializers.DictField()
    figures = CatalogueFigureSerializer(many=True)
    requires = serializers.CharField()
    installed = serializers.BooleanField()
    installable = serializers.BooleanField()
    problems = serializers.ListField(child=serializers.CharField())


class CatalogueSerializer(serializers.Serializer):
    version = serializers.CharField()
    entries = CatalogueEntrySerializer(many=True)


class InstallResultSerializer(CatalogueEntrySerializer):
    figures_created = serializers.ListField(child=serializers.CharField())
    indicator_created = serializers.BooleanField()


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _figure(definition: catalogue.FigureDef) -> dict[str, Any]:
    fields = definition.fields
    return {
        "code": definition.code,
        **{name: fields[name] for name in ("name", "name_en", "unit", "value_type", "time_aggregation")},
        "unit_aggregation": fields["unit_aggregation"],
        "reported_by": {
            "levels": fields["reported_by_levels"],
            "school_types": fields["reported_by_school_types"],
            "central_only": fields["reported_by_central_only"],
            "top_areas": fields["reported_by_top_areas"],
        },
        "help_text": fields["help_text"],
    }


def entry_data(state: catalogue.EntryState) -> dict[str, Any]:
    """One entry as the API shows it (field names as /api/v1/indicators/ and /api/v1/figures/ use them)."""
    entry = state.entry
    return {
        "code": entry.code,
        "name": entry.name,
        "name_en": entry.name_en,
        "synonyms": list(entry.synonyms),
        "definition": entry.definition,
        "unit": entry.unit,
        "formula": {
            "numerator": entry.numerator,
            "denominator": entry.denominator,
            "factor": _number(entry.factor),
            "aggregation": entry.aggregation,
            "decimals": entry.decimals,
            "condition": entry.condition,
            "weight": entry.weight,
        },
        "unit_filter": {
            "levels": list(entry.unit_filter["levels"]),
            "school_types": list(entry.unit_filter["school_types"]),
            "ownership": list(entry.unit_filter["ownership"]),
            "is_central": bool(entry.unit_filter["central_only"]),
        },
        "figures": [_figure(definition) for definition in entry.figures],
        "requires": entry.requires,
        "installed": state.installed,
        "installable": state.installable,
        "problems": list(state.problems),
    }


class CatalogueView(APIView):
    """GET: the catalogue's version and every entry, with whether it is installed here (anyone signed in)."""

    @extend_schema(responses=CatalogueSerializer)
    def get(self, request: Request) -> Response:
        loaded = catalogue.load()
        return Response({"version": loaded.version, "entries": [entry_data(s) for s in catalogue.states(loaded)]})


class CatalogueInstallView(APIView):
    """POST: create what is missing of one entry (bureau admin): 201 when something was created, else 200."""

    @extend_schema(request=None, responses={200: InstallResultSerializer, 201: InstallResultSerializer})
    def post(self, request: Request, code: str) -> Response:
        # Nothing to say but the code in the URL: an empty body or ``{}``; anything else is a mistake, a 400.
        if request.body.strip() and not (isinstance(request.data, dict) and not request.data):
            raise ServiceError({"non_field_errors": [_("请求体应为空或空的 JSON 对象。")]})
        loaded = catalogue.load()
        if code not in loaded.entries:
            raise Http404
        result = catalogue.install_entry(code, request.user)
        state = next(s for s in catalogue.states(loaded) if s.entry.code == code)
        body = {
            **entry_data(state),
            "figures_created": list(result.figures_created),
            "indicator_created": result.indicator_created,
        }
        return Response(body, status=status.HTTP_201_CREATED if result.changed else status.HTTP_200_OK)
