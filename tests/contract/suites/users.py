from __future__ import annotations

import pytest

from core.identity.domain import HandleTaken, UserNotFound
from core.shared.actor import Persona
from core.shared.ids import UserId

from ..builders import a_user
from ..harness import MakeUow
from ..threads import race


class UsersContract:
    """Behaviour every ``Users`` adapter has. Subclasses supply ``make_uow``."""

    def test_added_user_reads_back_equal(self, make_uow: MakeUow) -> None:
        user = a_user(personas=frozenset({Persona.CLIENT, Persona.PROVIDER, Persona.MENTOR}))
        with make_uow() as uow:
            uow.users.add(user)
            uow.commit()
        with make_uow() as uow:
            by_id = uow.users.get(user.id)
            by_handle = uow.users.by_handle(user.handle)
        for stored in (by_id, by_handle):
            assert stored is not None
            assert (stored.id, stored.handle, stored.display_name, stored.personas, stored.created_at) == (
                user.id,
                user.handle,
                user.display_name,
                user.personas,
                user.created_at,
            )
            assert stored.created_at.isoformat() == user.created_at.isoformat()

    def test_unknown_user_raises_user_not_found(self, make_uow: MakeUow) -> None:
        with make_uow() as uow, pytest.raises(UserNotFound):
            uow.users.get(UserId("usr_missing"))

    def test_unknown_handle_finds_nobody(self, make_uow: MakeUow) -> None:
        with make_uow() as uow:
            assert uow.users.by_handle("nobody-here") is None

    def test_any_exist_turns_true_with_the_first_user(self, make_uow: MakeUow) -> None:
        with make_uow() as uow:
            assert not uow.users.any_exist()
            uow.users.add(a_user())
            assert uow.users.any_exist()
        with make_uow() as uow:
            assert not uow.users.any_exist()  # rolled back

    def test_user_exists_only_once_added(self, make_uow: MakeUow) -> None:
        user = a_user()
        with make_uow() as uow:
            assert not uow.users.user_exists(user.id)
            uow.users.add(user)
            uow.commit()
        with make_uow() as uow:
            assert uow.users.user_exists(user.id)

    def test_taken_handle_raises_handle_taken_and_the_transaction_goes_on(self, make_uow: MakeUow) -> None:
        first = a_user()
        later = a_user()
        with make_uow() as uow:
            uow.users.add(first)
            uow.commit()
        with make_uow() as uow:
            with pytest.raises(HandleTaken):
                uow.users.add(a_user(first.handle))
            uow.users.add(later)
            uow.commit()
        with make_uow() as uow:
            assert uow.users.user_exists(later.id)

    def test_one_of_two_concurrent_registrations_of_a_handle_wins(self, make_uow: MakeUow) -> None:
        handle = a_user().handle

        def register() -> str:
            with make_uow() as uow:
                uow.users.add(a_user(handle))
                uow.commit()
                return "added"

        outcomes = race(register, register)
        assert sorted(type(o).__name__ for o in outcomes) == ["HandleTaken", "str"], outcomes
