"""Routes of the accounts app.

Two namespaces in one file: ``accounts`` for the member's pages and ``cedula`` for
the census card and refreshes by hand (templates and tests name them apart).
"""

from django.urls import path

from accounts.views import auth, cedula, events, home, imports, my_data, network, profile, referrals

app_name = "accounts"

urlpatterns = [
    path("", home.home, name="home"),
    path("registro/", auth.register, name="register"),
    path("ingresar/", auth.login_view, name="login"),
    path("salir/", auth.logout_view, name="logout"),
    path("perfil/", profile.profile, name="profile"),
    path("referidos/", referrals.referrals, name="referrals"),
    path("referidos/exportar.csv", referrals.referrals_csv, name="referrals_csv"),
    path("referidos/evento/", events.event_links, name="event_links"),
    path("referidos/vistos/", referrals.referrals_mark_seen, name="referrals_mark_seen"),
    path("referidos/actualizar-filtro/", network.refresh_filtered, name="referrals_refresh_filtered"),
    path("referidos/<int:user_id>/sublider/", network.sub_leader, name="sub_leader"),
    path("red/", network.network_overview, name="network"),
    path("territorio/", network.territory, name="territory"),
    path("territorio/lista/", network.territory_list, name="territory_list"),
    path("territorio/exportar.csv", network.territory_csv, name="territory_csv"),
    path("territorio/exportar.xlsx", network.territory_xlsx, name="territory_xlsx"),
    path("importar/", imports.imports, name="imports"),
    path("importar/revisar/", imports.import_review, name="import_review"),
    path("importar/descartar/", imports.import_discard, name="import_discard"),
    path("importar/<int:import_id>/", imports.import_detail, name="import_detail"),
    path("importar/<int:import_id>/progreso/", imports.import_progress_fragment, name="import_progress"),
    path("importar/<int:import_id>/reporte.xlsx", imports.import_report_xlsx, name="import_report_xlsx"),
    path("importar/<int:import_id>/reporte.csv", imports.import_report_csv, name="import_report_csv"),
    path("politica-de-datos/", auth.data_policy, name="data_policy"),
    path("politica-de-datos/aceptar/", my_data.accept_policy, name="accept_policy"),
    path("perfil/mis-datos/", my_data.my_data, name="my_data"),
    path("perfil/mis-datos.json", my_data.my_data_json, name="my_data_json"),
    path("perfil/eliminar-cuenta/", my_data.delete_account, name="delete_account"),
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
