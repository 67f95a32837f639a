"""oms.toml: the admin's one configuration file, read and checked with readable errors.

    [store]        url
    [[locations]]  code, name, kind, priority, address and coordinates; vendor (a dropship
                   location's EDI partner, sent an 850 for what is routed there)
    [[channels]]   code, name, kind (marketplace | cart | csv | manual), currency, locations;
                   a marketplace or cart polled over its API: connector (shopify | amazon |
                   woocommerce | ebay), listings, stock_buffer, max_listed, poll_seconds,
                   stock_push_seconds and [channels.api]: url, credentials (`*_env` keys name
                   environment variables), limits
    [[partners]]   EDI trading partners: their and our ISA/GS ids, version (GS08), usage,
                   delimiters, the documents exchanged, whether an 855 is required, and
                   [partners.mailbox]: SFTP (host, user, key or password_env, known_hosts) or a folder
    [[folders]]    CSV drop folders: path, profile (generic | shopify | amazon), channel, columns
    [gateway]      dispatch_seconds, lease_seconds, retries, log (json | text),
                   ack_overdue_after, and [gateway.schedules]: job = "15m" | "1h" | "1d" | "off"
    [routing]      fallback, region_coordinates and [[routing.rules]]: where orders are fulfilled from
    [shipping]     gs1_company_prefix and sscc_extension: the SSCC-18 on every carton
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from store.errors import RulesInvalid
from store.routing.rules import DEFAULT_RULES, Rules, rules_from_dict
from store.setup import ChannelSpec, LocationSpec, PartnerSpec, Setup

if TYPE_CHECKING:
    from gateway.settings import GatewaySettings

__all__ = ["ConfigFileError", "Config", "load_config", "load_routing", "seconds", "to_gateway", "to_rules",
           "to_setup"]

Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
Delimiter = Annotated[str, Field(min_length=1, max_length=1)]
Document = Literal["997", "855", "856", "810", "846", "850"]
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"[1-9][0-9]*[smhd]")


def _duration(value: str) -> str:
    if not _DURATION.fullmatch(value):
        raise ValueError(f"{value!r} is not a duration: a whole number and s, m, h or d (\"90s\", \"15m\", \"1d\")")
    return value


def _schedule(value: str) -> str:
    if value != "off" and not _DURATION.fullmatch(value):
        raise ValueError(f"{value!r} is neither \"off\" nor a duration: a whole number and s, m, h or d "
                         "(\"15m\", \"1h\", \"1d\")")
    return value


Duration = Annotated[str, AfterValidator(_duration)]  # "90s", "15m", "1h", "1d"
Schedule = Annotated[str, AfterValidator(_schedule)]  # a Duration, or "off"


class ConfigFileError(Exception):
    """oms.toml cannot be read or says something impossible; the message names where."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoreSection(_Strict):
    url: str | None = None


class LocationEntry(_Strict):
    code: Code
    name: str
    kind: Literal["warehouse", "store", "dropship"] = "warehouse"
    priority: int = 100
    address1: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: Annotated[str, Field(min_length=2, max_length=2)] | None = None
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None
    daily_capacity: Annotated[int, Field(ge=0)] | None = None
    regions_served: list[str] | None = None
    cost_per_order_minor: Annotated[int, Field(ge=0)] | None = None
    cost_per_unit_minor: Annotated[int, Field(ge=0)] | None = None
    vendor: Code | None = None  # kind = "dropship": the vendor's [[partners]] code, when it takes an 850


class ChannelEntry(_Strict):
    code: Code
    name: str
    kind: Literal["marketplace", "cart", "csv", "manual"]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    locations: list[str] = []
    connector: Literal["shopify", "amazon", "woocommerce", "ebay"] | None = None
    listings: list[str] | Literal["*"] = "*"
    stock_buffer: Annotated[int, Field(ge=0)] = 0
    max_listed: Annotated[int, Field(ge=0)] | None = None
    poll_seconds: Annotated[float, Field(gt=0)] = 60.0
    stock_push_seconds: Annotated[float, Field(gt=0)] = 0.5
    # The connector's own settings (see connectors/<name>.py): url, credentials, limits, ...
    api: dict[str, Any] = {}

    @model_validator(mode="after")
    def _api_needs_a_connector(self) -> ChannelEntry:
        if self.api and self.connector is None:
            raise ValueError("[channels.api] is set but no connector names the API")
        return self


class MailboxEntry(_Strict):
    """`[partners.mailbox]`: where the partner's files are. Secrets stay out of the file:
    `password_env` names an environment variable, `key_passphrase_env` likewise."""

    transport: Literal["sftp", "folder"] = "sftp"
    host: str | None = None
    port: Annotated[int, Field(ge=1, le=65535)] = 22
    username: str | None = None
    key_file: Path | None = None
    key_passphrase_env: str | None = None
    password_env: str | None = None
    known_hosts: Path | None = None
    path: Path | None = None  # transport = "folder"
    inbox: str = "in"
    outbox: str = "out"
    archive: str = "in/archive"  # "" deletes the file at the partner once it is committed here
    poll_seconds: Annotated[float, Field(gt=0)] = 30.0

    @model_validator(mode="after")
    def _complete(self) -> MailboxEntry:
        if self.transport == "sftp":
            missing = [k for k in ("host", "username", "known_hosts") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"an sftp mailbox needs {', '.join(missing)}")
            if self.key_file is None and self.password_env is None:
                raise ValueError("an sftp mailbox needs key_file or password_env")
        elif self.path is None:
            raise ValueError("a folder mailbox needs path")
        return self


class FolderEntry(_Strict):
    """`[[folders]]`: a CSV drop folder the gateway watches."""

    path: Path
    profile: Literal["generic", "shopify", "amazon"] = "generic"
    channel: Code
    columns: dict[str, str] = {}
    settle_seconds: Annotated[float, Field(gt=0)] = 1.0


class GatewaySection(_Strict):
    dispatch_seconds: Annotated[float, Field(gt=0)] = 5.0
    heartbeat_seconds: Annotated[float, Field(gt=0)] = 10.0
    lease_seconds: Annotated[float, Field(gt=0)] = 60.0
    retries: Annotated[int, Field(ge=1, le=20)] = 3
    log: Literal["json", "text"] = "json"
    # An interchange we sent is overdue when its 997 has not come after this long.
    ack_overdue_after: Duration = "24h"
    # How often each scheduled job runs (gateway.schedules.JOBS): a duration, or "off".
    schedules: dict[str, Schedule] = {}
    # "host:port" where Shopify and WooCommerce deliver webhooks (POST /webhooks/<channel>).
    webhooks_listen: Annotated[str, Field(pattern=r"^[^:]*:[0-9]{1,5}$")] | None = None


class ShippingSection(_Strict):
    """`[shipping]`: the GS1 company prefix (6 to 12 digits, from GS1) and the SSCC extension
    digit (0-9) every carton label is numbered with; without a prefix cartons cannot be labelled
    and `oms ship` ships loose."""

    gs1_company_prefix: Annotated[str, Field(pattern=r"^[0-9]{6,12}$")] | None = None
    sscc_extension: Annotated[int, Field(ge=0, le=9, strict=True)] = 0


class PartnerEntry(_Strict):
    code: Code
    name: str
    isa_qualifier: Annotated[str, Field(min_length=2, max_length=2)]
    isa_id: Annotated[str, Field(min_length=1, max_length=15)]
    gs_id: Annotated[str, Field(min_length=2, max_length=15)]
    our_isa_qualifier: Annotated[str, Field(min_length=2, max_length=2)]
    our_isa_id: Annotated[str, Field(min_length=1, max_length=15)]
    our_gs_id: Annotated[str, Field(min_length=2, max_length=15)]
    version: Annotated[str, Field(pattern=r"^00[45]010[A-Z0-9]{0,6}$")] = "004010"
    usage: Literal["P", "T"] = "P"
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    locations: list[str] = []
    element: Delimiter = "*"
    component: Delimiter = ">"
    terminator: Delimiter = "~"
    newline: Literal["", "\n", "\r\n"] = ""
    documents: list[Document] = ["997", "855", "856", "810"]
    require_855: bool = False
    mailbox: MailboxEntry | None = None

    @model_validator(mode="after")
    def _855_required_and_sent(self) -> PartnerEntry:
        if self.require_855 and "855" not in self.documents:
            raise ValueError("require_855 is true but documents does not list \"855\"")
        return self


SortKey = Annotated[str, Field(pattern=r"^-?(distance|stock|cost|rank)$")]
NonNegative = Annotated[int, Field(ge=0)]


class OrderFilterEntry(_Strict):
    channels: list[str] = []
    partners: list[str] = []
    min_priority: int | None = None
    max_priority: int | None = None
    ship_to_countries: list[str] = []
    ship_to_regions: list[str] = []
    ship_by_within_days: NonNegative | None = None
    fulfilment: Literal["ship", "pickup"] | None = None


class LocationFilterEntry(_Strict):
    kinds: list[Literal["warehouse", "store", "dropship"]] = []
    codes: list[str] = []
    regions: list[str] = []
    serves_ship_to: bool = True
    within_capacity: bool = True
    safety_stock: NonNegative = 0
    max_distance_km: Annotated[float, Field(gt=0)] | None = None


class RuleEntry(_Strict):
    """One `[[routing.rules]]` entry; see store/routing/rules.py for what each key does."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    when: OrderFilterEntry = OrderFilterEntry()
    locations: LocationFilterEntry = LocationFilterEntry()
    sort: list[SortKey] = ["rank"]
    split: bool = False
    split_lines: bool = False
    min_split_value_minor: NonNegative = 0
    max_locations: Annotated[int, Field(ge=1)] | None = None
    otherwise: Literal["next", "backorder", "hold", "cancel"] = "next"
    hold_reason: Annotated[str, Field(max_length=400)] | None = None
    auto_cancel_after_days: NonNegative | None = None
    cancel_at_cancel_after: bool = False


class RoutingSection(_Strict):
    fallback: Literal["backorder", "hold", "unroutable"] = "backorder"
    region_coordinates: dict[str, tuple[Annotated[float, Field(ge=-90, le=90)], Annotated[float, Field(ge=-180, le=180)]]] = {}
    rules: list[RuleEntry] = []


_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class TuiSection(_Strict):
    """`[tui]`: how the operator TUI looks and which role an unlisted local user gets."""

    theme: str | None = None
    keys: dict[str, str] = {}  # binding id -> key(s), e.g. "orders.reload" = "ctrl+l"
    default_role: Literal["viewer", "operator", "admin"] = "viewer"


class OperatorEntry(_Strict):
    """`[[operators]]`: a person who works the TUI, their role, and the SSH keys they log in with."""

    name: Annotated[str, Field(pattern=_NAME)]
    role: Literal["viewer", "operator", "admin"] = "operator"
    keys: list[str] = []  # OpenSSH public keys ("ssh-ed25519 AAAA... comment")


class Config(_Strict):
    store: StoreSection = StoreSection()
    tui: TuiSection = TuiSection()
    operators: list[OperatorEntry] = []
    routing: RoutingSection | None = None
    gateway: GatewaySection = GatewaySection()
    shipping: ShippingSection = ShippingSection()
    locations: list[LocationEntry] = []
    channels: list[ChannelEntry] = []
    partners: list[PartnerEntry] = []
    folders: list[FolderEntry] = []


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(f"{path} is not valid TOML: {exc}") from exc


def load_config(path: Path) -> Config:
    raw = _read_toml(path)
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors()[:8]:
            where = _where(raw, err["loc"])
            lines.append(f"  {where}: {err['msg']}")
        raise ConfigFileError(f"{path} has {exc.error_count()} problem(s):\n" + "\n".join(lines)) from None
    for p in config.partners:
        used = [p.element, p.component, p.terminator]
        if len(set(used)) != 3 or any(c.isalnum() or c == " " for c in used):
            raise ConfigFileError(f"{path}: partner {p.code}: element, component and terminator must be three "
                                  f"different characters, none a letter, digit or space (got {used!r})")
    seen: set[str] = set()
    for n, op in enumerate(config.operators, 1):
        if op.name in seen:
            raise ConfigFileError(f"{path}: operators[{n}].name: {op.name!r} is listed twice")
        seen.add(op.name)
    channels = {c.code for c in config.channels} | {p.code for p in config.partners}
    for n, f in enumerate(config.folders, 1):
        if f.channel not in channels:
            raise ConfigFileError(f"{path}: folders[{n}].channel: no channel {f.channel!r} in this file")
    if config.routing is not None:
        _check_routing(path, config.routing, {loc.code for loc in config.locations})
    partners = {p.code for p in config.partners}
    for n, loc in enumerate(config.locations, 1):
        if loc.vendor is None:
            continue
        where = f"{path}: locations[{n}] ({loc.code}).vendor"
        if loc.kind != "dropship":
            raise ConfigFileError(f"{where}: only a location of kind = \"dropship\" has a vendor (this one is {loc.kind})")
        if loc.vendor not in partners:
            raise ConfigFileError(f"{where}: no partner {loc.vendor!r} in this file (define it under [[partners]])")
    return config


def _check_routing(path: Path, routing: RoutingSection, locations: set[str]) -> Rules:
    try:
        rules = rules_from_dict(routing.model_dump())
    except RulesInvalid as exc:
        raise ConfigFileError(f"{path}: {exc}") from None
    for n, rule in enumerate(rules.rules, 1):
        missing = [c for c in rule.locations.codes if locations and c not in locations]
        if missing:
            raise ConfigFileError(f"{path}: routing.rules[{n}] ({rule.name}).locations.codes: "
                                  f"no location {', '.join(missing)} under [[locations]]")
    return rules


def to_rules(routing: RoutingSection) -> Rules:
    return rules_from_dict(routing.model_dump())


def load_routing(path: Path) -> Rules:
    """The `[routing]` section of a TOML file (an oms.toml, or a file of rules alone) as rules;
    a file without one means the built-in rules."""
    raw = _read_toml(path)
    try:
        section = RoutingSection.model_validate(raw.get("routing", {}))
    except ValidationError as exc:
        lines = [f"  routing.{_where(raw.get('routing', {}), err['loc'])}: {err['msg']}" for err in exc.errors()[:8]]
        raise ConfigFileError(f"{path} has {exc.error_count()} problem(s):\n" + "\n".join(lines)) from None
    return _check_routing(path, section, set())


def seconds(duration: str) -> float:
    """A `Duration` ("15m") in seconds."""
    return float(int(duration[:-1]) * _UNIT_SECONDS[duration[-1]])


def _where(raw: dict[str, object], loc: tuple[object, ...]) -> str:
    """`partners[2] (acme).isa_id` rather than pydantic's bare tuple."""
    parts: list[str] = []
    node: object = raw
    for step in loc:
        if isinstance(step, int) and isinstance(node, list):
            item = node[step] if step < len(node) else None
            code = (item.get("code") or item.get("name")) if isinstance(item, dict) else None
            parts[-1] += f"[{step + 1}]" + (f" ({code})" if code else "")
            node = item
        else:
            parts.append(str(step))
            node = node.get(str(step)) if isinstance(node, dict) else None
    return ".".join(parts)


def to_setup(config: Config) -> Setup:
    return Setup(
        locations=[LocationSpec(**loc.model_dump()) for loc in config.locations],
        channels=[
            ChannelSpec(ch.code, ch.name, ch.kind, ch.currency, tuple(ch.locations), connector=ch.connector,
                        listings=None if ch.listings == "*" else tuple(ch.listings), stock_buffer=ch.stock_buffer,
                        max_listed=ch.max_listed)
            for ch in config.channels
        ],
        partners=[
            PartnerSpec(
                code=p.code, name=p.name, isa_qualifier=p.isa_qualifier, isa_id=p.isa_id, gs_id=p.gs_id,
                our_isa_qualifier=p.our_isa_qualifier, our_isa_id=p.our_isa_id, our_gs_id=p.our_gs_id,
                x12_version=p.version, usage=p.usage, currency=p.currency, locations=tuple(p.locations),
                settings={
                    "element": p.element, "component": p.component, "terminator": p.terminator,
                    "newline": p.newline, "documents": list(p.documents), "require_855": p.require_855,
                },
            )
            for p in config.partners
        ],
        # The file is the truth: no [routing] section means the built-in rules.
        routing=to_rules(config.routing) if config.routing is not None else DEFAULT_RULES,
    )


def to_gateway(config: Config, *, base: Path, env: Mapping[str, str]) -> tuple[GatewaySettings, list[str]]:
    """The gateway's settings, with paths relative to the config file's folder and secrets read
    from the environment variables the file names; plus warnings for the operator (files with
    loose permissions). ConfigFileError names the key path of anything missing."""
    from connectors.sftp import SftpSettings, loose_permissions
    from gateway.logs import register_secret
    from gateway.schedules import JOBS
    from gateway.settings import ApiChannelSpec, FolderSpec, GatewaySettings, MailboxSpec

    def where(p: Path) -> Path:
        p = p.expanduser()
        return p if p.is_absolute() else base / p

    def secret(name: str | None, key: str) -> str | None:
        if name is None:
            return None
        value = env.get(name)
        if not value:
            raise ConfigFileError(f"{key}: environment variable {name} is not set")
        register_secret(value)
        return value

    warnings: list[str] = []
    mailboxes = []
    for n, p in enumerate(config.partners, 1):
        m = p.mailbox
        if m is None:
            continue
        key = f"partners[{n}] ({p.code}).mailbox"
        archive = m.archive or None
        if m.transport == "folder":
            assert m.path is not None
            mailboxes.append(MailboxSpec(p.code, "folder", folder=where(m.path), inbox=m.inbox, outbox=m.outbox,
                                         archive=archive, poll_seconds=m.poll_seconds))
            continue
        assert m.host is not None and m.username is not None and m.known_hosts is not None
        key_file = where(m.key_file) if m.key_file is not None else None
        for private, secret_file in ((key_file, True), (where(m.known_hosts), False)):
            if private is not None and private.exists() and (why := loose_permissions(private, secret=secret_file)):
                warnings.append(f"{key}: {why}")
        sftp = SftpSettings(
            host=m.host, port=m.port, username=m.username, password=secret(m.password_env, f"{key}.password_env"),
            key_file=key_file, key_passphrase=secret(m.key_passphrase_env, f"{key}.key_passphrase_env"),
            known_hosts=where(m.known_hosts), inbox=m.inbox, outbox=m.outbox, archive=archive,
        )
        mailboxes.append(MailboxSpec(p.code, "sftp", sftp=sftp, inbox=m.inbox, outbox=m.outbox, archive=archive,
                                     poll_seconds=m.poll_seconds))
    folders = [FolderSpec(where(f.path), f.profile, f.channel, dict(f.columns), f.settle_seconds)
               for f in config.folders]
    channels = []
    for n, ch in enumerate(config.channels, 1):
        if ch.connector is None:
            continue
        api: dict[str, Any] = {}
        for k, v in ch.api.items():  # `token_env = "SHOPIFY_TOKEN"` -> token from the environment
            if k.endswith("_env") and isinstance(v, str):
                api[k.removesuffix("_env")] = secret(v, f"channels[{n}] ({ch.code}).api.{k}")
            else:
                api[k] = v
        channels.append(ApiChannelSpec(ch.code, ch.connector, api, poll_seconds=ch.poll_seconds,
                                       stock_seconds=ch.stock_push_seconds))
    g = config.gateway
    unknown = sorted(set(g.schedules) - set(JOBS))
    if unknown:
        raise ConfigFileError(f"gateway.schedules.{unknown[0]}: no such job (jobs: {', '.join(JOBS)})")
    schedules = {name: None if every == "off" else seconds(every) for name, every in g.schedules.items()}
    settings = GatewaySettings(mailboxes=tuple(mailboxes), folders=tuple(folders), channels=tuple(channels),
                               webhooks_listen=g.webhooks_listen, dispatch_seconds=g.dispatch_seconds,
                               heartbeat_seconds=g.heartbeat_seconds, lease_seconds=g.lease_seconds, retries=g.retries,
                               schedules=schedules, ack_overdue_after=seconds(g.ack_overdue_after))
    return settings, warnings
