"""Plans: transformations built from playbooks, their milestones with one owner each, the status
workflow, the schedule and the target-topology changes attached to milestones
(docs/transformations.md, docs/scenarios.md)."""
