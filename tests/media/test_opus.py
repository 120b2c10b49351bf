"""Opus in-band FEC and DTX are asked of every browser's encoder (the server's offer), and the
active-speaker indication keeps working when silent people send DTX packets."""

from __future__ import annotations

from server.media.participant import OPUS_FMTP, with_opus_fmtp
from server.media.speaker import SpeakerDetector

OFFER = "\r\n".join(
    [
        "v=0",
        "m=audio 9 UDP/TLS/RTP/SAVPF 96 9",
        "a=rtpmap:96 opus/48000/2",
        "a=rtpmap:9 G722/8000",
        "m=video 9 UDP/TLS/RTP/SAVPF 97 98",
        "a=rtpmap:97 VP8/90000",
        "a=rtpmap:98 rtx/90000",
        "a=fmtp:98 apt=97",
        "m=audio 9 UDP/TLS/RTP/SAVPF 96",
        "a=rtpmap:96 opus/48000/2",
        "",
    ]
)


def test_every_opus_mline_asks_for_fec_and_dtx() -> None:
    out = with_opus_fmtp(OFFER)
    lines = out.split("\r\n")
    assert lines.count(f"a=fmtp:96 {OPUS_FMTP}") == 2
    assert "useinbandfec=1" in OPUS_FMTP and "usedtx=1" in OPUS_FMTP
    assert lines[lines.index("a=rtpmap:96 opus/48000/2") + 1] == f"a=fmtp:96 {OPUS_FMTP}"
    assert "a=fmtp:98 apt=97" in lines  # nothing else touched
    assert (
        with_opus_fmtp(
            OFFER.replace("a=rtpmap:9 G722", "a=fmtp:96 stereo=1\r\na=rtpmap:9 G722")
        ).count("a=fmtp:96")
        == 1
    )


def test_speaker_detection_with_dtx() -> None:
    """DTX: a silent person sends one tiny packet every 400 ms (level 127), a speaker 50 a
    second. The speaker wins; when they fall silent (DTX) and the other speaks, the other."""
    d = SpeakerDetector()

    def interval(talking: str | None, silent: list[str], tick: int) -> tuple[bool, str | None]:
        if talking is not None:
            for _ in range(12):  # 250 ms of 20 ms packets
                d.observe(talking, 25)
        if tick % 2 == 0:  # one DTX packet per 400 ms: about every other interval
            for pid in silent:
                d.observe(pid, 127)
        return d.tick()

    assert interval("a", ["b"], 0) == (True, "a")
    for t in range(1, 6):
        assert interval("a", ["b"], t) == (False, "a")
    assert interval("b", ["a"], 6) == (True, "b")
    assert interval(None, ["a", "b"], 7) == (True, None)  # everyone silent: nobody
