"""Planning the check-in rhythm: status check-ins, pulse surveys, topology verification,
reminders, escalations, the weekly digest and event-triggered surveys (docs/checkins.md)."""
