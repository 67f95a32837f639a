"""oms.toml: the admin's one configuration file, read and checked with readable errors.

    [store]        url
    [[locations]]  code, name, kind, priority, address and coordinates
    [[channels]]   code, name, kind (marketplace | cart | csv | manual), currency, locations
    [[partners]]   EDI trading partners: their and our ISA/GS ids, version (GS08), usage,
                   delimiters, the documents exchanged, whether an 855 is required
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from store.setup import ChannelSpec, LocationSpec, PartnerSpec, Setup

__all__ = ["ConfigFileError", "Config", "load_config", "to_setup"]

Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
Delimiter = Annotated[str, Field(min_length=1, max_length=1)]
Document = Literal["997", "855", "856", "810", "846"]


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
    latitude: float | None = None
    longitude: float | None = None


class ChannelEntry(_Strict):
    code: Code
    name: str
    kind: Literal["marketplace", "cart", "csv", "manual"]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    locations: list[str] = []


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

    @model_validator(mode="after")
    def _855_required_and_sent(self) -> PartnerEntry:
        if self.require_855 and "855" not in self.documents:
            raise ValueError("require_855 is true but documents does not list \"855\"")
        return self


class Config(_Strict):
    store: StoreSection = StoreSection()
    locations: list[LocationEntry] = []
    channels: list[ChannelEntry] = []
    partners: list[PartnerEntry] = []


def load_config(path: Path) -> Config:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(f"{path} is not valid TOML: {exc}") from exc
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
    return config


def _where(raw: dict[str, object], loc: tuple[object, ...]) -> str:
    """`partners[2] (acme).isa_id` rather than pydantic's bare tuple."""
    parts: list[str] = []
    node: object = raw
    for step in loc:
        if isinstance(step, int) and isinstance(node, list):
            item = node[step] if step < len(node) else None
            code = item.get("code") if isinstance(item, dict) else None
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
            ChannelSpec(ch.code, ch.name, ch.kind, ch.currency, tuple(ch.locations)) for ch in config.channels
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
    )
