"""The whole lesson for any run: the material's ten modes computed from a deploy command line,
as JSON, Markdown or one self-contained HTML page that steps through the run."""

from sandbox.lesson.lesson import MODES, Lesson

__all__ = ["MODES", "Lesson"]
