"""Configuration: env over TOML, validated, errors name the bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.settings import ConfigError, ensure_secret, load_settings


def test_defaults_are_the_embedded_setup():
    s = load_settings(env={})
    assert s.effective_database_url == "sqlite:///var/circle.db"
    assert s.redis_url is None and s.port == 8080 and s.reconnect_grace_s == 60


def test_env_overrides_toml(tmp_path: Path):
    cfg = tmp_path / "circle.toml"
    cfg.write_text("port = 9000\n[circle]\nlobby_minutes = 5\nreminder_offsets_minutes = [60]\n")
    s = load_settings(
        env={"CIRCLE_PORT": "9100", "REDIS_URL": "redis://127.0.0.1:6379/1"}, config_file=cfg
    )
    assert (s.port, s.lobby_minutes, s.reminder_offsets_minutes) == (9100, 5, [60])
    assert s.redis_url == "redis://127.0.0.1:6379/1"
    s = load_settings(env={"CIRCLE_REMINDER_OFFSETS_MINUTES": "1440,15"})
    assert s.reminder_offsets_minutes == [1440, 15]


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"CIRCLE_PORT": "eighty"}, "port"),
        ({"CIRCLE_PORT": "70000"}, "port"),
        ({"CIRCLE_NO_SUCH_KEY": "1"}, "CIRCLE_NO_SUCH_KEY"),
        ({"DATABASE_URL": "mysql://x"}, "database_url"),
        ({"REDIS_URL": "http://x"}, "redis_url"),
        ({"CIRCLE_DEFAULT_TIMEZONE": "Mars/Base"}, "default_timezone"),
        ({"SECRET_KEY": "short"}, "secret_key"),
        ({"CIRCLE_MEDIA_ALLOWED_NETWORKS": "10.0.0.0/33"}, "media_allowed_networks"),
        ({"CIRCLE_REDIS_CHANNEL": ""}, "redis_channel"),
        ({"CIRCLE_STUN_URIS": "http://stun.example"}, "stun_uris"),
        ({"CIRCLE_TURN_URIS": '["stun:not-a-turn"]'}, "turn_uris"),
        ({"CIRCLE_MEDIA_WORKERS": "0"}, "media_workers"),
        ({"CIRCLE_MEDIA_UDP_PORT": "65536"}, "media_udp_port"),
        ({"CIRCLE_MEDIA_UDP_PORT": "-1"}, "media_udp_port"),
        ({"CIRCLE_MEDIA_UDP_PORT": "udp"}, "media_udp_port"),
        ({"CIRCLE_MEDIA_UDP_PORT": "65535", "CIRCLE_MEDIA_WORKERS": "2"}, "media_udp_port"),
        ({"CIRCLE_ROOM_EVENT_RATE": "0"}, "room_event_rate"),
        ({"CIRCLE_ROOM_EVENT_RATE": "fast"}, "room_event_rate"),
        ({"CIRCLE_ROOM_EVENT_BURST": "-5"}, "room_event_burst"),
        ({"CIRCLE_NODE_ID": "node one; drop"}, "node_id"),
        ({"CIRCLE_NODE_ID": ""}, "node_id"),
        ({"CIRCLE_ROOM_LEASE_S": "1"}, "room_lease_s"),
        ({"CIRCLE_PASSWORD_RESET_TTL_MINUTES": "0"}, "password_reset_ttl_minutes"),
        ({"CIRCLE_LOG_FORMAT": "xml"}, "log_format"),
        ({"CIRCLE_METRICS_TOKEN": "too-short"}, "metrics_token"),
        ({"CIRCLE_HEARTBEAT_TTL_S": "0"}, "heartbeat_ttl_s"),
        ({"CIRCLE_HANDOVER_WAIT_S": "soon"}, "handover_wait_s"),
        ({"CIRCLE_DRAIN_S": "0.1"}, "drain_s"),
        ({"CIRCLE_DRAIN_NOTICE_S": "-1"}, "drain_notice_s"),
        ({"CIRCLE_PEER_SUPPORT_BAT_CUTOFF": "9"}, "peer_support_bat_cutoff"),
        ({"CIRCLE_PEER_SUPPORT_WINDOW_DAYS": "1"}, "peer_support_window_days"),
    ],
)
def test_bad_values_name_the_key(env, needle):
    with pytest.raises(ConfigError, match=needle):
        load_settings(env=env)


def test_bad_toml_file(tmp_path: Path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("port = = 1")
    with pytest.raises(ConfigError, match=r"bad\.toml"):
        load_settings(env={}, config_file=cfg)
    cfg.write_text("portt = 1")
    with pytest.raises(ConfigError, match="portt"):
        load_settings(env={}, config_file=cfg)
    with pytest.raises(ConfigError, match=r"missing\.toml"):
        load_settings(env={}, config_file=tmp_path / "missing.toml")


def test_embedded_secret_is_created_once_and_private(tmp_path: Path):
    s = ensure_secret(load_settings(env={}, overrides={"var_dir": tmp_path}))
    again = ensure_secret(load_settings(env={}, overrides={"var_dir": tmp_path}))
    assert len(s.secret_key) >= 32 and s.secret_key == again.secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_every_key_is_documented():
    from server.settings import Settings

    doc = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    missing = [k for k in Settings.model_fields if f"| `{k}` |" not in doc]
    assert missing == []
