from django.urls import path

from vehicles.api import views

urlpatterns = [
    path("vehicles/", views.VehicleListView.as_view(), name="vehicles"),
    path("vehicles/<int:vehicle_id>/", views.VehicleDetailView.as_view(), name="vehicle"),
]
