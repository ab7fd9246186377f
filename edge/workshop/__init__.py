"""The workshop, in one package: recipes and their answer keys (`recipes.py`), a new recipe
from a scenario and question templates (`new.py`), a run for a room (`run.py`: the stack, the
exercise, self-paced play, the trainer's export) and the check of a recipe through the full
path (`check.py`). `fieldlab recipe` only reads arguments and prints.

What a participant answers and how it is graded is `fieldlab.learning`, below the dashboard
pages that show it; the recipes' data (scenarios, handouts, keys) is `fieldlab.recipes`."""
