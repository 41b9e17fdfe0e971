from django.urls import path

from bookings.api import facility_views, operator_views, permit_views, views

urlpatterns = [
    path("facilities/", facility_views.FacilitySearchView.as_view(), name="facilities"),
    path(
        "facilities/<int:facility_id>/",
        facility_views.FacilityDetailView.as_view(),
        name="facility",
    ),
    path("bookings/", views.BookingListCreateView.as_view(), name="bookings"),
    path("bookings/<uuid:public_id>/", views.BookingDetailView.as_view(), name="booking"),
    path(
        "bookings/<uuid:public_id>/extend-quote/",
        views.BookingExtendQuoteView.as_view(),
        name="booking-extend-quote",
    ),
    *(
        path(
            f"bookings/<uuid:public_id>/{action}/",
            view.as_view(),
            name=f"booking-{action}",
        )
        for action, view in views.TRANSITION_VIEWS.items()
    ),
    path(
        "permit-products/",
        permit_views.PermitProductListView.as_view(),
        name="permit-products",
    ),
    path("permits/", permit_views.PermitListCreateView.as_view(), name="permits"),
    path("permits/<uuid:public_id>/", permit_views.PermitDetailView.as_view(), name="permit"),
    path(
        "permits/<uuid:public_id>/cancel/",
        permit_views.PermitCancelView.as_view(),
        name="permit-cancel",
    ),
    path("operator/gate-events/", views.GateEventView.as_view(), name="gate-events"),
    path(
        "operator/entitlements/",
        operator_views.EntitlementView.as_view(),
        name="entitlements",
    ),
]
