"""Who am I: the actor behind the bearer token."""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency

from core.shared.actor import Actor
from entrypoints.http.errors import problem_responses
from entrypoints.http.mappers import actor_response
from entrypoints.http.schemas import ActorResponse


@get("/me", operation_id="getMe", tags=["identity"], responses=problem_responses(401))
async def me(actor: NamedDependency[Actor]) -> ActorResponse:
    """The authenticated actor: kind, id and personas."""
    return actor_response(actor)
