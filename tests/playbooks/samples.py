"""A valid playbook the playbook tests start from and break one line at a time."""

# Line numbers in test_playbook_format.py refer to this text.
VALID = """\
key: demo
version: 2
title: Demo playbook
summary: A small playbook for the tests.
phases:
  - key: discover
    title: Listen first
    milestones:
      - key: interview-teams
        title: Interview every team
        why: Pains told in the teams' own words decide what the platform builds first.
        how: One hour per team, two interviewers, notes shared the same day.
        duration_days: 14
        owner_role: change_agent
        exit_criteria:
          - graph: every_stream_team_has_devops_buddy
          - signal: platform_satisfaction
            op: ">="
            value: 3.5
            min_respondents: 5
  - key: build
    title: Build the platform team
    milestones:
      - key: name-owner
        title: Name a platform product owner
        why: A platform without an owner drifts.
        how: The sponsor appoints one.
        duration_days: 7
        depends_on: [interview-teams]
        owner_role: leader
        checkin_every_days: 3
      - key: merge-silos
        title: Merge the ops silos
        why: Queues between teams are where the lead time goes.
        how: One team, one backlog.
        duration_days: 30
        depends_on: [name-owner, interview-teams]
        owner_role: engineering_manager
"""
