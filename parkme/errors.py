"""Domain errors with stable codes; the API renders them as the error format of docs/api.md."""

from __future__ import annotations


class ParkMeError(Exception):
    status_code = 400
    code = "invalid"
    default_message = "The request is not valid."

    def __init__(self, message: str | None = None, *, fields: dict | None = None) -> None:
        self.message = message or self.default_message
        self.fields = fields or {}
        super().__init__(self.message)


class ValidationFailed(ParkMeError):
    status_code = 400
    code = "validation_error"
    default_message = "Some fields are not valid."


class NotFound(ParkMeError):
    status_code = 404
    code = "not_found"
    default_message = "Not found."


class PermissionDenied(ParkMeError):
    status_code = 403
    code = "permission_denied"
    default_message = "You do not have permission to do this."


class Conflict(ParkMeError):
    status_code = 409
    code = "conflict"
    default_message = "The request conflicts with the current state."


class NoAvailability(Conflict):
    code = "no_availability"
    default_message = "No spot of that kind is free for that window."


class NoRateInForce(Conflict):
    code = "no_rate_in_force"
    default_message = "The facility has no rate in force for that window."


class QuoteExpired(Conflict):
    code = "quote_expired"
    default_message = "The quote has expired: ask for a new one."


class InvalidTransition(Conflict):
    code = "invalid_transition"
    default_message = "That action is not allowed in the booking's current state."


class BookingLimitReached(Conflict):
    code = "booking_limit_reached"
    default_message = "You already hold the maximum number of live bookings."


class VehicleBusy(Conflict):
    code = "vehicle_busy"
    default_message = "This vehicle already has a booking that overlaps that window."


class IdempotencyKeyReused(ParkMeError):
    status_code = 422
    code = "idempotency_key_reused"
    default_message = "This Idempotency-Key was already used with a different request."


class SoldOut(Conflict):
    code = "sold_out"
    default_message = "This permit product is sold out for that period."


class PermitVehicleInside(Conflict):
    code = "permit_vehicle_inside"
    default_message = "A vehicle of this permit is inside the facility: try again after it leaves."
