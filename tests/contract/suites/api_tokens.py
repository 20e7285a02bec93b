from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from core.identity.domain import ApiToken, TokenNotFound, User
from core.shared.ids import TokenId

from ..builders import T0, a_token, a_user
from ..harness import MakeUow
from ..threads import in_background


def _fields(token: ApiToken) -> tuple[object, ...]:
    return (
        token.id,
        token.user_id,
        token.label,
        token.token_hash,
        token.created_at,
        token.expires_at,
        token.revoked_at,
    )


class ApiTokensContract:
    """Behaviour every ``ApiTokens`` adapter has. Subclasses supply ``make_uow``."""

    @pytest.fixture
    def owner(self, make_uow: MakeUow) -> User:
        user = a_user()
        with make_uow() as uow:
            uow.users.add(user)
            uow.commit()
        return user

    @pytest.mark.parametrize("expires", [T0 + timedelta(days=90, microseconds=1), None], ids=["expiring", "forever"])
    def test_added_token_reads_back_equal_by_id_and_hash(
        self, make_uow: MakeUow, owner: User, expires: datetime | None
    ) -> None:
        token = a_token(owner, expires_at=expires)
        with make_uow() as uow:
            uow.tokens.add(token)
            uow.commit()
        with make_uow() as uow:
            by_id = uow.tokens.get(token.id)
            by_hash = uow.tokens.by_hash(token.token_hash)
        assert by_hash is not None
        assert _fields(by_id) == _fields(by_hash) == _fields(token)

    def test_unknown_token_raises_token_not_found(self, make_uow: MakeUow) -> None:
        with make_uow() as uow, pytest.raises(TokenNotFound):
            uow.tokens.get(TokenId("tok_missing"))

    def test_unknown_hash_finds_nothing(self, make_uow: MakeUow) -> None:
        with make_uow() as uow:
            assert uow.tokens.by_hash("0" * 64) is None

    def test_saved_revocation_persists(self, make_uow: MakeUow, owner: User) -> None:
        token = a_token(owner)
        with make_uow() as uow:
            uow.tokens.add(token)
            uow.commit()
        revoked_at = T0 + timedelta(hours=1, microseconds=7)
        with make_uow() as uow:
            stored = uow.tokens.get(token.id)
            stored.revoked_at = revoked_at
            uow.tokens.save(stored)
            uow.commit()
        with make_uow() as uow:
            again = uow.tokens.get(token.id)
        assert again.revoked_at == revoked_at
        assert not again.usable_at(revoked_at)

    def test_a_revocation_rolled_back_is_forgotten(self, make_uow: MakeUow, owner: User) -> None:
        token = a_token(owner)
        with make_uow() as uow:
            uow.tokens.add(token)
            uow.commit()
        with make_uow() as uow:
            stored = uow.tokens.get(token.id)
            stored.revoked_at = T0
            uow.tokens.save(stored)
        with make_uow() as uow:
            assert uow.tokens.get(token.id).revoked_at is None

    def test_locking_an_unknown_token_raises_token_not_found(self, make_uow: MakeUow) -> None:
        with make_uow() as uow, pytest.raises(TokenNotFound):
            uow.tokens.lock(TokenId("tok_missing"))

    def test_a_second_revocation_waits_for_the_first_and_sees_it(self, make_uow: MakeUow, owner: User) -> None:
        token = a_token(owner)
        with make_uow() as uow:
            uow.tokens.add(token)
            uow.commit()
        first, second = T0 + timedelta(hours=1), T0 + timedelta(hours=2)

        def revoke_later() -> object:
            with make_uow() as uow:
                locked = uow.tokens.lock(token.id)  # waits for the first revocation to commit
                if locked.revoked_at is None:
                    locked.revoked_at = second
                    uow.tokens.save(locked)
                    uow.commit()
                return locked.revoked_at

        with make_uow() as uow:
            locked = uow.tokens.lock(token.id)
            join = in_background(revoke_later)
            locked.revoked_at = first
            uow.tokens.save(locked)
            uow.commit()
        assert join() == first
        with make_uow() as uow:
            assert uow.tokens.get(token.id).revoked_at == first
