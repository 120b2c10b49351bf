"""Through REST: ``GET /api/protocols`` gives every group kind's member bounds from its protocol
table (what the coordinator's create form shows), and a coordinator can create the new kinds
(workshop, self-help) within those bounds."""

from __future__ import annotations

from typing import Any

from tests.conftest import Live
from tests.foundation.seed import PASSWORD, seed


async def test_protocols_list_every_kind_with_its_member_bounds(
    live_sqlite: Live, sqlite_url: str, api_factory: Any
) -> None:
    w = await seed(sqlite_url, members=1)
    anon = api_factory(live_sqlite)
    status, _ = await anon.get("/api/protocols")
    assert status == 401  # people only
    coord = api_factory(live_sqlite)
    status, _ = await coord.post(
        "/api/auth/login", {"email": "coord@test.example", "password": PASSWORD}
    )
    assert status == 200
    status, body = await coord.get("/api/protocols")
    assert status == 200, body
    bounds = {
        p["protocol"]: (p["members_low"], p["members_high"], p["members_default"]) for p in body
    }
    assert bounds == {
        "balint": (8, 12, 12),
        "dynamic": (6, 13, 13),
        "peer_support": (1, 1, 1),
        "workshop": (4, 12, 12),
        "coaching": (1, 1, 1),
        "self_help": (3, 12, 12),
    }
    # The bounds are the ones creating a group is checked against.
    for protocol, (low, high, default) in (("workshop", (4, 12, 12)), ("self_help", (3, 12, 12))):
        status, g = await coord.post(
            f"/api/organisations/{w.org_id}/groups", {"name": protocol, "protocol": protocol}
        )
        assert status == 201, g
        assert (g["protocol"], g["capacity"], g["min_members"]) == (protocol, default, low)
        status, err = await coord.post(
            f"/api/organisations/{w.org_id}/groups",
            {"name": "big", "protocol": protocol, "capacity": high + 1},
        )
        assert status == 400 and f"1-{high}" in err["error"]["details"]["fields"]["capacity"]
