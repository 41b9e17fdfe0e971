"""Users and tenancy: a user may drive, be staff of several operators, or both."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: object) -> User:
        if not email:
            raise ValueError("Users need an e-mail address")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        default=False, help_text="Can log in to the admin (staff of an operator, or ops)."
    )
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()


class Operator(models.Model):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    ATTENDANT = "attendant", "Attendant"
    DEVICE = "device", "Gate device"


class MembershipQuerySet(models.QuerySet["Membership"]):
    def for_operator(self, operator: Operator | int) -> MembershipQuerySet:
        return self.filter(operator=operator)


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    operator = models.ForeignKey(Operator, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "operator"], name="membership_unique"),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.operator} ({self.role})"


class BackupRun(models.Model):
    """One run of the nightly backup or of the weekly restore drill (parkme.backup_jobs).

    ``ok`` is None while the run is going; a run the worker never finished (killed, hard time
    limit) is marked failed by the next run of its kind.
    """

    class Kind(models.TextChoices):
        BACKUP = "backup", "Backup"
        DRILL = "drill", "Restore drill"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(null=True, help_text="Empty while the run is going.")
    size_bytes = models.BigIntegerField(null=True, blank=True, help_text="Of the backup file.")
    s3_url = models.CharField(
        "S3 copy", max_length=1024, blank=True, help_text="Backup: written; drill: restored."
    )
    local_path = models.CharField(
        "local copy", max_length=1024, blank=True, help_text="Backup: written; drill: restored."
    )
    table_counts = models.JSONField(
        default=dict,
        blank=True,
        help_text="Rows per main table: in the backup's snapshot, or restored by the drill.",
    )
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["kind", "-started_at"], name="backuprun_kind_started")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["backup", "drill"]), name="backuprun_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        outcome = {True: "ok", False: "failed", None: "running"}[self.ok]
        return f"{self.get_kind_display()} {self.started_at:%Y-%m-%d %H:%M} ({outcome})"
