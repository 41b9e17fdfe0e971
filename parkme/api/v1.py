"""/api/v1/ routes (DESIGN.md "REST API")."""

from django.urls import path

from bookings.api import views as bookings
from facilities.api import views as facilities
from parkme.api import auth
from vehicles.api import views as vehicles

urlpatterns = [
    path("auth/register/", auth.RegisterView.as_view(), name="auth-register"),
    path("auth/token/", auth.TokenView.as_view(), name="auth-token"),
    path("auth/token/refresh/", auth.RefreshView.as_view(), name="auth-token-refresh"),
    path("me/", auth.MeView.as_view(), name="me"),
    path("vehicles/", vehicles.VehicleListView.as_view(), name="vehicles"),
    path("vehicles/<int:vehicle_id>/", vehicles.VehicleDetailView.as_view(), name="vehicle"),
    path("facilities/", facilities.FacilitySearchView.as_view(), name="facilities"),
    path("facilities/<int:facility_id>/", facilities.FacilityDetailView.as_view(), name="facility"),
    path(
        "facilities/<int:facility_id>/quote/",
        facilities.FacilityQuoteView.as_view(),
        name="facility-quote",
    ),
    path("bookings/", bookings.BookingListCreateView.as_view(), name="bookings"),
    path("bookings/<uuid:public_id>/", bookings.BookingDetailView.as_view(), name="booking"),
    path(
        "bookings/<uuid:public_id>/confirm/",
        bookings.BookingConfirmView.as_view(),
        name="booking-confirm",
    ),
    path(
        "bookings/<uuid:public_id>/cancel/",
        bookings.BookingCancelView.as_view(),
        name="booking-cancel",
    ),
    path(
        "bookings/<uuid:public_id>/extend/",
        bookings.BookingExtendView.as_view(),
        name="booking-extend",
    ),
    path(
        "bookings/<uuid:public_id>/check-in/",
        bookings.BookingCheckInView.as_view(),
        name="booking-check-in",
    ),
    path(
        "bookings/<uuid:public_id>/check-out/",
        bookings.BookingCheckOutView.as_view(),
        name="booking-check-out",
    ),
    path("operator/gate-events/", bookings.GateEventView.as_view(), name="gate-events"),
]
