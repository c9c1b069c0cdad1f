from django.urls import include, path

from kamguard.allocation.views import public_lead, public_lead_thanks
from kamguard.api import api

urlpatterns = [
    path("", include("kamguard.core.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("kamguard.accounts.urls")),
    path("org/", include("kamguard.org.urls")),
    path("audit/", include("kamguard.audit.urls")),
    path("customers/", include("kamguard.customers.urls")),
    path("allocation/", include("kamguard.allocation.urls")),
    path("activities/", include("kamguard.activities.urls")),
    path("worklogs/", include("kamguard.worklogs.urls")),
    path("meetings/", include("kamguard.meetings.urls")),
    path("relay/", include("kamguard.relay.urls")),
    path("records/", include("kamguard.records.urls")),
    path("plans/", include("kamguard.plans.urls")),
    path("supervision/", include("kamguard.supervision.urls")),
    path("approvals/", include("kamguard.approvals.urls")),
    path("sales/", include("kamguard.sales.urls")),
    path("contracts/", include("kamguard.contracts.urls")),
    path("risk/", include("kamguard.risk.urls")),
    path("goals/", include("kamguard.goals.urls")),
    path("reviews/", include("kamguard.reviews.urls")),
    path("performance/", include("kamguard.performance.urls")),
    path("lead/", public_lead, name="public_lead"),  # the public web form: no sign-in
    path("lead/thanks/", public_lead_thanks, name="public_lead_thanks"),
    path("api/v1/", api.urls),
]

handler400 = "kamguard.core.views.error_400"
handler403 = "kamguard.core.views.error_403"
handler404 = "kamguard.core.views.error_404"
handler500 = "kamguard.core.views.error_500"
