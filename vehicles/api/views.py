from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from parkme.api.fields import StrictSerializer
from parkme.api.pagination import StandardPagination
from parkme.api.schema import paginated
from parkme.api.views import ApiView
from vehicles import selectors, services
from vehicles.models import VehicleKind


class VehicleOutput(serializers.Serializer):
    id = serializers.IntegerField()
    plate = serializers.CharField()
    plate_normalized = serializers.CharField()
    kind = serializers.ChoiceField(choices=VehicleKind.choices)
    is_ev = serializers.BooleanField()
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class VehicleInput(StrictSerializer):
    plate = serializers.CharField(max_length=20)
    kind = serializers.ChoiceField(choices=VehicleKind.choices, default=VehicleKind.CAR)
    is_ev = serializers.BooleanField(default=False)


class VehicleListView(ApiView):
    @extend_schema(
        responses=paginated(VehicleOutput(many=True), "PaginatedVehicles"),
        operation_id="vehicles_list",
    )
    def get(self, request):
        paginator = StandardPagination()
        page = paginator.paginate_queryset(
            selectors.vehicle_list(owner=request.user), request, view=self
        )
        return paginator.get_paginated_response(VehicleOutput(page, many=True).data)

    @extend_schema(
        request=VehicleInput, responses={201: VehicleOutput}, operation_id="vehicles_create"
    )
    def post(self, request):
        data = VehicleInput(data=request.data)
        data.is_valid(raise_exception=True)
        vehicle = services.vehicle_create(owner=request.user, **data.validated_data)
        return Response(VehicleOutput(vehicle).data, status=status.HTTP_201_CREATED)


class VehicleDetailView(ApiView):
    @extend_schema(responses=VehicleOutput, operation_id="vehicles_retrieve")
    def get(self, request, vehicle_id: int):
        vehicle = selectors.vehicle_get(owner=request.user, vehicle_id=vehicle_id)
        return Response(VehicleOutput(vehicle).data)

    @extend_schema(
        request=VehicleInput(partial=True),
        responses=VehicleOutput,
        operation_id="vehicles_partial_update",
    )
    def patch(self, request, vehicle_id: int):
        vehicle = selectors.vehicle_get(owner=request.user, vehicle_id=vehicle_id)
        data = VehicleInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        vehicle = services.vehicle_update(vehicle=vehicle, **data.validated_data)
        return Response(VehicleOutput(vehicle).data)

    @extend_schema(responses={204: None}, operation_id="vehicles_destroy")
    def delete(self, request, vehicle_id: int):
        vehicle = selectors.vehicle_get(owner=request.user, vehicle_id=vehicle_id)
        services.vehicle_deactivate(vehicle=vehicle)
        return Response(status=status.HTTP_204_NO_CONTENT)
