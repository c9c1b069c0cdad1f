from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kamguard.org.domain.roles import Role
from kamguard.org.models import Department, Grade, Industry, Post, Region, Team, User

ROLE_LABELS = {
    Role.MANAGER: _("Key account manager"),
    Role.SPECIALIST: _("Key account specialist"),
    Role.SUPERVISOR: _("Supervisor / sales director"),
    Role.AUDITOR: _("Internal supervisor-auditor"),
    Role.FINANCE: _("Finance"),
    Role.HR: _("HR"),
    Role.ADMIN: _("Administrator"),
    Role.EXTERNAL_AUDITOR: _("External auditor"),
}
ROLE_CHOICES = [(role.value, ROLE_LABELS[role]) for role in Role]


class DateInput(forms.DateInput):
    input_type = "date"


class DepartmentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    parent = forms.ModelChoiceField(label=_("Parent department"), queryset=Department.objects.order_by("path"),
                                    required=False)
    region = forms.ModelChoiceField(label=_("Region"), queryset=Region.objects.exclude(level="district"), required=False)
    head = forms.ModelChoiceField(label=_("Head"), queryset=User.objects.filter(is_active=True), required=False)
    external_id = forms.CharField(label=_("External id"), max_length=64, required=False)


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    department = forms.ModelChoiceField(label=_("Department"), queryset=Department.objects.filter(is_active=True))
    leader = forms.ModelChoiceField(label=_("Leader"), queryset=User.objects.filter(is_active=True), required=False)
    region = forms.ModelChoiceField(label=_("Region"), queryset=Region.objects.exclude(level="district"), required=False)
    external_id = forms.CharField(label=_("External id"), max_length=64, required=False)


class PersonForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    full_name = forms.CharField(label=_("Full name"), max_length=120)
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    wechat = forms.CharField(label=_("WeChat"), max_length=64, required=False)
    department = forms.ModelChoiceField(label=_("Department"), queryset=Department.objects.filter(is_active=True),
                                        required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.filter(is_active=True), required=False)
    post = forms.ModelChoiceField(label=_("Post"), queryset=Post.objects.filter(is_active=True), required=False)
    grade = forms.ModelChoiceField(label=_("Grade"), queryset=Grade.objects.filter(is_active=True), required=False)
    region = forms.ModelChoiceField(label=_("Region"), queryset=Region.objects.exclude(level="district"), required=False)
    supervisor = forms.ModelChoiceField(label=_("Supervisor"), queryset=User.objects.filter(is_active=True),
                                        required=False)
    hired_on = forms.DateField(label=_("Hired on"), required=False, widget=DateInput)
    left_on = forms.DateField(label=_("Left on"), required=False, widget=DateInput)
    external_id = forms.CharField(label=_("External id"), max_length=64, required=False)
    can_export = forms.BooleanField(label=_("May export data"), required=False)


class PersonCreateForm(PersonForm):
    roles = forms.MultipleChoiceField(label=_("Roles"), choices=ROLE_CHOICES, required=False,
                                      widget=forms.CheckboxSelectMultiple)
    password = forms.CharField(label=_("Initial password"), widget=forms.PasswordInput, required=False,
                               help_text=_("Leave empty to let the person set one through an administrator later."))


class RolesForm(forms.Form):
    roles = forms.MultipleChoiceField(label=_("Roles"), choices=ROLE_CHOICES, required=False,
                                      widget=forms.CheckboxSelectMultiple)
    valid_until = forms.DateTimeField(label=_("Valid until"), required=False,
                                      widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                      help_text=_("For time-boxed access such as an external auditor."))
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea, required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea, max_length=1000)


class RoleConflictForm(forms.Form):
    role_a = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES)
    role_b = forms.ChoiceField(label=_("Incompatible role"), choices=ROLE_CHOICES)
    reason = forms.CharField(label=_("Reason"), max_length=300)


class IndustryForm(forms.ModelForm):
    class Meta:
        model = Industry
        fields = ["code", "name", "name_en", "is_active"]


class PostForm(forms.ModelForm):
    class Meta:
        model = Post
        fields = ["code", "name", "name_en", "description", "is_active"]


class GradeForm(forms.ModelForm):
    class Meta:
        model = Grade
        fields = ["code", "name", "rank", "is_active"]


REFERENCE_FORMS: dict[str, type[forms.ModelForm[Any]]] = {"industry": IndustryForm, "post": PostForm, "grade": GradeForm}
