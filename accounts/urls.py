"""Routes of the accounts app.

Two namespaces in one file: ``accounts`` for the member's pages and ``cedula`` for
the census card and refreshes by hand (templates and tests name them apart).
"""

from django.urls import path

from accounts.views import auth, cedula, home, network, profile, referrals

app_name = "accounts"

urlpatterns = [
    path("", home.home, name="home"),
    path("registro/", auth.register, name="register"),
    path("ingresar/", auth.login_view, name="login"),
    path("salir/", auth.logout_view, name="logout"),
    path("perfil/", profile.profile, name="profile"),
    path("referidos/", referrals.referrals, name="referrals"),
    path("referidos/exportar.csv", referrals.referrals_csv, name="referrals_csv"),
    path("referidos/vistos/", referrals.referrals_mark_seen, name="referrals_mark_seen"),
    path("referidos/actualizar-filtro/", network.refresh_filtered, name="referrals_refresh_filtered"),
    path("referidos/<int:user_id>/sublider/", network.sub_leader, name="sub_leader"),
    path("red/", network.network_overview, name="network"),
    path("territorio/", network.territory, name="territory"),
    path("territorio/lista/", network.territory_list, name="territory_list"),
    path("territorio/exportar.csv", network.territory_csv, name="territory_csv"),
    path("territorio/exportar.xlsx", network.territory_xlsx, name="territory_xlsx"),
    path("politica-de-datos/", auth.data_policy, name="data_policy"),
]

cedula_patterns = (
    [
        path("consulta/tarjeta/", cedula.card, name="card"),
        path("consulta/actualizar/", cedula.refresh_own, name="refresh"),
        path("referidos/actualizar/", cedula.refresh_referrals, name="refresh-referrals"),
        path("referidos/<int:user_id>/actualizar/", cedula.refresh_referral, name="refresh-referral"),
        path("referidos/<int:user_id>/estado/", cedula.referral_status, name="referral-status"),
    ],
    "cedula",
)
