from django.urls import path

from facilities.api import views

urlpatterns = [
    path(
        "facilities/<int:facility_id>/quote/",
        views.FacilityQuoteView.as_view(),
        name="facility-quote",
    ),
]
