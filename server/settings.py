"""Configuration: environment variables over an optional TOML file, validated at start-up.

Every key is documented in docs/configuration.md. A key ``foo_bar`` is read from the TOML
file as ``foo_bar`` (top level or under ``[circle]``) and from the environment as
``CIRCLE_FOO_BAR``; ``DATABASE_URL``, ``REDIS_URL`` and ``SECRET_KEY`` are also read bare.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

ENV_PREFIX = "CIRCLE_"
BARE_ENV = {"DATABASE_URL": "database_url", "REDIS_URL": "redis_url", "SECRET_KEY": "secret_key"}
DEFAULT_VAR_DIR = Path("var")


class ConfigError(Exception):
    """A configuration value is missing or malformed; the message names the key."""


# Score configuration: weights, normalisations and level thresholds (setting ``scores``). The
# paper gives the weights and nothing else; every default below is ours (docs/scores.md). A count
# is normalised as min(count / full, 1): ``full`` is the count that earns the whole term.
INDIVIDUAL_LETTERS = ("A", "B", "C", "D", "E", "F", "G", "H", "I")
GROUP_LETTERS = ("X", "A", "B", "C", "D", "E", "F")


def _floats(values: dict[str, int]) -> dict[str, float]:
    return {k: float(v) for k, v in values.items()}


class ScoreConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Individual = 4A + 5B + 5C + 4D + 5E + 4F + 5G + 3H + 5I (Table 3)
    individual_weights: dict[str, float] = Field(
        default_factory=lambda: _floats(
            {
                "A": 4,
                "B": 5,
                "C": 5,
                "D": 4,
                "E": 5,
                "F": 4,
                "G": 5,
                "H": 3,
                "I": 5,
            }
        )
    )
    # Group = X + 5A + 5B + 3C + 4D + 5E + 5F (Table 4)
    group_weights: dict[str, float] = Field(
        default_factory=lambda: _floats({"X": 1, "A": 5, "B": 5, "C": 3, "D": 4, "E": 5, "F": 5})
    )
    # Counts that earn a whole term (individual C, D, F, G, H; group X, C, D, F).
    individual_full: dict[str, float] = Field(
        default_factory=lambda: _floats({"C": 7, "D": 5, "F": 8, "G": 3, "H": 20})
    )
    group_full: dict[str, float] = Field(
        default_factory=lambda: _floats({"X": 5, "C": 4, "D": 50, "F": 2})
    )
    # Questionnaire change (individual I, group E): an improvement of this share of the
    # instrument's range earns the whole term; no change or worse earns nothing.
    change_full_share: float = Field(0.5, gt=0, le=1)
    # Group B, order of meetings: this share from regularity, the rest from attendance.
    group_regularity_share: float = Field(0.5, ge=0, le=1)
    # Levels: the lowest total (points) that reaches each, in order.
    individual_levels: dict[str, float] = Field(
        default_factory=lambda: _floats(
            {"traveler": 0, "wayfarer": 10, "facilitator": 20, "leader": 30}
        )
    )
    group_levels: dict[str, float] = Field(
        default_factory=lambda: _floats({"silver": 0, "gold": 7, "platinum": 14, "diamond": 21})
    )

    @model_validator(mode="after")
    def _check(self) -> ScoreConfig:
        for name, weights, letters in (
            ("individual_weights", self.individual_weights, INDIVIDUAL_LETTERS),
            ("group_weights", self.group_weights, GROUP_LETTERS),
        ):
            if set(weights) != set(letters):
                raise ValueError(f"{name} must give exactly the terms {', '.join(letters)}")
            if any(w < 0 for w in weights.values()):
                raise ValueError(f"{name}: weights must not be negative")
        for name, full, counted in (
            ("individual_full", self.individual_full, "CDFGH"),
            ("group_full", self.group_full, "XCDF"),
        ):
            if not set(full) <= set(counted):
                raise ValueError(f"{name}: only the counted terms {', '.join(counted)}")
            if any(v <= 0 for v in full.values()):
                raise ValueError(f"{name}: every count must be above 0")
        for name, levels in (
            ("individual_levels", self.individual_levels),
            ("group_levels", self.group_levels),
        ):
            if len(levels) != 4:
                raise ValueError(f"{name} must name four levels")
            values = list(levels.values())
            if values != sorted(values) or values[0] != 0:
                raise ValueError(f"{name}: thresholds start at 0 and rise")
        return self


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Server
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    public_url: str = "http://127.0.0.1:8080"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one object a line (server/logs.py)
    metrics_token: str | None = Field(None, min_length=32, repr=False)  # /metrics bearer
    var_dir: Path = DEFAULT_VAR_DIR
    web_root: Path | None = None  # built web client; default web_client/dist if present

    # Storage and scale-out
    database_url: str = ""  # default: sqlite file var/circle.db
    redis_url: str | None = None  # Socket.IO AsyncRedisManager when set
    redis_channel: str = Field("healers-circle", min_length=1, max_length=100)

    # Security
    secret_key: str = Field("", repr=False)
    cookie_secure: bool | None = None  # default: True when public_url is https
    session_ttl_hours: int = Field(24 * 14, ge=1, le=24 * 365)
    session_idle_minutes: int = Field(12 * 60, ge=5, le=24 * 60 * 30)
    trusted_proxies: list[str] = Field(default_factory=list)  # networks; empty: none
    invitation_ttl_hours: int = Field(24 * 7, ge=1, le=24 * 90)
    password_reset_ttl_minutes: int = Field(60, ge=5, le=24 * 60)
    join_token_ttl_s: int = Field(300, ge=10, le=3600)
    login_max_failures: int = Field(5, ge=1, le=1000)
    login_window_s: int = Field(300, ge=1, le=86400)
    login_delay_max_s: int = Field(900, ge=1, le=86400)
    max_body_bytes: int = Field(64 * 1024, ge=1024, le=16 * 1024 * 1024)

    # Questionnaires: where a member whose answer met a safety rule can get help now
    questionnaire_help_text: str = Field(
        "If you are in danger or thinking of harming yourself, call your local emergency "
        "number now (112 in Europe, 115 in Iran) or go to the nearest emergency department.",
        min_length=10,
        max_length=2000,
    )

    # Rooms
    reconnect_grace_s: int = Field(60, ge=0, le=3600)
    node_id: str | None = Field(None, min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:@-]+$")
    room_lease_s: int = Field(30, ge=5, le=600)
    # A cluster (redis_url set): a node whose heartbeat is this old is dead and its rooms are
    # taken over at once; a connection waits this long for a room to be handed over to its
    # node; SIGTERM drains within drain_s, the first drain_notice_s with /readyz failing only
    # (so the proxy stops sending connections here before the rooms move).
    heartbeat_ttl_s: float = Field(3.0, ge=1.0, le=60.0)
    handover_wait_s: float = Field(8.0, ge=1.0, le=60.0)
    drain_s: float = Field(30.0, ge=1.0, le=600.0)
    drain_notice_s: float = Field(2.0, ge=0.0, le=60.0)
    room_event_rate: float = Field(20.0, ge=1.0, le=10_000.0)
    room_event_burst: int = Field(60, ge=1, le=100_000)
    room_sockets_per_person: int = Field(2, ge=1, le=20)
    lobby_minutes: int = Field(10, ge=0, le=240)

    # Attendance (docs/attendance.md)
    attendance_present_ratio: float = Field(0.75, gt=0.0, le=1.0)
    attendance_late_minutes: int = Field(10, ge=0, le=240)
    attendance_grace_s: int = Field(60, ge=0, le=3600)

    # Scores: weights, normalisations, level thresholds (docs/scores.md)
    scores: ScoreConfig = Field(default_factory=ScoreConfig)

    # Media
    media_enabled: bool = True
    stun_uris: list[str] = Field(default_factory=list)
    turn_uris: list[str] = Field(default_factory=list)
    turn_secret: str | None = Field(None, repr=False)
    turn_ttl_s: int = Field(9000, ge=60, le=4 * 3600)  # no longer than a session
    media_allowed_networks: list[str] = Field(default_factory=list)  # empty: public only
    media_host_addresses: list[str] = Field(default_factory=list)  # empty: every allowed
    media_workers: int = Field(1, ge=1, le=64)
    # The UDP port of the media workers' shared sockets (worker i: port + i); 0: ephemeral
    media_udp_port: int = Field(0, ge=0, le=65535)

    # Scheduling and notifications
    scheduler_enabled: bool = True
    default_timezone: str = "UTC"
    reminder_offsets_minutes: list[int] = Field(default_factory=lambda: [24 * 60, 15])
    smtp_host: str | None = None
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = Field(None, repr=False)
    smtp_from: str = "Healers' Circle <no-reply@localhost>"
    smtp_starttls: bool = True

    # Questionnaires
    instruments_dir: Path | None = (
        None  # the organisation's instrument files; default var/instruments
    )

    # Pathways (docs/pathways.md): a BAT total (mean 1-5) at or above the cut-off queues one
    # offer of peer support; conversations are booked within the window after the match.
    peer_support_bat_cutoff: float = Field(2.59, ge=1.0, le=5.0)
    peer_support_window_days: int = Field(61, ge=7, le=365)

    # Privacy: how long personal data is kept (docs/privacy.md)
    retention_outbox_days: int = Field(30, ge=1, le=3650)
    retention_links_days: int = Field(7, ge=1, le=3650)
    retention_audit_days: int = Field(365, ge=30, le=3650)
    retention_attendance_days: int = Field(365, ge=1, le=3650)
    retention_sweep_hours: float = Field(24.0, ge=0.01, le=24 * 30)

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, v: str) -> str:
        if v and not (v.startswith("sqlite") or v.startswith("postgres")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return v

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, v: str | None) -> str | None:
        if v and not v.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis:// or rediss:// URL")
        return v or None

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/")

    @field_validator("default_timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA timezone {v!r}") from exc
        return v

    @field_validator("stun_uris")
    @classmethod
    def _stun(cls, v: list[str]) -> list[str]:
        for uri in v:
            if not uri.startswith(("stun:", "stuns:")):
                raise ValueError(f"{uri!r} is not a stun: or stuns: URI")
        return v

    @field_validator("turn_uris")
    @classmethod
    def _turn(cls, v: list[str]) -> list[str]:
        for uri in v:
            if not uri.startswith(("turn:", "turns:")):
                raise ValueError(f"{uri!r} is not a turn: or turns: URI")
        return v

    @field_validator("media_allowed_networks")
    @classmethod
    def _nets(cls, v: list[str]) -> list[str]:
        for n in v:
            ipaddress.ip_network(n, strict=False)
        return v

    @field_validator("media_host_addresses")
    @classmethod
    def _hosts(cls, v: list[str]) -> list[str]:
        for a in v:
            ipaddress.ip_address(a)
        return v

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, v: list[str]) -> list[str]:
        for n in v:
            try:
                ipaddress.ip_network(n, strict=False)
            except ValueError:
                raise ValueError(f"{n!r} is not an IP address or network") from None
        return v

    @model_validator(mode="after")
    def _media_ports(self) -> Settings:
        if self.media_udp_port and self.media_udp_port + self.media_workers - 1 > 65535:
            raise ValueError(
                f"media_udp_port: {self.media_udp_port} + {self.media_workers} media workers "
                "runs past port 65535 (worker i listens on media_udp_port + i)"
            )
        return self

    @model_validator(mode="after")
    def _https_cookies(self) -> Settings:
        if self.public_url.startswith("https://") and self.cookie_secure is False:
            raise ValueError(
                "cookie_secure: must not be false when public_url is https (login cookies "
                "would travel unencrypted); leave it unset"
            )
        return self

    @property
    def secure_cookies(self) -> bool:
        """Cookies marked Secure (and named ``__Host-...``): set, or https in public_url."""
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.public_url.startswith("https://")

    @field_validator("secret_key")
    @classmethod
    def _secret(cls, v: str) -> str:
        if v and len(v) < 32:
            raise ValueError("must be at least 32 characters")
        return v

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.var_dir / 'circle.db').as_posix()}"

    @property
    def effective_instruments_dir(self) -> Path:
        return self.instruments_dir or self.var_dir / "instruments"

    @property
    def effective_web_root(self) -> Path | None:
        if self.web_root is not None:
            return self.web_root
        candidate = Path(__file__).resolve().parent.parent / "web_client" / "dist"
        return candidate if candidate.is_dir() else None


def _coerce_env(value: str, annotation: Any) -> Any:
    text = value.strip()
    if text.startswith(("[", "{")):
        import json

        try:
            return json.loads(text)
        except ValueError:
            return text
    origin = getattr(annotation, "__origin__", None)
    if origin is list:
        return [p.strip() for p in text.split(",") if p.strip()]
    return text


def load_settings(
    *,
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build Settings from TOML (``config_file`` or ``$CIRCLE_CONFIG``), env, then overrides."""
    env = os.environ if env is None else env
    data: dict[str, Any] = {}
    path = config_file or (Path(env["CIRCLE_CONFIG"]) if env.get("CIRCLE_CONFIG") else None)
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"config file {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path}: {exc}") from exc
        section = raw.pop("circle", {})
        if not isinstance(section, dict):
            raise ConfigError(f"config file {path}: [circle] must be a table")
        data.update(raw)
        data.update(section)
    fields = Settings.model_fields
    for name, key in BARE_ENV.items():
        if env.get(name):
            data[key] = env[name]
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or name == "CIRCLE_CONFIG":
            continue
        key = name[len(ENV_PREFIX) :].lower()
        if key not in fields:
            raise ConfigError(f"unknown configuration key {name} (see docs/configuration.md)")
        data[key] = _coerce_env(value, fields[key].annotation)
    if overrides:
        data.update(overrides)
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "?"
            problems.append(f"{key}: {err['msg']}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None
    return settings


def ensure_secret(settings: Settings) -> Settings:
    """Embedded default: without SECRET_KEY, keep a random one in var/secret_key (mode 0600).

    A key read back from that file is checked like one from the environment (at least 32
    characters), and the file must be readable by its owner only: a key others can read signs
    nobody's links safely.
    """
    if settings.secret_key:
        return settings
    path = settings.var_dir / "secret_key"
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise ConfigError(
                f"secret_key: {path} is readable by others (mode {mode:o}); run: chmod 600 {path}"
            )
        key = path.read_text(encoding="utf-8").strip()
        if len(key) < 32:
            raise ConfigError(f"secret_key: the key in {path} must be at least 32 characters")
    else:
        private_dir(path.parent)
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(key)
    return settings.model_copy(update={"secret_key": key})


def private_dir(path: Path) -> None:
    """Create ``path`` (and parents) if missing; a directory we create is owner-only (0700)."""
    if not path.exists():
        path.mkdir(parents=True, mode=0o700, exist_ok=True)
        path.chmod(0o700)  # mkdir's mode is filtered by the umask
