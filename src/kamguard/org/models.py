from __future__ import annotations

from functools import cached_property

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kamguard.core.models import TimeStampedModel
from kamguard.org.domain.roles import Right, Role, Scope, rights_for, scope_for


class Department(TimeStampedModel):
    external_id = models.CharField(_("external id"), max_length=64, unique=True, null=True, blank=True)
    name = models.CharField(_("name"), max_length=120)
    parent = models.ForeignKey("self", verbose_name=_("parent department"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="children")
    # Materialised path of ids, e.g. "/1/4/9/": "department and below" is a prefix match.
    path = models.CharField(max_length=500, db_index=True, editable=False, default="/")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    region = models.ForeignKey("org.Region", verbose_name=_("region"), null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    head = models.ForeignKey("org.User", verbose_name=_("head"), null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["path"]
        constraints = [models.UniqueConstraint(fields=["parent", "name"], name="department_unique_name_under_parent")]

    def __str__(self) -> str:
        return self.name


class Team(TimeStampedModel):
    external_id = models.CharField(_("external id"), max_length=64, unique=True, null=True, blank=True)
    name = models.CharField(_("name"), max_length=120)
    department = models.ForeignKey(Department, verbose_name=_("department"), on_delete=models.PROTECT,
                                   related_name="teams")
    leader = models.ForeignKey("org.User", verbose_name=_("leader"), null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="led_teams")
    region = models.ForeignKey("org.Region", verbose_name=_("region"), null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["department", "name"], name="team_unique_name_in_department")]

    def __str__(self) -> str:
        return self.name


class RegionLevel(models.TextChoices):
    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    DISTRICT = "district", _("District")


class Region(models.Model):
    """Official administrative divisions (GB/T 2260 codes), loaded from the dataset cpca ships."""

    code = models.CharField(_("code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=80, db_index=True)
    level = models.CharField(_("level"), max_length=10, choices=RegionLevel.choices)
    parent = models.ForeignKey("self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children")
    longitude = models.FloatField(null=True, blank=True)
    latitude = models.FloatField(null=True, blank=True)

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def full_name(self) -> str:
        parts = [self.name]
        node = self.parent
        while node is not None:
            parts.append(node.name)
            node = node.parent
        return "".join(reversed(parts))


class Industry(TimeStampedModel):
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120, unique=True)
    name_en = models.CharField(_("English name"), max_length=120, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("industry")
        verbose_name_plural = _("industries")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Post(TimeStampedModel):
    """A job post (岗位), e.g. 大客户经理, 大客户专员, 销售总监."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120, unique=True)
    name_en = models.CharField(_("English name"), max_length=120, blank=True)
    description = models.TextField(_("duties"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Grade(TimeStampedModel):
    """A grade (职级) on the promotion path; a higher rank is more senior."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)
    rank = models.PositiveSmallIntegerField(_("rank"), unique=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("grade")
        verbose_name_plural = _("grades")
        ordering = ["rank"]

    def __str__(self) -> str:
        return self.name


class KamUserManager(UserManager["User"]):
    pass


class User(AbstractUser):
    external_id = models.CharField(_("external id"), max_length=64, unique=True, null=True, blank=True)
    full_name = models.CharField(_("full name"), max_length=120)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    wechat = models.CharField(_("WeChat"), max_length=64, blank=True)
    department = models.ForeignKey(Department, verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="members")
    team = models.ForeignKey(Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.PROTECT,
                             related_name="members")
    post = models.ForeignKey(Post, verbose_name=_("post"), null=True, blank=True, on_delete=models.PROTECT,
                             related_name="holders")
    grade = models.ForeignKey(Grade, verbose_name=_("grade"), null=True, blank=True, on_delete=models.PROTECT,
                              related_name="holders")
    region = models.ForeignKey(Region, verbose_name=_("region"), null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    supervisor = models.ForeignKey("self", verbose_name=_("supervisor"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="reports")
    hired_on = models.DateField(_("hired on"), null=True, blank=True)
    left_on = models.DateField(_("left on"), null=True, blank=True)
    can_export = models.BooleanField(_("may export data"), default=False,
                                     help_text=_("Export is a separate right, granted person by person."))
    preferred_language = models.CharField(_("language"), max_length=10, blank=True)

    objects = KamUserManager()  # type: ignore[misc]

    REQUIRED_FIELDS = ["email", "full_name"]

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.full_name or self.username

    @cached_property
    def roles(self) -> frozenset[Role]:
        now = timezone.now()
        codes = self.role_assignments.filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now)).values_list(
            "role", flat=True
        )
        return frozenset(Role(code) for code in codes)

    @property
    def scope(self) -> Scope:
        if not self.is_active:
            return Scope.NONE
        return scope_for(self.roles)

    @property
    def rights(self) -> frozenset[Right]:
        if not self.is_active:
            return frozenset()
        return rights_for(self.roles)

    def has_right(self, right: Right) -> bool:
        return right in self.rights

    def has_role(self, role: Role) -> bool:
        return role in self.roles

    def forget_cached_roles(self) -> None:
        self.__dict__.pop("roles", None)


class RoleAssignment(models.Model):
    user = models.ForeignKey(User, verbose_name=_("person"), on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(_("role"), max_length=32, choices=[(r.value, r.value) for r in Role])
    granted_by = models.ForeignKey(User, verbose_name=_("granted by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    granted_at = models.DateTimeField(_("granted at"), auto_now_add=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True,
                                       help_text=_("For time-boxed access, e.g. an external auditor."))

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="role_assignment_unique")]

    def __str__(self) -> str:
        return f"{self.user} · {self.role}"


class RoleConflict(models.Model):
    """A declared pair of incompatible roles (不相容岗位): nobody may hold both."""

    role_a = models.CharField(_("role"), max_length=32, choices=[(r.value, r.value) for r in Role])
    role_b = models.CharField(_("incompatible role"), max_length=32, choices=[(r.value, r.value) for r in Role])
    reason = models.CharField(_("reason"), max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("incompatible role pair")
        verbose_name_plural = _("incompatible role pairs")
        constraints = [
            models.UniqueConstraint(fields=["role_a", "role_b"], name="role_conflict_unique"),
            models.CheckConstraint(condition=~Q(role_a=models.F("role_b")), name="role_conflict_distinct"),
        ]

    def __str__(self) -> str:
        return f"{self.role_a} ≠ {self.role_b}"


class Share(models.Model):
    """A record shared with a person outside its owner's scope ("shared with me")."""

    object_type = models.CharField(max_length=80)
    object_id = models.CharField(max_length=64)
    shared_with = models.ForeignKey(User, on_delete=models.CASCADE, related_name="shares_received")
    shared_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    valid_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["object_type", "object_id", "shared_with"], name="share_unique")
        ]
        indexes = [models.Index(fields=["shared_with", "object_type"], name="share_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.object_type}:{self.object_id} → {self.shared_with_id}"
