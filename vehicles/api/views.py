from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from parkme.api.fields import PageQuery, StrictBooleanField, StrictCharField, StrictSerializer
from parkme.api.pagination import StandardPagination
from parkme.api.schema import (
    DRIVER,
    JSON_BODY,
    NOT_FOUND,
    VALIDATION,
    api_operation,
    domain_error,
    paginated,
)
from parkme.api.views import ApiView
from parkme.errors import Conflict
from vehicles import selectors, services
from vehicles.models import VehicleKind

# What vehicles.plates accepts: at most 20 characters as typed; ignoring spaces and dashes,
# 1-15 letters or digits of any alphabet (Python's \w without "_").
PLATE_PATTERN = r"^[\s-]*(?:[^\W_][\s-]*){1,15}$"


@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": 20,
        "pattern": PLATE_PATTERN,
        "description": "As typed, at most 20 characters. Ignoring spaces and dashes it must "
        "be 1-15 letters or digits (any alphabet).",
        "example": "ABC-123",
    }
)
class PlateField(StrictCharField):
    """A licence plate as typed; the length limit counts every character sent."""

    def __init__(self, **kwargs):
        super().__init__(max_length=20, trim_whitespace=False, **kwargs)


class VehicleOutput(serializers.Serializer):
    id = serializers.IntegerField()
    plate = serializers.CharField(help_text="As typed.")
    plate_normalized = serializers.CharField(
        help_text="Upper case, without spaces or dashes: what gates match."
    )
    kind = serializers.ChoiceField(choices=VehicleKind.choices)
    is_ev = serializers.BooleanField()
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class VehicleInput(StrictSerializer):
    plate = PlateField()
    kind = serializers.ChoiceField(choices=VehicleKind.choices, default=VehicleKind.CAR)
    is_ev = StrictBooleanField(default=False, help_text="JSON true or false.")


DUPLICATE_PLATE = domain_error(
    services.DuplicatePlate,
    "You already have an active vehicle with this plate (compared after normalisation).",
    fields={"plate": [services.DuplicatePlate.default_message]},
)
PLATE_INVALID = VALIDATION.but(
    when="A field breaks a rule (for example the plate has no letters or digits, or more "
    "than 15), or an unknown field was sent.",
    fields={"plate": ["Use letters and digits only, at most 15 of them."]},
)
VEHICLE_NOT_FOUND = NOT_FOUND.but(
    when="None of your active vehicles has this id.", message="No vehicle with this id."
)
_VEHICLE = {
    "id": 3,
    "plate": "abc-123",
    "plate_normalized": "ABC123",
    "kind": "car",
    "is_ev": False,
    "is_active": True,
    "created_at": "2026-05-01T08:30:00Z",
}
_VEHICLE_EXAMPLE = OpenApiExample("A car", value=_VEHICLE, response_only=True)


def _vehicle_links(id_at: str, which: str) -> dict[str, dict]:
    return {
        f"{name}Vehicle": {
            "operationId": operation,
            "parameters": {"vehicle_id": f"$response.body#{id_at}"},
            "description": f"{verb} {which}.",
        }
        for name, operation, verb in (
            ("Get", "vehicles_retrieve", "Read"),
            ("Update", "vehicles_partial_update", "Change"),
            ("Remove", "vehicles_destroy", "Remove"),
        )
    }


class VehicleListView(ApiView):
    @api_operation(
        operation_id="vehicles_list",
        tags=["vehicles"],
        summary="List your vehicles",
        description="Your active vehicles, newest first, paginated. A page past the last "
        "one is a `404`.",
        parameters=[PageQuery],
        links={200: _vehicle_links("/results/0/id", "the first vehicle listed")},
        responses={
            200: OpenApiResponse(
                paginated(VehicleOutput(many=True), "PaginatedVehicles"),
                description="One page of your vehicles.",
            )
        },
        errors=[
            *DRIVER,
            VALIDATION.but(
                when="`page` or `page_size` is not a whole number in range.",
                fields={"page_size": ["Ensure this value is less than or equal to 100."]},
            ),
            NOT_FOUND.but(when="A page past the last one.", message="Invalid page."),
        ],
        examples=[
            OpenApiExample(
                "One car",
                value={"count": 1, "next": None, "previous": None, "results": [_VEHICLE]},
                response_only=True,
            )
        ],
    )
    def get(self, request):
        PageQuery(data=request.query_params).is_valid(raise_exception=True)
        paginator = StandardPagination()
        page = paginator.paginate_queryset(
            selectors.vehicle_list(owner=request.user), request, view=self
        )
        return paginator.get_paginated_response(VehicleOutput(page, many=True).data)

    @api_operation(
        operation_id="vehicles_create",
        tags=["vehicles"],
        summary="Add a vehicle",
        description="Adds a vehicle to your account. `kind` defaults to `car` and `is_ev` to "
        "`false`. A plate you already have on an active vehicle (compared after "
        "normalisation) is a `400 duplicate_plate`.",
        request=VehicleInput,
        responses={201: OpenApiResponse(VehicleOutput, description="The vehicle added.")},
        errors=[*DRIVER, PLATE_INVALID, DUPLICATE_PLATE, *JSON_BODY],
        links={201: _vehicle_links("/id", "the vehicle just added")},
        examples=[
            OpenApiExample(
                "A car",
                value={"plate": "abc-123", "kind": "car", "is_ev": False},
                request_only=True,
            ),
            _VEHICLE_EXAMPLE,
        ],
    )
    def post(self, request):
        data = VehicleInput(data=request.data)
        data.is_valid(raise_exception=True)
        vehicle = services.vehicle_create(owner=request.user, **data.validated_data)
        return Response(VehicleOutput(vehicle).data, status=status.HTTP_201_CREATED)


class VehicleDetailView(ApiView):
    @api_operation(
        operation_id="vehicles_retrieve",
        tags=["vehicles"],
        summary="Read one of your vehicles",
        description="One of your active vehicles. Someone else's, or a removed one, is a `404`.",
        responses={200: OpenApiResponse(VehicleOutput, description="The vehicle.")},
        errors=[*DRIVER, VEHICLE_NOT_FOUND],
        examples=[_VEHICLE_EXAMPLE],
    )
    def get(self, request, vehicle_id: int):
        vehicle = selectors.vehicle_get(owner=request.user, vehicle_id=vehicle_id)
        return Response(VehicleOutput(vehicle).data)

    @api_operation(
        operation_id="vehicles_partial_update",
        tags=["vehicles"],
        summary="Change a vehicle",
        description="Changes any of `plate`, `kind` and `is_ev` of one of your active "
        "vehicles; fields not sent keep their value.",
        request=VehicleInput(partial=True),
        responses={200: OpenApiResponse(VehicleOutput, description="The vehicle, changed.")},
        errors=[*DRIVER, VEHICLE_NOT_FOUND, PLATE_INVALID, DUPLICATE_PLATE, *JSON_BODY],
        examples=[
            OpenApiExample("Now electric", value={"is_ev": True}, request_only=True),
            _VEHICLE_EXAMPLE,
        ],
    )
    def patch(self, request, vehicle_id: int):
        vehicle = selectors.vehicle_get(owner=request.user, vehicle_id=vehicle_id)
        data = VehicleInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        vehicle = services.vehicle_update(vehicle=vehicle, **data.validated_data)
        return Response(VehicleOutput(vehicle).data)

    @api_operation(
        operation_id="vehicles_destroy",
        tags=["vehicles"],
        summary="Remove a vehicle",
        description="Deactivates one of your vehicles: it is no longer listed or found, and "
        "its bookings keep referring to it. Refused with `409 conflict` while it has live "
        "(`held`, `confirmed` or `active`) bookings: cancel or finish them first.",
        responses={204: OpenApiResponse(description="Removed. No body.")},
        errors=[
            *DRIVER,
            VEHICLE_NOT_FOUND,
            domain_error(
                Conflict,
                "The vehicle has live bookings.",
                message="This vehicle has live bookings; cancel or finish them first.",
                fields={
                    "vehicle": ["This vehicle has live bookings; cancel or finish them first."]
                },
            ),
        ],
    )
    def delete(self, request, vehicle_id: int):
        vehicle = selectors.vehicle_get(owner=request.user, vehicle_id=vehicle_id)
        services.vehicle_deactivate(vehicle=vehicle)
        return Response(status=status.HTTP_204_NO_CONTENT)
