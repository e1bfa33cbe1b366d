from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("", views.home, name="home"),
    path("ingresar/", auth_views.LoginView.as_view(), name="login"),
]
