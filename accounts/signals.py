"""Signal receivers: thin, they hand off to services."""

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from accounts.models import User


@receiver(post_save, sender=User, dispatch_uid="accounts.user_created_lookup")
def request_lookup_for_new_user(sender, instance: User, created: bool, raw: bool = False, **kwargs) -> None:
    # raw: loaddata must not fire lookups for fixture rows.
    if not created or raw:
        return
    from accounts.services.cedulas import cedula_lookup_request

    cedula_lookup_request(user_id=instance.pk)


@receiver(pre_save, sender=User, dispatch_uid="accounts.user_network_path")
def keep_network_path(sender, instance: User, raw: bool = False, update_fields=None, **kwargs) -> None:
    if raw:  # loaddata brings its own paths
        return
    from accounts.services.network import network_before_save
    from accounts.validators import fold_accents

    instance.nombre_busqueda = fold_accents(instance.nombre_completo or "")[:150]
    network_before_save(member=instance, update_fields=update_fields)


@receiver(post_save, sender=User, dispatch_uid="accounts.user_network_moved")
def move_network(sender, instance: User, raw: bool = False, update_fields=None, **kwargs) -> None:
    if raw:
        return
    from accounts.services.network import network_after_save

    if (
        update_fields is not None
        and "nombre_completo" in update_fields
        and "nombre_busqueda" not in update_fields
    ):
        User.objects.filter(pk=instance.pk).update(nombre_busqueda=instance.nombre_busqueda)
    network_after_save(member=instance, update_fields=update_fields)


@receiver(post_delete, sender=User, dispatch_uid="accounts.user_network_deleted")
def reroot_network(sender, instance: User, **kwargs) -> None:
    from accounts.services.network import network_after_delete

    network_after_delete(member=instance)
