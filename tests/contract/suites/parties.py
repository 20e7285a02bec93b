from __future__ import annotations

from core.shared.actor import Persona

from ..builders import a_user
from ..harness import MakeUow


class PartiesContract:
    """Behaviour every ``Parties`` adapter has. Subclasses supply ``make_uow``."""

    def test_a_users_personas_are_read(self, make_uow: MakeUow) -> None:
        user = a_user(personas=frozenset({Persona.CLIENT, Persona.AGENCY}))
        with make_uow() as uow:
            uow.users.add(user)
            assert uow.parties.personas(user.id) == frozenset({Persona.CLIENT, Persona.AGENCY})  # inside, too
            uow.commit()
        with make_uow() as uow:
            assert uow.parties.personas(user.id) == frozenset({Persona.CLIENT, Persona.AGENCY})

    def test_an_unknown_user_has_no_personas(self, make_uow: MakeUow) -> None:
        with make_uow() as uow:
            assert uow.parties.personas("usr_missing") is None
