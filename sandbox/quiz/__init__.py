"""Quizzes whose answer keys come from running the sandbox."""
