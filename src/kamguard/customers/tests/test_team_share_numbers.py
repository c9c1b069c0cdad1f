"""A collaborator's credit share is a number between 0 and 100: NaN, infinities and text are a field error (NaN
used to reach a comparison and fail with a 500), and nothing is written."""

from __future__ import annotations

import pytest

from kamguard.core.errors import ValidationFailed
from kamguard.customers.models import AccountTeamMember
from kamguard.customers.services import records

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("share", ["NaN", "sNaN", "Infinity", "abc", "-1", "100.5"])
def test_a_share_that_is_not_a_percentage_is_refused_and_nothing_is_written(world, book, share):
    with pytest.raises(ValidationFailed) as caught:
        records.account_team_set(actor=world.alice, customer_id=book.alpha.pk, user=world.bob, role="技术支持",
                                 credit_share=share)
    assert list(caught.value.field_errors) == ["credit_share"]
    assert not AccountTeamMember.objects.filter(customer=book.alpha).exists()


def test_a_share_with_blanks_and_a_comma_free_number_is_kept(world, book):
    member = records.account_team_set(actor=world.alice, customer_id=book.alpha.pk, user=world.bob, role="技术支持",
                                      credit_share=" 25.5 ")
    member.refresh_from_db()
    assert str(member.credit_share) in {"25.5", "25.50"}
