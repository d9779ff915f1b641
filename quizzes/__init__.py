"""The material's question sets as data, installed as `sandbox.quizzes`."""
