"""The misconceptions a generated question's wrong options stand for: name -> what a student who
picks that option believes. Each wrong option names one (its `misconception` in the JSON), and
its feedback says the belief, then what the run shows instead."""

from __future__ import annotations

MISCONCEPTIONS = {
    "other": "a belief the question set does not name",
    # the lesson's concepts
    "one_region_enough": "thinking one region serves everyone well enough",
    "fewer_servers": "thinking multi-region means fewer servers in one place",
    "cost_as_benefit": "taking a cost for a benefit",
    "cost_over_availability": "choosing regions by cost rather than by users and failover",
    "no_failover_needed": "thinking more regions help without monitoring and failover",
    # reading the tables
    "step_before": "reading the table one step too early",
    "step_after": "reading the table one step too late",
    "final_state": "reading the final column instead of that step's",
    "other_variable": "reading another variable's row",
    "latest_only": "thinking a status dict keeps only the latest region",
    "other_step": "taking another step of the same region for this one",
    "end_row": "taking the End row for a step of the flow",
    # calls left out
    "still_changes": "thinking this variable depends on the call left out",
    "full_run": "answering with the full run, as if nothing were left out",
    "nothing_before": "thinking the calls before the refusal do not count",
    "drops_last": "thinking the region before the refusal is lost too",
    "left_out_fails": "taking a call left out for a call that failed",
    # failures and policies
    "one_attempt_more": "counting one deployment attempt too many",
    "first_not_counted": "not counting the first deployment as an attempt",
    "policy_maximum": "counting the most attempts the policy allows, not those made",
    "failures_counted": "counting the failures instead of the attempts",
    "single_attempt": "thinking a failed region is never tried again",
    "failure_ignored": "thinking a failure leaves the deployment complete",
    "skip_assumed": "thinking a failed region is skipped whatever the policy",
    "stop_assumed": "thinking every failure stops the deployment",
    "rollback_assumed": "thinking every failure rolls the deployment back",
    "retry_assumed": "thinking every policy tries the region again",
    "failed_region_served": "thinking a region that failed still gets traffic",
    "halt_still_routes": "thinking traffic is routed after the deployment halted",
    "skip_routes_nothing": "thinking one failed region leaves no region routed",
    "first_region_only": "thinking only the first region gets traffic",
    # command lines
    "spaces": "separating regions with spaces",
    "singular_flag": "passing several regions to --region",
    "brackets": "putting the region list in brackets",
    "no_model": "leaving out the model",
    "flag_twice": "repeating --regions instead of one list",
    "unknown_model": "misspelling the model's name",
    "unknown_region": "misspelling a region's name",
    "repeated_region": "listing a region twice",
    "valid_is_invalid": "taking a valid command line for a mistake",
    "parser_guesses": "thinking the command guesses what was meant",
    "order_ignored": "thinking the regions are deployed in another order",
    "first_listed_only": "thinking only the first listed region is deployed",
    "last_listed_only": "thinking only the last listed region is deployed",
    "unnamed_regions": "thinking the command deploys regions it does not name",
    "wrong_diagnosis": "blaming the command for a mistake it does not have",
    # routing and failover
    "not_closest": "taking a farther region for the closest",
    "list_order": "thinking the first region listed serves everyone",
    "heaviest_weight": "thinking the heaviest weight takes every request",
    "closest_under_failover": "thinking failover picks the closest region",
    "errors_ignored": "picking the closest region whatever its recent errors",
    "unhealthy_served": "thinking an unhealthy region keeps its users",
    "order_misread": "misreading the failover order",
    "nobody_serves": "thinking users are left without a region",
    # health checks and DNS
    "threshold_times_interval": "computing interval x threshold instead of reading the probes",
    "first_failure": "taking the first failed probe for the verdict",
    "fault_start": "thinking a region is marked unhealthy when its fault starts",
    "one_probe_late": "counting one failed probe too many",
    "ttl_ignored": "thinking users move as soon as the probes decide",
    "ttl_from_fault": "counting the TTL from the fault's start, not from detection",
    "ttl_per_probe": "counting one TTL per failed probe",
    # rollouts
    "canary_more": "thinking the canary exposes more users than a sequential rollout",
    "canary_no_help": "thinking a canary exposes as many users as a sequential rollout",
    "canary_nobody": "thinking a canary stops a bad version before any user meets it",
    "bake_ignored": "thinking a sequential rollout watches real traffic like a bake",
    # the lesson's why questions
    "verify_at_end_same": "thinking verifying at the end catches a failure as early",
    "verify_order_reversed": "swapping what each way of verifying deploys",
    "routing_ignores_verification": "thinking routing set up before verifying changes nothing",
    "routing_reversed": "swapping the routes of the two orders",
    "stop_for_skip": "thinking skip ends the deployment, as stop does",
    "skip_for_stop": "thinking stop goes on to the other regions, as skip does",
}
