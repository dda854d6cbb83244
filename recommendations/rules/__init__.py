"""The rules: who may do what, how a position is written, what is followed.

The package imports the models and nothing imports it from below: `models.py` holds the
tables, their querysets, the position SQL and the signals, and never imports from here.

- `access.py`: whose membership a user writes for, who may write and who may publish;
- `writing.py`: recording an assessment, adding a comment, carrying a position forward;
- `following.py`: what an organization's members follow without choosing to, and why;
- `privileges.py`: what only a superuser may change.
"""
