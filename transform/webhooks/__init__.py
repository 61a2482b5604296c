"""Native webhooks of GitHub, GitLab, Jira and PagerDuty (docs/integrations.md)."""
