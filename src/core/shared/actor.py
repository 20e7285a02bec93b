"""Who acts: a marketplace user with personas, a staff operator, or the system itself."""

from __future__ import annotations

import enum

from attrs import field, frozen

from core.shared.errors import InvalidInput


class Persona(enum.Enum):
    CLIENT = "client"
    PROVIDER = "provider"
    AGENCY = "agency"
    MENTOR = "mentor"
    SUPPORT = "support"
    FINANCE = "finance"
    ADMIN = "admin"

    @property
    def is_staff(self) -> bool:
        return self in STAFF_PERSONAS


STAFF_PERSONAS = frozenset({Persona.SUPPORT, Persona.FINANCE, Persona.ADMIN})


class ActorKind(enum.Enum):
    USER = "user"  # a marketplace member acting for themselves
    OPERATOR = "operator"  # staff: support, finance or admin
    SYSTEM = "system"  # gigcore itself (timers, the CLI bootstrap, migrations)


def _personas_fit_kind(inst: Actor, _attr: object, personas: frozenset[Persona]) -> None:
    if inst.kind is ActorKind.SYSTEM:
        if personas:
            raise InvalidInput("personas", "the system actor has no personas")
        return
    if not personas:
        raise InvalidInput("personas", "a user or operator needs at least one persona")
    staff = {p for p in personas if p.is_staff}
    if inst.kind is ActorKind.OPERATOR and staff != personas:
        raise InvalidInput("personas", "an operator has staff personas only")
    if inst.kind is ActorKind.USER and staff:
        raise InvalidInput("personas", "a marketplace user has no staff persona")


@frozen
class Actor:
    """The authenticated party behind a command. ``id`` is a user id, or the name of the
    system component (``system:cli``, ``system:timers``)."""

    kind: ActorKind
    id: str
    personas: frozenset[Persona] = field(validator=_personas_fit_kind)

    @classmethod
    def system(cls, component: str) -> Actor:
        return cls(ActorKind.SYSTEM, f"system:{component}", frozenset())

    @property
    def ref(self) -> str:
        """A stable string naming the actor, used to scope idempotency keys and in audit."""
        return self.id if self.kind is ActorKind.SYSTEM else f"{self.kind.value}:{self.id}"

    def has(self, persona: Persona) -> bool:
        return persona in self.personas
