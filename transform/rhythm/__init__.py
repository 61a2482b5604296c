"""What every capability of the rhythm shares: the organisation's rhythm settings, survey
periods and the signed links of check-ins. It sits below every capability of ``transform``."""
