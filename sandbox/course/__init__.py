"""What the course's notebooks share beyond the parts they teach: an exercise's check, whose
verdict is computed from the student's own run."""

from sandbox.course.checks import (
    Verdict,
    check_between,
    check_change,
    check_choice,
    check_number,
    check_set,
)

__all__ = ["Verdict", "check_between", "check_change", "check_choice", "check_number", "check_set"]
