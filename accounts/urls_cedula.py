from django.urls import path

from . import views_cedula

app_name = "cedula"

urlpatterns = [
    path("consulta/tarjeta/", views_cedula.card, name="card"),
    path("consulta/actualizar/", views_cedula.refresh_own, name="refresh"),
    path("referidos/actualizar/", views_cedula.refresh_referrals, name="refresh-referrals"),
    path("referidos/<int:user_id>/actualizar/", views_cedula.refresh_referral, name="refresh-referral"),
    path("referidos/<int:user_id>/estado/", views_cedula.referral_status, name="referral-status"),
]
