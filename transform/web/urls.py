"""URL map of the web interface (namespace ``web``): every page's route, in one place."""

from django.urls import path

from transform.web import (
    access_pages,
    audit_pages,
    calendar_pages,
    change_pages,
    departure_pages,
    export_pages,
    findings_pages,
    graph_pages,
    home_pages,
    invitation_pages,
    leadership_pages,
    my_checkins_pages,
    my_team_pages,
    plan_pages,
    scenario_pages,
    schedule_pages,
    scorecard_pages,
    sso_pages,
    team_pages,
    verification_pages,
    zone_pages,
)

app_name = "web"

ORG = "o/<slug:org_slug>/"
MILESTONE = f"{ORG}milestones/<int:milestone_id>/"
TEAM = f"{ORG}my-team/<slug:team_slug>/"

urlpatterns = [
    path("", home_pages.home, name="home"),
    path(ORG, home_pages.org_home, name="org-home"),
    path(f"{ORG}graph/", graph_pages.graph, name="graph"),
    path(f"{ORG}graph/data.json", graph_pages.graph_data_json, name="graph-data"),
    path(f"{ORG}graph/teams/<slug:team_slug>/", graph_pages.graph_team, name="graph-team"),
    path(
        f"{ORG}graph/teams/<slug:team_slug>/leavers/",
        departure_pages.team_member_leave,
        name="graph-team-leaver",
    ),
    path(
        f"{ORG}graph/teams/<slug:team_slug>/retire/",
        departure_pages.team_retire_page,
        name="graph-team-retire",
    ),
    path(f"{ORG}findings/", findings_pages.findings, name="findings"),
    path(f"{ORG}scorecard/", scorecard_pages.scorecard, name="scorecard"),
    path(f"{ORG}findings/start/", findings_pages.findings_start, name="findings-start"),
    path(f"{ORG}findings.csv", export_pages.findings_csv_download, name="findings-csv"),
    path(f"{ORG}scenario/", scenario_pages.scenario, name="scenario"),
    path(f"{ORG}plans/", plan_pages.plans, name="plans"),
    path(f"{ORG}plans/<int:transformation_id>/", plan_pages.plan, name="plan"),
    path(f"{ORG}plans/<int:transformation_id>/board/", plan_pages.plan_board, name="plan-board"),
    path(
        f"{ORG}plans/<int:transformation_id>/plan.csv",
        export_pages.plan_csv_download,
        name="plan-csv",
    ),
    path(
        f"{ORG}plans/<int:transformation_id>/plan.xlsx",
        export_pages.plan_xlsx_download,
        name="plan-xlsx",
    ),
    path(
        f"{ORG}plans/<int:transformation_id>/calendar/",
        calendar_pages.plan_calendar_reset,
        name="plan-calendar-reset",
    ),
    path(f"{ORG}calendar/", calendar_pages.my_calendar_reset, name="my-calendar-reset"),
    path(MILESTONE, plan_pages.milestone, name="milestone"),
    path(f"{MILESTONE}status/", plan_pages.milestone_status, name="milestone-status"),
    path(f"{MILESTONE}reassign/", plan_pages.milestone_reassign, name="milestone-reassign"),
    path(f"{MILESTONE}changes/", change_pages.milestone_change, name="milestone-change"),
    path(
        f"{MILESTONE}changes/<int:change_id>/delete/",
        change_pages.milestone_change_delete,
        name="milestone-change-delete",
    ),
    path(f"{MILESTONE}enact/", change_pages.milestone_changes_enact, name="milestone-enact"),
    path(
        f"{MILESTONE}reschedule/", schedule_pages.milestone_reschedule, name="milestone-reschedule"
    ),
    path(
        f"{MILESTONE}reschedule.json",
        schedule_pages.milestone_reschedule_json,
        name="milestone-reschedule-json",
    ),
    path(f"{MILESTONE}move.json", schedule_pages.milestone_move_json, name="milestone-move-json"),
    path(f"{ORG}my-team/", my_team_pages.my_team, name="my-team"),
    path(f"{ORG}my-team/undo/", my_team_pages.undo, name="my-team-undo"),
    path(f"{ORG}my-checkins/", my_checkins_pages.my_checkins, name="my-checkins"),
    path(f"{TEAM}members/new/", my_team_pages.member_new, name="my-team-member-new"),
    path(
        f"{TEAM}interactions/<int:interaction_id>/",
        my_team_pages.interaction_edit,
        name="my-team-interaction-edit",
    ),
    path(f"{ORG}teams/<slug:team_slug>/", team_pages.team, name="team"),
    path(f"{TEAM}members/", my_team_pages.member_add, name="my-team-member-add"),
    path(
        f"{TEAM}members/<int:membership_id>/",
        my_team_pages.member_update,
        name="my-team-member-update",
    ),
    path(
        f"{TEAM}members/<int:membership_id>/remove/",
        my_team_pages.member_remove,
        name="my-team-member-remove",
    ),
    path(f"{TEAM}serves/", my_team_pages.serves_add, name="my-team-serves-add"),
    path(
        f"{TEAM}serves/<int:link_id>/remove/",
        my_team_pages.serves_remove,
        name="my-team-serves-remove",
    ),
    path(f"{TEAM}interactions/", my_team_pages.interaction_add, name="my-team-interaction-add"),
    path(
        f"{TEAM}interactions/<int:interaction_id>/remove/",
        my_team_pages.interaction_remove,
        name="my-team-interaction-remove",
    ),
    path(
        f"{ORG}verifications/<int:verification_id>/accept/",
        verification_pages.verification_accept,
        name="verification-accept",
    ),
    path(
        f"{ORG}verifications/<int:verification_id>/reject/",
        verification_pages.verification_reject,
        name="verification-reject",
    ),
    path(f"{ORG}leadership/", leadership_pages.leadership, name="leadership"),
    path(f"{ORG}leadership/report/", leadership_pages.leadership_report, name="leadership-report"),
    path(
        f"{ORG}leadership/heat-map.csv",
        export_pages.heat_map_csv_download,
        name="leadership-heat-map-csv",
    ),
    path(f"{ORG}audit/", audit_pages.audit, name="audit"),
    path(f"{ORG}time-zones/", zone_pages.time_zones, name="time-zones"),
    path(f"{ORG}access/", access_pages.access_page, name="access"),
    path(f"{ORG}access/invitations/", access_pages.invitation_create_page, name="access-invite"),
    path(
        f"{ORG}access/invitations/<int:invitation_id>/revoke/",
        access_pages.invitation_revoke_page,
        name="access-invitation-revoke",
    ),
    path(f"{ORG}access/roles/", access_pages.role_grant_page, name="access-role-grant"),
    path(
        f"{ORG}access/roles/<int:role_id>/revoke/",
        access_pages.role_revoke_page,
        name="access-role-revoke",
    ),
    path("orgs/new/", access_pages.organization_new_page, name="organization-new"),
    path("invitations/<str:token>/", invitation_pages.invitation, name="invitation"),
]

auth_urlpatterns = [
    path("accounts/login/", sso_pages.LoginPage.as_view(), name="login"),
    path("accounts/logout/", sso_pages.LogoutPage.as_view(), name="logout"),
    # Password reset by e-mail (docs/sso.md); 404 while password login is switched off.
    path(
        "accounts/password-reset/",
        sso_pages.PasswordResetPage.as_view(),
        name="password_reset",
    ),
    path(
        "accounts/password-reset/sent/",
        sso_pages.PasswordResetDonePage.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        sso_pages.PasswordResetConfirmPage.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        sso_pages.PasswordResetCompletePage.as_view(),
        name="password_reset_complete",
    ),
    # Single sign-on with OpenID Connect (docs/sso.md); 404 while TRANSFORM_OIDC_ISSUER is unset.
    path("oidc/authenticate/", sso_pages.SsoStartView.as_view(), name="oidc_authentication_init"),
    path(
        "oidc/callback/", sso_pages.SsoCallbackView.as_view(), name="oidc_authentication_callback"
    ),
]
