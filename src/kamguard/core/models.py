from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class AppendOnlyError(RuntimeError):
    pass


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    """Reads only: the application never updates or deletes audit events (the database refuses too)."""

    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("Audit events are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit events are append-only.")

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        raise AppendOnlyError("Audit events are append-only.")


# The columns `AuditEvent.chain_content_of` reads: select exactly these to verify without building models.
CHAIN_FIELDS = ("occurred_at", "actor_id", "actor_label", "action", "object_type", "object_id", "object_label",
                "changes", "reason", "ip_address", "user_agent", "channel")


class AuditEvent(models.Model):
    """One entry of the tamper-evident audit trail. Written only by kamguard.core.audit.audit_record.

    Append-only three times over: `save` and `delete` refuse changes, the queryset refuses `update` and
    `delete`, and database triggers (migration core 0003) refuse UPDATE and DELETE from any client.
    """

    sequence = models.PositiveBigIntegerField(_("sequence"), unique=True)
    occurred_at = models.DateTimeField(_("time (UTC)"), db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("actor"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+", db_constraint=False)
    actor_label = models.CharField(_("actor name"), max_length=200, blank=True)
    action = models.CharField(_("action"), max_length=80, db_index=True)
    object_type = models.CharField(_("object type"), max_length=80, blank=True, db_index=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True, db_index=True)
    object_label = models.CharField(_("object"), max_length=300, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=400, blank=True)
    channel = models.CharField(_("channel"), max_length=16, blank=True)
    previous_digest = models.CharField(max_length=64)
    digest = models.CharField(max_length=64)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-sequence"]
        indexes = [models.Index(fields=["object_type", "object_id", "sequence"], name="audit_object_idx"),
                   models.Index(fields=["actor", "sequence"], name="audit_actor_idx")]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("Audit events are append-only.")

    @staticmethod
    def chain_content_of(values: Mapping[str, Any]) -> dict[str, Any]:
        """The fields the digest covers, from a row of `CHAIN_FIELDS`, in a form that survives a round trip
        through either database (aware UTC datetimes, JSON that both store the same way)."""
        occurred_at = values["occurred_at"]
        return {
            "occurred_at": occurred_at.isoformat() if occurred_at is not None else None,
            "actor_id": values["actor_id"],
            "actor_label": values["actor_label"],
            "action": values["action"],
            "object_type": values["object_type"],
            "object_id": values["object_id"],
            "object_label": values["object_label"],
            "changes": values["changes"],
            "reason": values["reason"],
            "ip_address": values["ip_address"],
            "user_agent": values["user_agent"],
            "channel": values["channel"],
        }

    def chain_content(self) -> dict[str, Any]:
        return self.chain_content_of({name: getattr(self, name) for name in CHAIN_FIELDS})


class PeriodicRun(models.Model):
    """One row per periodic job and period: the unique key makes the scheduler safe to run several times."""

    job = models.CharField(max_length=100)
    period_key = models.CharField(max_length=40)
    enqueued_at = models.DateTimeField(auto_now_add=True)
    task_result_id = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "period_key"], name="periodic_run_once_per_period")]

    def __str__(self) -> str:
        return f"{self.job} {self.period_key}"
