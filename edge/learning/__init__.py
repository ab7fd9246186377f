"""Learning by doing: a recipe's questions, their answers found in the data, the grading of
what participants give, and where each of them stands (the exercise and trainer pages)."""
