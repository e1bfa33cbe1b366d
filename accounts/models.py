import secrets

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

REFERRAL_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O/1/I: read aloud safely


def generate_referral_code() -> str:
    return "".join(secrets.choice(REFERRAL_CODE_ALPHABET) for _ in range(8))


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, cedula: str, password: str | None = None, **extra):
        if not cedula:
            raise ValueError("La cédula es obligatoria.")
        user = self.model(cedula=cedula, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, cedula: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("role", User.Role.LEADER)
        return self.create_user(cedula, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    class Role(models.TextChoices):
        USER = "USER", "Usuario"
        LEADER = "LEADER", "Líder"

    cedula = models.CharField("cédula", max_length=10, unique=True)
    nombre_completo = models.CharField("nombre completo", max_length=150)
    # The name folded (lower case, no accents), kept by accounts.signals: name search
    # reads it instead of folding every row in SQL (100,000-member networks).
    nombre_busqueda = models.CharField("nombre para búsqueda", max_length=150, blank=True, editable=False)
    telefono = models.CharField("teléfono", max_length=20, blank=True)
    accepted_data_policy = models.BooleanField("aceptó la política de datos", default=False)
    data_policy_accepted_at = models.DateTimeField("política aceptada el", null=True, blank=True)
    # The DATA_POLICY_VERSION last accepted: a newer one asks again at the next request
    # (accounts.middleware.DataPolicyMiddleware). Each acceptance is a ConsentRecord.
    data_policy_version = models.CharField("versión de la política aceptada", max_length=20, blank=True)
    # Set when the member deleted their account: the row stays as a tombstone ("miembro
    # eliminado") so their referrals keep their link, with every personal field wiped.
    deleted_at = models.DateTimeField("cuenta eliminada el", null=True, blank=True)
    # A person without an account whom a leader brought as a contact (issue 14): this row
    # holds the cédula and its shared census result (CedulaInfo) and nothing else; the name
    # and phone each leader gave are in their own Contact rows. Never active, no usable
    # password, no referrer. When the person registers, this very row becomes the member
    # (accounts.services.users.user_register), so the census row and its history stay.
    is_contact = models.BooleanField("contacto sin cuenta", default=False, db_index=True)
    referral_code = models.CharField(
        "código de referido", max_length=12, unique=True, default=generate_referral_code
    )
    referred_by = models.ForeignKey(
        "self",
        verbose_name="referido por",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="referrals",
    )
    referral_goal = models.PositiveIntegerField("meta de referidos", default=10)
    # Materialised path of the referral tree, kept by accounts.signals on every save:
    # the ids above this member, root first, each followed by "/" ("" for a root).
    # A network is then one indexed prefix scan (accounts.selectors.network).
    network_path = models.CharField("ruta en la red", max_length=600, blank=True, default="", editable=False)
    network_level = models.PositiveSmallIntegerField("nivel en la red", default=0, editable=False)
    role = models.CharField("rol", max_length=10, choices=Role.choices, default=Role.USER)
    # When the leader last opened Referidos: changes after it are marked as new.
    referrals_seen_at = models.DateTimeField("referidos vistos el", null=True, blank=True)
    is_active = models.BooleanField("activo", default=True)
    is_staff = models.BooleanField("acceso al admin", default=False)
    date_joined = models.DateTimeField("fecha de registro", default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "cedula"
    REQUIRED_FIELDS = ["nombre_completo"]

    class Meta:
        verbose_name = "usuario"
        verbose_name_plural = "usuarios"
        indexes = [
            models.Index(fields=["referred_by", "-date_joined"]),
            # varchar_pattern_ops: lets PostgreSQL answer LIKE 'prefix%' from the index
            # whatever the database collation (ignored on SQLite).
            models.Index(
                fields=["network_path", "network_level"],
                name="user_network_path_idx",
                opclasses=["varchar_pattern_ops", "int2_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.nombre_completo} ({self.cedula})"

    @property
    def is_leader(self) -> bool:
        return self.role == self.Role.LEADER

    # What a network page shows: a contact's row has no name or phone of its own; the
    # network selectors annotate the viewer's own Contact data (contact_nombre, …).
    @property
    def shown_nombre(self) -> str:
        return getattr(self, "contact_nombre", None) or self.nombre_completo

    @property
    def shown_joined(self):
        # A contact's date is when the viewer's side added them, not when the shared row was made.
        return getattr(self, "contact_since", None) or self.date_joined

    @property
    def shown_telefono(self) -> str:
        if self.is_contact:
            return getattr(self, "contact_telefono", None) or ""
        return self.telefono

    def clean(self) -> None:
        super().clean()
        if self.referred_by_id and self.pk:
            from accounts.services.network import ReferralCycleError, user_check_referrer

            try:
                user_check_referrer(member_id=self.pk, referrer_id=self.referred_by_id)
            except ReferralCycleError as exc:
                raise ValidationError({"referred_by": str(exc)}) from exc

    def get_full_name(self) -> str:
        return self.nombre_completo

    def get_short_name(self) -> str:
        return self.nombre_completo.split(" ")[0] if self.nombre_completo else self.cedula


class CedulaStatus(models.TextChoices):
    """Lifecycle of a census lookup. Which states are final is defined here only."""

    PENDING = "pending", "En cola"
    PROCESSING = "processing", "Consultando"
    FOUND = "found", "Puesto encontrado"
    NOT_FOUND = "not_found", "No inscrito en el censo"
    CANCELLED_DECEASED = "cancelled_deceased", "Cédula cancelada por muerte"
    CANCELLED_OTHER = "cancelled_other", "Cédula cancelada"
    PENDING_REGISTRADURIA = "pending_registraduria", "Pendiente en la Registraduría"
    ERROR = "error", "Error en la consulta"
    TIMEOUT = "timeout", "Tiempo de espera agotado"
    BLOCKED = "blocked", "Consulta bloqueada"
    # The Registraduría answered, but with something no rule classifies (a bare
    # "Vigente" novedad): not retried every night (it would say the same), refreshed
    # like any answer once old; operators find these rows by this status in the admin.
    UNREADABLE = "unreadable", "Respuesta no reconocida"

    @classmethod
    def in_flight(cls) -> frozenset[str]:
        return frozenset({cls.PENDING, cls.PROCESSING})

    @classmethod
    def results(cls) -> frozenset[str]:
        """Answers from the Registraduría: final, refreshed only when old."""
        return frozenset(
            {
                cls.FOUND,
                cls.NOT_FOUND,
                cls.CANCELLED_DECEASED,
                cls.CANCELLED_OTHER,
                cls.PENDING_REGISTRADURIA,
            }
        )

    @classmethod
    def failures(cls) -> frozenset[str]:
        """Final after retries were exhausted; retried again by the nightly refresh."""
        return frozenset({cls.ERROR, cls.TIMEOUT, cls.BLOCKED})

    @classmethod
    def final(cls) -> frozenset[str]:
        return cls.results() | cls.failures() | {cls.UNREADABLE}


class CedulaInfo(models.Model):
    """The member's voting place or census status, as last looked up."""

    Status = CedulaStatus

    user = models.OneToOneField(
        User, verbose_name="usuario", on_delete=models.CASCADE, related_name="cedula_info"
    )
    status = models.CharField(
        "estado", max_length=24, choices=CedulaStatus.choices, default=CedulaStatus.PENDING
    )
    departamento = models.CharField("departamento", max_length=100, blank=True)
    municipio = models.CharField("municipio", max_length=100, blank=True)
    puesto = models.CharField("puesto", max_length=200, blank=True)
    direccion = models.CharField("dirección", max_length=255, blank=True)
    mesa = models.CharField("mesa", max_length=20, blank=True)
    # The electoral zone (two digits) grouping puestos inside a municipio; only some sources
    # give it (eleccionescolombia does, wsp does not).
    zona = models.CharField("zona", max_length=10, blank=True)
    novedad = models.CharField("novedad", max_length=200, blank=True)
    resolucion = models.CharField("resolución", max_length=100, blank=True)
    fecha_novedad = models.CharField("fecha de novedad", max_length=30, blank=True)
    source = models.CharField("fuente", max_length=30, blank=True)
    # The last answer from the Registraduría (never pending/processing/error): what
    # the change history compares against while the row is being refreshed.
    result_status = models.CharField(
        "último resultado", max_length=24, choices=CedulaStatus.choices, blank=True
    )
    message = models.TextField("mensaje para el miembro", blank=True)
    error_detail = models.TextField("detalle del error (operadores)", blank=True)
    raw_response = models.TextField("respuesta cruda", blank=True)
    attempts = models.PositiveIntegerField("intentos", default=0)
    requested_at = models.DateTimeField("solicitado el", null=True, blank=True)
    claimed_at = models.DateTimeField("tomado el", null=True, blank=True)
    lease_expires_at = models.DateTimeField("reserva vence el", null=True, blank=True)
    claim_token = models.CharField("token de reserva", max_length=64, blank=True)
    # The Dramatiq message (and its retry number) that holds the claim: a later retry
    # of that same message (its result could not be written, say the database was
    # restarting) takes the row back at once instead of waiting out its own lease. A
    # redelivery with the same retry number does not: its first delivery may still run.
    claim_message_id = models.CharField("mensaje de la reserva", max_length=64, blank=True)
    claim_retries = models.PositiveIntegerField("reintento de la reserva", default=0)
    # Set when the lookup message could not be handed to the broker (outage): the
    # scheduler resends such rows within a minute, apart from rows in flight.
    # Indexed: the resend job asks for these rows every 30 s, also while the nightly
    # refresh holds 100,000 rows pending.
    unsent_since = models.DateTimeField("sin enviar desde", null=True, blank=True, db_index=True)
    # The broker queue the pending request was sent to (QUEUE_LOOKUPS or QUEUE_REFRESH):
    # the sweeper resends to the same one, and the card tells a member's own request
    # from a scheduled refresh.
    queue = models.CharField("cola", max_length=64, blank=True)
    fetched_at = models.DateTimeField("consultado el", null=True, blank=True)
    changed_at = models.DateTimeField("último cambio el", null=True, blank=True)
    created_at = models.DateTimeField("creado el", auto_now_add=True)
    updated_at = models.DateTimeField("actualizado el", auto_now=True)

    class Meta:
        verbose_name = "consulta de cédula"
        verbose_name_plural = "consultas de cédula"
        indexes = [
            models.Index(fields=["status", "fetched_at"]),
            models.Index(fields=["status", "lease_expires_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.get_status_display()}"

    @property
    def is_in_flight(self) -> bool:
        return self.status in CedulaStatus.in_flight()


class CedulaChange(models.Model):
    """One change of a member's voting place or census status between two lookups."""

    user = models.ForeignKey(
        User, verbose_name="usuario", on_delete=models.CASCADE, related_name="cedula_changes"
    )
    changed_at = models.DateTimeField("fecha del cambio", default=timezone.now, db_index=True)
    source = models.CharField("fuente", max_length=30, blank=True)
    old = models.JSONField("antes", default=dict)
    new = models.JSONField("después", default=dict)

    class Meta:
        verbose_name = "cambio de puesto o estado"
        verbose_name_plural = "cambios de puesto o estado"
        ordering = ["-changed_at"]

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.changed_at:%Y-%m-%d}"


class RateCounter(models.Model):
    """A fixed-window counter (login attempts, signups per address, refresh budgets).

    Counted in the database with conditional ``UPDATE ... SET count = count + n``
    (accounts/counters.py), which is atomic on SQLite and PostgreSQL alike; the
    cache's ``incr`` is a read-modify-write on the database cache and lets
    concurrent requests through.
    """

    key = models.CharField("clave", max_length=120, unique=True)
    count = models.IntegerField("cuenta", default=0)
    expires_at = models.DateTimeField("vence el", db_index=True)

    class Meta:
        verbose_name = "contador de límite"
        verbose_name_plural = "contadores de límite"

    def __str__(self) -> str:
        return f"{self.key}={self.count}"


class ConsentRecord(models.Model):
    """One acceptance of the data policy: which version, when and from which address."""

    user = models.ForeignKey(
        User, verbose_name="usuario", on_delete=models.CASCADE, related_name="consent_records"
    )
    version = models.CharField("versión", max_length=20)
    accepted_at = models.DateTimeField("aceptada el", default=timezone.now)
    # Kept in full as proof of the authorisation (Decreto 1377, art. 7); logs mask it.
    ip = models.GenericIPAddressField("dirección IP", null=True, blank=True)

    class Meta:
        verbose_name = "aceptación de la política"
        verbose_name_plural = "aceptaciones de la política"
        ordering = ["-accepted_at"]

    def __str__(self) -> str:
        return f"{self.user_id} v{self.version} @ {self.accepted_at:%Y-%m-%d}"


def generate_event_token() -> str:
    return secrets.token_urlsafe(12)


class EventLink(models.Model):
    """A short-lived sign-up link a leader opens for a rally.

    Sign-ups through it share a higher per-IP limit (one Wi-Fi, a crowd) for a few
    hours and count against the link's own cap, so a leaked link cannot flood.
    """

    leader = models.ForeignKey(
        User, verbose_name="líder", on_delete=models.CASCADE, related_name="event_links"
    )
    name = models.CharField("evento", max_length=80)
    token = models.CharField("token", max_length=32, unique=True, default=generate_event_token)
    created_at = models.DateTimeField("abierto el", default=timezone.now)
    expires_at = models.DateTimeField("vence el")
    max_signups = models.PositiveIntegerField("máximo de registros")
    signups = models.PositiveIntegerField("registros", default=0)

    class Meta:
        verbose_name = "enlace de evento"
        verbose_name_plural = "enlaces de evento"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.leader_id})"

    @property
    def is_open(self) -> bool:
        return self.expires_at > timezone.now() and self.signups < self.max_signups


class AuditEntryQuerySet(models.QuerySet):
    # Append-only: bulk edits and deletes through the ORM are refused as well.
    def update(self, **kwargs):
        raise PermissionError("audit entries are append-only")

    def delete(self):
        raise PermissionError("audit entries are append-only")


class AuditEntry(models.Model):
    """One access to other people's personal data (or a data-rights outcome).

    Written by accounts.services.audit only; never holds a full cédula or phone.
    """

    class Action(models.TextChoices):
        EXPORT_CSV = "export_csv", "Exportó CSV"
        EXPORT_XLSX = "export_xlsx", "Exportó XLSX"
        BULK_REFRESH = "bulk_refresh", "Actualización masiva"
        ADMIN_VIEW = "admin_view", "Vio en el admin"
        ADMIN_REFRESH = "admin_refresh", "Consultó de nuevo desde el admin"
        ACCOUNT_DELETED = "account_deleted", "Cuenta eliminada por su titular"
        EVENT_LINK_OPENED = "event_link_opened", "Abrió un enlace de evento"
        CONTACT_IMPORT = "contact_import", "Importó contactos"
        IMPORT_REPORT = "import_report", "Descargó el reporte de una importación"

    at = models.DateTimeField("fecha", default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        User,
        verbose_name="quién",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_entries",
    )
    action = models.CharField("acción", max_length=24, choices=Action.choices)
    # What was accessed: "user:12", "cedulainfo:12", "referrals of user:7"; ids only.
    target = models.CharField("sobre qué", max_length=100, blank=True)
    filters = models.JSONField("filtro", default=dict, blank=True)
    row_count = models.PositiveIntegerField("filas", null=True, blank=True)
    detail = models.CharField("detalle", max_length=255, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = "registro de auditoría"
        verbose_name_plural = "registros de auditoría"
        ordering = ["-at"]
        indexes = [models.Index(fields=["action", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.target}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise PermissionError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("audit entries are append-only")


# ------------------------------------------------------------------------------
# Contacts and their import (issue 14)
# ------------------------------------------------------------------------------
class ContactImport(models.Model):
    """One spreadsheet a leader imported, with the authorisation they declared (Ley 1581 de 2012)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "En cola"
        RUNNING = "running", "Creando contactos"
        DONE = "done", "Terminada"
        FAILED = "failed", "Falló"

    leader = models.ForeignKey(
        User, verbose_name="líder", on_delete=models.CASCADE, related_name="contact_imports"
    )
    status = models.CharField("estado", max_length=10, choices=Status.choices, default=Status.QUEUED)
    file_name = models.CharField("archivo", max_length=200)
    file_sha256 = models.CharField("sha256 del archivo", max_length=64)
    file_rows = models.PositiveIntegerField("filas del archivo")
    # The consent record: who (leader), when, from where, and the statement as shown.
    consent_statement = models.TextField("declaración de autorización")
    consented_at = models.DateTimeField("autorización declarada el", default=timezone.now)
    consent_ip = models.GenericIPAddressField("dirección IP", null=True, blank=True)
    # Which column held what (0-based), and the header row as read.
    columns = models.JSONField("columnas", default=dict)
    header = models.JSONField("encabezado", default=list)
    rows_total = models.PositiveIntegerField("filas a procesar", default=0)
    rows_done = models.PositiveIntegerField("filas procesadas", default=0)
    created = models.PositiveIntegerField("contactos creados", default=0)
    rejected = models.PositiveIntegerField("filas rechazadas", default=0)
    lookups_sent = models.PositiveIntegerField("consultas enviadas", default=0)
    # Taken from the leader's daily lookup budget at the confirmation; what was not
    # sent is given back when the import ends.
    lookups_reserved = models.PositiveIntegerField("consultas reservadas", default=0)
    # The file's rows as read at the upload, for the actor (on any machine); emptied when the
    # import ends, when the report rows (ImportRow) hold what is kept.
    staged = models.JSONField("filas por procesar", null=True, blank=True, editable=False)
    started_at = models.DateTimeField("iniciada el", null=True, blank=True)
    finished_at = models.DateTimeField("terminada el", null=True, blank=True)
    error = models.CharField("error", max_length=255, blank=True)
    created_at = models.DateTimeField("creada el", default=timezone.now)

    class Meta:
        verbose_name = "importación de contactos"
        verbose_name_plural = "importaciones de contactos"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["leader", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.leader_id})"

    @property
    def in_flight(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


class Contact(models.Model):
    """A person in a leader's network without an account: the leader's own name and phone for them.

    ``person`` is the User row holding the cédula and its census result, shared by every
    leader who has this cédula (and by the member, once the person registers).
    """

    leader = models.ForeignKey(User, verbose_name="líder", on_delete=models.CASCADE, related_name="contacts")
    person = models.ForeignKey(
        User, verbose_name="persona", on_delete=models.CASCADE, related_name="contact_links"
    )
    nombre = models.CharField("nombre", max_length=150)
    nombre_busqueda = models.CharField("nombre para búsqueda", max_length=150, blank=True, editable=False)
    telefono = models.CharField("teléfono", max_length=20, blank=True)
    source_import = models.ForeignKey(
        ContactImport,
        verbose_name="importación",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contacts",
    )
    created_at = models.DateTimeField("agregado el", default=timezone.now)

    class Meta:
        verbose_name = "contacto"
        verbose_name_plural = "contactos"
        constraints = [
            models.UniqueConstraint(fields=["leader", "person"], name="contact_leader_person_unique")
        ]

    def __str__(self) -> str:
        return f"{self.nombre} ({self.leader_id})"


class ImportRow(models.Model):
    """One row of an imported file as read, and what became of it (the report)."""

    class Outcome(models.TextChoices):
        CREATED = "created", "Contacto creado"
        REJECTED = "rejected", "Rechazada"

    contact_import = models.ForeignKey(
        ContactImport, verbose_name="importación", on_delete=models.CASCADE, related_name="rows"
    )
    number = models.PositiveIntegerField("fila")
    cells = models.JSONField("celdas", default=list)
    cedula = models.CharField("cédula", max_length=10, blank=True)
    outcome = models.CharField("resultado", max_length=10, choices=Outcome.choices)
    reason = models.CharField("motivo", max_length=200, blank=True)
    person = models.ForeignKey(
        User, verbose_name="persona", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "fila importada"
        verbose_name_plural = "filas importadas"
        constraints = [
            models.UniqueConstraint(
                fields=["contact_import", "number"], name="importrow_import_number_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.contact_import_id}:{self.number} {self.outcome}"
