"""Migration accounts 0004 adds CedulaInfo.zona: existing rows keep every value, zona starts empty."""

import pytest
from tests.fixtures.migrations import migrate_to, migrate_to_latest

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("accounts", "0003_move_schedulerrun_to_actors")
AFTER = ("accounts", "0004_cedulainfo_zona")


def test_adding_zona_keeps_the_rows_and_going_back_keeps_them_too():
    old = migrate_to(BEFORE)
    try:
        user = old.get_model("accounts", "User").objects.create(
            cedula="54000001", nombre_completo="Rita Migración", password="!"
        )
        old.get_model("accounts", "CedulaInfo").objects.update_or_create(
            user=user, defaults={"status": "found", "municipio": "PASTO", "puesto": "IE LICEO", "mesa": "7"}
        )

        new = migrate_to(AFTER)
        row = new.get_model("accounts", "CedulaInfo").objects.get(user_id=user.pk)
        assert (row.status, row.municipio, row.puesto, row.mesa, row.zona) == ("found", "PASTO", "IE LICEO", "7", "")
        row.zona = "02"
        row.save()

        back = migrate_to(BEFORE)
        row = back.get_model("accounts", "CedulaInfo").objects.get(user_id=user.pk)
        assert (row.municipio, row.puesto, row.mesa) == ("PASTO", "IE LICEO", "7")
        assert not hasattr(row, "zona")
    finally:
        migrate_to_latest()
