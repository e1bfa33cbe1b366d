"""Signal receivers: thin, they hand off to services."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import User


@receiver(post_save, sender=User, dispatch_uid="accounts.user_created_lookup")
def request_lookup_for_new_user(sender, instance: User, created: bool, raw: bool = False, **kwargs) -> None:
    # raw: loaddata must not fire lookups for fixture rows.
    if not created or raw:
        return
    from accounts.services.cedulas import cedula_lookup_request

    cedula_lookup_request(user_id=instance.pk)
