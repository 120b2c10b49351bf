from __future__ import annotations

import pytest

from tests.media.harness import Clips, Harness, wait_until

pytestmark = pytest.mark.media


async def test_three_participants_receive_each_other(clips: Clips) -> None:
    async with Harness(clips) as h:
        for pid in ("a", "b", "c"):
            await h.join(pid)
        await h.wait_connected()

        def everyone_gets_everyone() -> bool:
            return all(
                c.frames_from(o, kind) >= 5
                for c in h.clients.values()
                for o in h.clients
                if o != c.id
                for kind in ("audio", "video")
            )

        await wait_until(everyone_gets_everyone, 10, "frames from every other participant")
