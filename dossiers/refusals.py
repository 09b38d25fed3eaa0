"""The one way the domain says no."""


class Refused(Exception):
    """A request the rules refuse; its message says why, for the user.

    Raised by the domain (casework, workflow, accounts, freshness) before anything is
    committed; the views' `commit` helper rolls back and shows the message.
    """
