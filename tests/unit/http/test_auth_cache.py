"""The authentication cache: a successful bearer authentication is reused for
GIGCORE_AUTH_CACHE_SECONDS without the use case (nor a thread, nor the database); failures
never are; revocation takes effect within the period."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from attrs import define, field
from dependency_injector import providers
from litestar.testing import TestClient

from core.identity.use_cases.revoke_api_token import RevokeApiTokenCommand
from core.shared.actor import Actor, ActorKind, Persona
from core.shared.ids import TokenId, UserId, correlation_id, idempotency_key
from entrypoints.container import build_in_memory
from entrypoints.http.app import create_app
from entrypoints.http.auth import AuthenticationCache
from entrypoints.settings import Settings
from tests.unit.http.conftest import SYSTEM, Api, assert_problem, new_key

TTL = 5


@define
class FakeMonotonic:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@define
class CountingAuthenticate:
    """The real AuthenticateToken, counting how often the app asks it."""

    real: Callable[[str | None], Actor]
    calls: int = field(default=0, init=False)

    def __call__(self, secret: str | None) -> Actor:
        self.calls += 1
        return self.real(secret)


@define
class Served:
    api: Api
    clock: FakeMonotonic
    authenticate: CountingAuthenticate


@contextmanager
def served(cache_seconds: int = TTL) -> Iterator[Served]:
    runtime = build_in_memory(Settings(auth_cache_seconds=cache_seconds))
    clock = FakeMonotonic()
    authenticate = CountingAuthenticate(runtime.use_cases.authenticate_token())
    runtime.use_cases.authenticate_token.override(providers.Object(authenticate))
    with TestClient(create_app(runtime, monotonic=clock)) as client:
        yield Served(Api(client, runtime), clock, authenticate)


@pytest.fixture
def cached() -> Iterator[Served]:
    with served() as s:
        yield s


def _revoke_the_only_token(api: Api) -> None:
    uow = api.runtime.new_unit_of_work()
    with uow:
        (token_id,) = uow.store.tokens
    api.runtime.use_cases.revoke_api_token()(
        RevokeApiTokenCommand(
            by=SYSTEM,
            idempotency_key=idempotency_key(new_key()),
            correlation_id=correlation_id(None),
            token_id=TokenId(token_id),
        )
    )


def test_a_repeated_token_is_authenticated_once_per_period(cached: Served) -> None:
    alice = cached.api.user("alice")

    answers = [cached.api.get("/v1/me", alice) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert cached.authenticate.calls == 1


def test_every_route_shares_one_cache(cached: Served) -> None:
    alice = cached.api.user("alice")

    answers = [cached.api.get("/v1/me", alice), cached.api.get("/v1/wallets", alice)]

    assert [a.status_code for a in answers] == [200, 200]
    assert cached.authenticate.calls == 1


def test_the_cached_actor_is_the_tokens_own(cached: Served) -> None:
    alice, bob = cached.api.user("alice"), cached.api.user("bob")
    first = (cached.api.get("/v1/me", alice).json()["id"], cached.api.get("/v1/me", bob).json()["id"])

    again = (cached.api.get("/v1/me", alice).json()["id"], cached.api.get("/v1/me", bob).json()["id"])

    assert again == first and first[0] != first[1]
    assert cached.authenticate.calls == 2


def test_the_token_is_authenticated_again_once_the_period_is_over(cached: Served) -> None:
    alice = cached.api.user("alice")
    cached.api.get("/v1/me", alice)

    cached.clock.advance(TTL - 0.001)
    cached.api.get("/v1/me", alice)
    calls_within = cached.authenticate.calls
    cached.clock.advance(0.001)
    cached.api.get("/v1/me", alice)

    assert (calls_within, cached.authenticate.calls) == (1, 2)


def test_a_revoked_token_stops_working_when_the_period_is_over(cached: Served) -> None:
    alice = cached.api.user("alice")
    assert cached.api.get("/v1/me", alice).status_code == 200

    _revoke_the_only_token(cached.api)
    within = cached.api.get("/v1/me", alice)  # the documented trade-off
    cached.clock.advance(TTL)
    after = cached.api.get("/v1/me", alice)

    assert within.status_code == 200
    assert_problem(after, 401, "unauthenticated")


def test_a_refused_token_is_never_cached(cached: Served) -> None:
    bad = {"Authorization": "Bearer gct_not-a-real-token"}

    answers = [cached.api.get("/v1/me", bad) for _ in range(2)]

    assert [a.status_code for a in answers] == [401, 401]
    assert cached.authenticate.calls == 2


def test_zero_seconds_turns_the_cache_off() -> None:
    with served(cache_seconds=0) as s:
        alice = s.api.user("alice")

        answers = [s.api.get("/v1/me", alice) for _ in range(3)]

        assert [a.status_code for a in answers] == [200, 200, 200]
        assert s.authenticate.calls == 3


# --- the cache itself ------------------------------------------------------------------

ALICE = Actor(ActorKind.USER, UserId("usr_alice"), frozenset({Persona.CLIENT}))
BOB = Actor(ActorKind.USER, UserId("usr_bob"), frozenset({Persona.CLIENT}))


def test_an_entry_lasts_from_when_its_lookup_began() -> None:
    clock = FakeMonotonic()
    cache = AuthenticationCache(TTL, monotonic=clock)
    began = clock()
    clock.advance(2)  # the lookup took a while
    cache.put("secret-a", ALICE, looked_up_at=began)

    clock.advance(TTL - 2 - 0.001)
    within = cache.get("secret-a")
    clock.advance(0.001)

    assert within == ALICE
    assert cache.get("secret-a") is None
    assert len(cache) == 0  # an expired entry is dropped when met


def test_the_least_recently_used_token_is_evicted_when_full() -> None:
    clock = FakeMonotonic()
    cache = AuthenticationCache(TTL, max_entries=2, monotonic=clock)
    cache.put("secret-a", ALICE, looked_up_at=clock())
    cache.put("secret-b", BOB, looked_up_at=clock())
    assert cache.get("secret-a") == ALICE  # now b is the least recently used

    cache.put("secret-c", BOB, looked_up_at=clock())

    assert (cache.get("secret-a"), cache.get("secret-b"), cache.get("secret-c")) == (ALICE, None, BOB)
    assert len(cache) == 2


def test_neither_the_token_nor_its_stored_hash_is_held() -> None:
    secret = "gct_" + "k" * 40
    cache = AuthenticationCache(TTL, monotonic=FakeMonotonic())
    cache.put(secret, ALICE, looked_up_at=0.0)

    held = repr(vars(cache))

    assert secret not in held
    assert hashlib.sha256(secret.encode()).hexdigest() not in held
    assert repr(hashlib.sha256(secret.encode()).digest()) not in held


@pytest.mark.parametrize(("ttl", "size"), [(0, 10), (-1, 10), (5, 0)])
def test_a_cache_that_could_hold_nothing_is_refused(ttl: float, size: int) -> None:
    with pytest.raises(ValueError, match="positive TTL"):
        AuthenticationCache(ttl, max_entries=size)
