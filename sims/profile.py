"""The sweep profiles: how many configs an experiment runs, as a type.

Every experiment's ``configs(profile)`` matches a ``Profile`` exhaustively::

    match profile:
        case Profile.QUICK:
            reps = 3
        case Profile.PAPER | Profile.FULL:  # full is the paper profile here
            reps = 10
        case _:
            unknown(profile)

so that a value that is not a ``Profile`` (a string) is an error, and a new profile is a
``case`` to add in each experiment (type checkers flag a forgotten one through ``unknown``).
The command line parses ``--profile`` once (``Profile.of``).
"""

from __future__ import annotations

import enum
from typing import Never, NoReturn

from twolayer.validation import check_enum


class Profile(enum.Enum):
    """How much an experiment runs.

    quick: minutes; paper: the claims at the power docs/paper_profile.md states, within an hour
    on two cores; full: the paper profile with lr's complete phase diagram (every variant, m up
    to 256, 8 seeds), the same as paper in the experiments that say so.
    """

    QUICK = "quick"
    PAPER = "paper"
    FULL = "full"

    @classmethod
    def of(cls, value: Profile | str, name: str = "profile") -> Profile:
        """The profile named ``value`` (a member or its name); ValueError naming ``name`` and the
        allowed values otherwise.

        Examples
        --------
        >>> Profile.of("paper") is Profile.PAPER
        True
        """
        return check_enum(name, value, cls)

    @property
    def seed(self) -> int:
        """The root seed of a sweep when --seed is not given: the paper profile draws its own
        seeds, so it is a replication independent of the quick profile's runs (whose configs it
        shares), not a re-use of them; full extends paper and shares its runs."""
        match self:
            case Profile.QUICK:
                return 0
            case Profile.PAPER | Profile.FULL:
                return 1
            case _:
                unknown(self)


def unknown(profile: Never) -> NoReturn:
    """The ``case _`` of a match on a ``Profile``: a ValueError for a value that is not one (typed
    ``Never``, so that a type checker reports a member no ``case`` matched)."""
    allowed = ", ".join(p.value for p in Profile)
    raise ValueError(f"profile must be a Profile ({allowed}; Profile.of parses a name); got {profile!r}")
