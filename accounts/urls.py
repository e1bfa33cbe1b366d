from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("", views.home, name="home"),
    path("registro/", views.register, name="register"),
    path("ingresar/", views.login_view, name="login"),
    path("salir/", views.logout_view, name="logout"),
    path("perfil/", views.profile, name="profile"),
    path("referidos/", views.referrals, name="referrals"),
    path("referidos/exportar.csv", views.referrals_csv, name="referrals_csv"),
    path("referidos/vistos/", views.referrals_mark_seen, name="referrals_mark_seen"),
    path("politica-de-datos/", views.data_policy, name="data_policy"),
]
