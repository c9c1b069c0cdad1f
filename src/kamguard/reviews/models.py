"""360 reviews (P7): question sets per source, review cycles, assignments (who reviews whom, from which source)
and their answers.

- `QuestionSet` (one source: self, supervisor, peer or customer) with ordered `Question`s (a 1–5 scale or free
  text, required or not, in English and Chinese). A set becomes frozen once an assignment uses it: changing it
  then means copying it to a new version (`question_set_copy`), so answers always match the questions asked.
- `ReviewCycle`: a name, the period reviewed, a status draft → open → closed, created by a supervisor for people
  in their scope (`ReviewSubject`).
- `Assignment`: in a cycle, one reviewer (a person, or for customers a customer contact who answers through a
  signed link without login) reviews one subject from one source with the question set of that source; pending →
  submitted. `score` is the review's score (0..100, the average of its scale answers) kept at submission.
- `Answer`: one per question of a submitted assignment (scale 1..5 or text).

Invariants held by the database: one answer per question per assignment, scale answers in 1..5, a person reviews
a subject from a source once per cycle, a contact once per subject per cycle, a person is a subject once per cycle,
an assignment's reviewer is a person xor a contact, and only customers are contacts.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from kamguard.core.models import TimeStampedModel

USER = settings.AUTH_USER_MODEL


class Source(models.TextChoices):
    SELF = "self", _("Self")
    SUPERVISOR = "supervisor", _("Supervisor")
    PEER = "peer", _("Peers")
    CUSTOMER = "customer", _("Customers")


class QuestionKind(models.TextChoices):
    SCALE = "scale", _("Scale 1–5")
    TEXT = "text", _("Free text")


class QuestionSet(TimeStampedModel):
    name = models.CharField(_("name"), max_length=120)
    source = models.CharField(pgettext_lazy("review", "source"), max_length=12, choices=Source.choices)
    version = models.PositiveIntegerField(_("version"), default=1)
    is_active = models.BooleanField(_("in use for new assignments"), default=True)
    created_by = models.ForeignKey(USER, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    copied_from = models.ForeignKey("self", verbose_name=_("copied from"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="copies")

    class Meta:
        verbose_name = _("question set")
        verbose_name_plural = _("question sets")
        ordering = ["source", "name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["source", "name", "version"], name="review_qset_version_unique"),
            # One set per source is the default for new assignments.
            models.UniqueConstraint(fields=["source"], condition=Q(is_active=True), name="review_qset_one_active"),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def is_frozen(self) -> bool:
        """Used by an assignment: its questions can no longer change."""
        return self.assignments.exists()


class Question(models.Model):
    question_set = models.ForeignKey(QuestionSet, verbose_name=_("question set"), on_delete=models.CASCADE,
                                     related_name="questions")
    position = models.PositiveSmallIntegerField(_("position"))
    kind = models.CharField(pgettext_lazy("question", "kind"), max_length=8, choices=QuestionKind.choices, default=QuestionKind.SCALE)
    text_en = models.CharField(_("question (English)"), max_length=300)
    text_zh = models.CharField(_("question (Chinese)"), max_length=300)
    required = models.BooleanField(_("required"), default=True)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["question_set", "position"]
        constraints = [
            models.UniqueConstraint(fields=["question_set", "position"], name="review_question_position_unique"),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def text(self) -> str:
        language = (get_language() or "en").lower()
        return (self.text_zh if language.startswith("zh") else self.text_en) or self.text_en or self.text_zh


class CycleStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class ReviewCycle(TimeStampedModel):
    name = models.CharField(_("name"), max_length=120)
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period until"))
    status = models.CharField(_("status"), max_length=8, choices=CycleStatus.choices, default=CycleStatus.DRAFT,
                              db_index=True)
    created_by = models.ForeignKey(USER, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("review cycle")
        verbose_name_plural = _("review cycles")
        ordering = ["-period_end", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(period_end__gte=models.F("period_start")),
                                   name="review_cycle_period_order"),
        ]
        indexes = [models.Index(fields=["period_start", "period_end"], name="review_cycle_period_idx")]

    def __str__(self) -> str:
        return self.name


class ReviewSubject(models.Model):
    """A person reviewed in a cycle."""

    cycle = models.ForeignKey(ReviewCycle, verbose_name=_("cycle"), on_delete=models.CASCADE,
                              related_name="subjects")
    user = models.ForeignKey(USER, verbose_name=_("person"), on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(_("added at"), auto_now_add=True)

    class Meta:
        verbose_name = _("person reviewed")
        verbose_name_plural = _("people reviewed")
        ordering = ["cycle", "user__full_name", "pk"]
        constraints = [models.UniqueConstraint(fields=["cycle", "user"], name="review_subject_once")]

    def __str__(self) -> str:
        return f"{self.cycle_id}:{self.user_id}"


class AssignmentStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("review", "Pending")
    SUBMITTED = "submitted", _("Submitted")


class Assignment(TimeStampedModel):
    cycle = models.ForeignKey(ReviewCycle, verbose_name=_("cycle"), on_delete=models.CASCADE,
                              related_name="assignments")
    subject = models.ForeignKey(USER, verbose_name=_("person reviewed"), on_delete=models.PROTECT,
                                related_name="+")
    source = models.CharField(pgettext_lazy("review", "source"), max_length=12, choices=Source.choices)
    reviewer = models.ForeignKey(USER, verbose_name=pgettext_lazy("360", "reviewer"), null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="review_assignments")
    contact = models.ForeignKey("customers.Contact", verbose_name=_("customer contact"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    question_set = models.ForeignKey(QuestionSet, verbose_name=_("question set"), on_delete=models.PROTECT,
                                     related_name="assignments")
    status = models.CharField(_("status"), max_length=10, choices=AssignmentStatus.choices,
                              default=AssignmentStatus.PENDING)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    score = models.DecimalField(pgettext_lazy("review", "score"), max_digits=5, decimal_places=2, null=True, blank=True)
    created_by = models.ForeignKey(USER, verbose_name=_("assigned by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    link_nonce = models.CharField(max_length=32, blank=True, editable=False,
                                  help_text="Changes when a customer's link is reissued, so older links stop working.")

    class Meta:
        verbose_name = _("review assignment")
        verbose_name_plural = _("review assignments")
        ordering = ["cycle", "subject_id", "source", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "subject", "source", "reviewer"],
                                    condition=Q(reviewer__isnull=False), name="review_assignment_person_once"),
            models.UniqueConstraint(fields=["cycle", "subject", "contact"],
                                    condition=Q(contact__isnull=False), name="review_assignment_contact_once"),
            models.CheckConstraint(
                condition=(Q(source="customer", contact__isnull=False, reviewer__isnull=True)
                           | (~Q(source="customer") & Q(contact__isnull=True, reviewer__isnull=False))),
                name="review_assignment_reviewer_kind"),
            models.CheckConstraint(condition=Q(score__isnull=True) | (Q(score__gte=0) & Q(score__lte=100)),
                                   name="review_assignment_score_range"),
        ]
        indexes = [
            models.Index(fields=["subject", "status", "source"], name="review_assignment_subject_idx"),
            models.Index(fields=["reviewer", "status"], name="review_assignment_reviewer_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.cycle_id}:{self.subject_id}:{self.source}"

    @property
    def is_submitted(self) -> bool:
        return self.status == AssignmentStatus.SUBMITTED


class Answer(models.Model):
    assignment = models.ForeignKey(Assignment, verbose_name=_("review"), on_delete=models.CASCADE,
                                   related_name="answers")
    question = models.ForeignKey(Question, verbose_name=_("question"), on_delete=models.PROTECT, related_name="+")
    scale = models.PositiveSmallIntegerField(_("answer (1–5)"), null=True, blank=True)
    text = models.TextField(_("answer"), blank=True)

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        ordering = ["assignment", "question__position"]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "question"], name="review_answer_once"),
            models.CheckConstraint(condition=Q(scale__isnull=True) | (Q(scale__gte=1) & Q(scale__lte=5)),
                                   name="review_answer_scale_range"),
        ]

    def __str__(self) -> str:
        return f"{self.assignment_id}:{self.question_id}"
