"""API routes of the organisation graph, under /api/v1/ (reference: docs/api.md)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from core.auth_apis import AuthTokenApi
from teams import apis

ORG = r"orgs/(?P<org_slug>[-\w]+)"

router = SimpleRouter()
router.register(r"orgs", apis.OrganizationViewSet, basename="organization")
router.register(rf"{ORG}/units", apis.OrgUnitViewSet, basename="unit")
router.register(rf"{ORG}/teams", apis.TeamViewSet, basename="team")
router.register(rf"{ORG}/people", apis.PersonViewSet, basename="person")
router.register(rf"{ORG}/memberships", apis.MembershipViewSet, basename="membership")
router.register(rf"{ORG}/serves-links", apis.ServesLinkViewSet, basename="serves-link")
router.register(rf"{ORG}/interactions", apis.InteractionViewSet, basename="interaction")
router.register(rf"{ORG}/roles", apis.OrganizationRoleViewSet, basename="role")
router.register(rf"{ORG}/invitations", apis.InvitationViewSet, basename="invitation")

urlpatterns = [
    path("auth/token/", AuthTokenApi.as_view(), name="auth-token"),
    path("orgs/<slug:org_slug>/analysis/", apis.OrgAnalysisApi.as_view(), name="org-analysis"),
    path("orgs/<slug:org_slug>/export/", apis.OrgExportApi.as_view(), name="org-export"),
    path("orgs/<slug:org_slug>/users/", apis.OrganizationUserListApi.as_view(), name="org-users"),
    path("invitations/accept/", apis.InvitationAcceptApi.as_view(), name="invitation-accept"),
    *router.urls,
]
