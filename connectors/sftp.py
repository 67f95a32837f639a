"""A trading partner's SFTP mailbox, over paramiko.

    mailbox = SftpMailbox.connect(settings)   # host key pinned, then key or password login
    with mailbox: ...                         # the Mailbox protocol (connectors.mailbox)

Trust comes only from the partner's known_hosts file: an unknown host or a changed key is
refused (`HostKeyRefused`, with the fingerprints) before we authenticate, so no password,
no key signature and no file ever reaches an impostor. Remote paths are relative to the
login's start folder.

Errors are translated here (paramiko's SSHException, EOFError, socket errors and the SFTP
status codes): a dropped or stalled connection is a `TransferError` and the mailbox is
closed with it (connect again to retry); a refusal by the server (no such file, permission
denied) is a `MailboxError`. Messages name host, port, user and paths, never a secret.
"""

from __future__ import annotations

import datetime as dt
import errno
import socket
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import paramiko

from .errors import AuthFailed, HostKeyRefused, MailboxError, NameClash, TransferError
from .mailbox import (
    _BLOCK,
    Progress,
    RemoteFile,
    archive_names,
    check_folder,
    check_name,
    is_transient,
    remote_path,
    temp_name,
)

__all__ = ["SftpMailbox", "SftpSettings", "loose_permissions"]

# A known_hosts "ssh-rsa" key is offered under these signature algorithms.
_HOST_KEY_ALGORITHMS = {"ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256")}


@dataclass(frozen=True, kw_only=True, slots=True)
class SftpSettings:
    host: str
    port: int = 22
    username: str
    password: str | None = None
    key_file: Path | None = None
    key_passphrase: str | None = None
    known_hosts: Path
    inbox: str = "in"
    outbox: str = "out"
    archive: str | None = "in/archive"  # None: delete taken files
    timeout: float = 15  # seconds for connecting, each handshake step and each SFTP reply

    def __post_init__(self) -> None:
        for name in ("inbox", "outbox", "archive"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, check_folder(value))
        if not 0 < self.port < 65536:
            raise ValueError(f"port {self.port} out of range")

    def __repr__(self) -> str:
        # secrets never reach a log line or an exception message
        hidden = ("password", "key_passphrase")
        shown = ", ".join(
            f"{name}={'***' if name in hidden and value is not None else value!r}"
            for name in self.__dataclass_fields__
            for value in (getattr(self, name),)
        )
        return f"SftpSettings({shown})"

    @property
    def where(self) -> str:
        return f"{self.username}@{self.host}:{self.port}"


def loose_permissions(path: Path, *, secret: bool = True) -> str | None:
    """A warning if a private key or config file (secret=True) is readable or writable by group
    or others, or if a file we trust (a known_hosts: secret=False) is writable by them."""
    mode = stat.S_IMODE(path.stat().st_mode)
    loose = mode & (0o077 if secret else 0o022)
    if not loose:
        return None
    what = "readable and writable" if loose & 0o044 and loose & 0o022 else "readable" if loose & 0o044 else "writable"
    fix = "600" if secret else f"{mode & ~0o022:o}"
    return f"{path} is {what} by group or others (mode {mode:o}); run: chmod {fix} {path}"


class SftpMailbox:
    """The Mailbox protocol on an SFTP server. Make one with `connect`; one thread at a time."""

    def __init__(self, settings: SftpSettings, transport: Any, sftp: Any) -> None:
        self.settings = settings
        self._transport = transport
        self._sftp = sftp
        self._closed = False
        self._archive_made = False  # the archive folder is there: no stats per file while connected

    def __repr__(self) -> str:
        return f"SftpMailbox({self.settings.where}, {'closed' if self._closed else 'open'})"

    # -- connecting -------------------------------------------------------------------------

    @classmethod
    def connect(cls, settings: SftpSettings) -> SftpMailbox:
        """Connect, check the host key against known_hosts, log in, open SFTP.
        HostKeyRefused, AuthFailed, TransferError (unreachable, dropped), MailboxError."""
        where = f"{settings.host}:{settings.port}"
        pinned = _pinned_keys(settings)
        try:
            sock = socket.create_connection((settings.host, settings.port), timeout=settings.timeout)
        except OSError as exc:
            raise TransferError(f"{where}: cannot connect: {_reason(exc)}") from None
        # SFTP reads are request/answer: without this, Nagle's algorithm stalls each request
        with suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport = paramiko.Transport(sock)
        try:
            transport.banner_timeout = settings.timeout
            transport.handshake_timeout = settings.timeout
            transport.auth_timeout = settings.timeout
            _prefer(transport, pinned)
            try:
                transport.start_client(timeout=settings.timeout)
                offered = transport.get_remote_server_key()  # raises if the handshake timed out
            except (paramiko.SSHException, EOFError, OSError) as exc:
                saved = transport.get_exception()  # what the transport's thread ran into
                reason = _reason(saved) if saved is not None else "timed out" if transport.is_active() else _reason(exc)
                raise TransferError(f"{where}: SSH handshake failed: {reason}") from None
            _check_host_key(settings, pinned, offered)
            _login(settings, transport)
            try:
                channel = transport.open_session(timeout=settings.timeout)
                channel.settimeout(settings.timeout)
                channel.invoke_subsystem("sftp")
                sftp = paramiko.SFTPClient(channel)
            except (paramiko.SSHException, EOFError, OSError) as exc:
                if transport.is_active():
                    raise MailboxError(f"{where}: the server refused an SFTP session: {_reason(exc)}") from None
                raise TransferError(f"{where}: connection lost opening SFTP: {_reason(exc)}") from None
        except BaseException:
            transport.close()
            raise
        return cls(settings, transport, sftp)

    # -- the Mailbox protocol ---------------------------------------------------------------

    def list_inbound(self) -> list[RemoteFile]:
        folder = self.settings.inbox
        with self._io(f"list {folder}"):
            entries = self._sftp.listdir_attr(folder)
        found = [
            RemoteFile(a.filename, a.st_size or 0, dt.datetime.fromtimestamp(a.st_mtime or 0, tz=dt.UTC))
            for a in entries
            if a.st_mode is not None and stat.S_ISREG(a.st_mode) and not is_transient(a.filename)
        ]
        found.sort(key=lambda f: (f.mtime, f.name))
        return found

    def fetch(self, name: str, *, progress: Progress | None = None) -> bytes:
        """The whole file, checked against the size the server gave when it was opened."""
        path = remote_path(self.settings.inbox, check_name(name))
        with self._io(f"fetch {path}"):
            # Plain sequential reads: paramiko's prefetch reads from a thread of its own, which
            # raises outside our reach when the connection drops.
            with self._sftp.open(path, "rb") as fh:
                size = fh.stat().st_size or 0
                chunks: list[bytes] = []
                done = 0
                while block := fh.read(_BLOCK):
                    chunks.append(block)
                    done += len(block)
                    if progress is not None:
                        progress(done, size)
            if done != size:
                # short: the connection went (paramiko reports that as end of file); long or
                # short with the connection up: the partner was still writing it
                self._check_alive(f"fetch {path}")
                raise TransferError(f"{self._where}: fetch {path}: read {done} bytes of {size}")
        return b"".join(chunks)

    def archive(self, name: str) -> None:
        """Rename into the archive folder (made if missing) under a name not yet taken, or delete."""
        src = remote_path(self.settings.inbox, check_name(name))
        folder = self.settings.archive
        with self._io(f"archive {src}"):
            if folder is None:
                self._sftp.remove(src)
                return
            if not self._archive_made:
                self._makedirs(folder)
                self._archive_made = True
            try:
                self._rename_new(src, name, folder)
            except OSError:
                # Removed by the partner since we made it? Make it again and try once more.
                self._check_alive(f"archive {src}")
                self._archive_made = False
                self._makedirs(folder)
                self._archive_made = True
                self._rename_new(src, name, folder)

    def upload(self, name: str, data: bytes, *, progress: Progress | None = None) -> None:
        """Write `.name.part`, check its size, rename to `name`. A no-op if `name` already
        holds these bytes; NameClash if it holds others."""
        final = remote_path(self.settings.outbox, check_name(name))
        temp = remote_path(self.settings.outbox, temp_name(name))
        with self._io(f"upload {final}"):
            existing = self._stat(final)
            if existing is not None:
                if existing.st_size == len(data) and self._read_all(final) == data:
                    return
                raise NameClash(f"{self._where}: upload {final}: a different file of that name is already there")
            self._write(temp, data, progress)
            written = self._sftp.stat(temp).st_size
            if written != len(data):
                raise TransferError(f"{self._where}: upload {temp}: the server has {written} bytes of {len(data)}")
            self._rename_over(temp, final)

    def exists_outbound(self, name: str) -> bool:
        path = remote_path(self.settings.outbox, check_name(name))
        with self._io(f"stat {path}"):
            return self._stat(path) is not None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with suppress(Exception):  # the connection may already be gone; nothing left to lose
            self._sftp.close()
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- inside -----------------------------------------------------------------------------

    @property
    def _where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def _alive(self) -> bool:
        return not self._closed and self._transport.is_active() and not self._sftp.get_channel().closed

    def _check_alive(self, what: str) -> None:
        if not self._alive():
            self.close()
            raise TransferError(f"{self._where}: {what}: connection lost")

    @contextmanager
    def _io(self, what: str) -> Iterator[None]:
        """Translate paramiko's and the socket's errors; a dropped connection closes us."""
        if self._closed:
            raise TransferError(f"{self._where}: {what}: the connection was closed; connect again")
        try:
            yield
        except MailboxError as exc:
            if isinstance(exc, TransferError):
                self.close()
            raise
        except (TimeoutError, EOFError, paramiko.SSHException, paramiko.SFTPError) as exc:
            self.close()
            raise TransferError(f"{self._where}: {what}: {_reason(exc)}") from None
        except OSError as exc:
            if not self._alive():
                self.close()
                raise TransferError(f"{self._where}: {what}: connection lost ({_reason(exc)})") from None
            raise MailboxError(f"{self._where}: {what}: {_reason(exc)}") from None
        except UnicodeError:
            raise MailboxError(f"{self._where}: {what}: a file name that is not UTF-8") from None

    def _stat(self, path: str) -> Any:
        """The attributes of `path`, None if there is no such file."""
        try:
            return self._sftp.stat(path)
        except OSError as exc:
            if exc.errno == errno.ENOENT and self._alive():
                return None
            raise

    def _makedirs(self, folder: str) -> None:
        parts = folder.split("/")
        for n in range(1, len(parts) + 1):
            path = "/".join(parts[:n])
            if path == ".":
                continue
            attrs = self._stat(path)
            if attrs is None:
                try:
                    self._sftp.mkdir(path)
                except OSError:
                    self._check_alive(f"mkdir {path}")
                    attrs = self._stat(path)  # made by someone else meanwhile?
                    if attrs is None:
                        raise
            elif not stat.S_ISDIR(attrs.st_mode or 0):
                raise MailboxError(f"{self._where}: {path} is not a folder")

    def _rename_new(self, src: str, name: str, folder: str) -> None:
        """Rename `src` into `folder` under the first archive name not yet taken."""
        for candidate in archive_names(name):
            dst = remote_path(folder, candidate)
            if self._stat(dst) is not None:  # a server whose rename overwrites would lose it
                continue
            try:
                # SFTP's plain rename refuses an existing target (OpenSSH: link + unlink)
                self._sftp.rename(src, dst)
                return
            except OSError:
                self._check_alive(f"archive {src}")
                if self._stat(dst) is None:
                    raise
                # someone else archived under that name meanwhile: the next one

    def _read_all(self, path: str) -> bytes:
        with self._sftp.open(path, "rb") as fh:
            data: bytes = fh.read()
        return data

    def _write(self, path: str, data: bytes, progress: Progress | None) -> None:
        # Unbuffered and pipelined: each block goes out at once and the server's answers are
        # collected at close, where a failed write raises.
        fh = self._sftp.open(path, "wb", bufsize=0)
        try:
            fh.set_pipelined(True)
            for start in range(0, len(data), _BLOCK):
                fh.write(data[start : start + _BLOCK])
                if progress is not None:
                    progress(min(start + _BLOCK, len(data)), len(data))
            fh.close()
        finally:
            if not fh.closed:
                # after a failure: mark it closed without waiting for answers that will not
                # come, so paramiko does not try again (and raise) when it is collected
                fh.set_pipelined(False)
                with suppress(Exception):
                    fh.close()

    def _rename_over(self, src: str, dst: str) -> None:
        try:
            self._sftp.posix_rename(src, dst)  # atomic, replaces: OpenSSH's extension
            return
        except OSError:
            self._check_alive(f"rename {src}")
        # a server without posix-rename: plain SFTP rename refuses an existing target
        if self._stat(dst) is not None:
            self._sftp.remove(dst)
        self._sftp.rename(src, dst)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _pinned_keys(settings: SftpSettings) -> dict[str, Any]:
    """The keys known_hosts pins for this host and port, by key type (maybe none)."""
    where = f"{settings.host}:{settings.port}"
    try:
        text = settings.known_hosts.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise HostKeyRefused(f"{where}: cannot read known_hosts file {settings.known_hosts}: {_reason(exc)}") from None
    keys = paramiko.HostKeys()
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith(("#", "@")):  # @cert-authority, @revoked: not supported
            continue
        try:
            entry = paramiko.hostkeys.HostKeyEntry.from_line(line, n)
        except Exception:  # a line paramiko cannot read pins nothing
            continue
        if entry is not None and entry.key is not None:
            for hostname in entry.hostnames:
                keys.add(hostname, entry.key.get_name(), entry.key)
    name = settings.host if settings.port == 22 else f"[{settings.host}]:{settings.port}"
    found = keys.lookup(name)
    return {} if found is None else {t: found[t] for t in found}


def _prefer(transport: Any, pinned: dict[str, Any]) -> None:
    """Ask first for the host key types we have pinned, so a server with several host keys
    shows us the one we can check."""
    if not pinned:
        return
    options = transport.get_security_options()
    available = list(options.key_types)
    wanted = [a for t in pinned for a in _HOST_KEY_ALGORITHMS.get(t, (t,)) if a in available]
    options.key_types = wanted + [a for a in available if a not in wanted]


def _describe(key: Any) -> str:
    return f"{key.get_name()} {key.fingerprint}"


def _check_host_key(settings: SftpSettings, pinned: dict[str, Any], offered: Any) -> None:
    where = f"{settings.host}:{settings.port}"
    expected = pinned.get(offered.get_name())
    if expected is not None and expected.asbytes() == offered.asbytes():
        return
    if not pinned:
        raise HostKeyRefused(
            f"{where}: unknown host: it offered {_describe(offered)}, which {settings.known_hosts} does not pin"
        )
    pins = ", ".join(_describe(k) for k in pinned.values())
    raise HostKeyRefused(
        f"{where}: HOST KEY CHANGED: it offered {_describe(offered)} but {settings.known_hosts} pins {pins} "
        "(a new server, or someone in between: check with the partner before trusting it)"
    )


def _load_key(settings: SftpSettings) -> Any:
    path = settings.key_file
    assert path is not None
    passphrase = None if settings.key_passphrase is None else settings.key_passphrase.encode()
    try:
        try:
            return paramiko.PKey.from_path(path, password=passphrase)
        except TypeError:
            # the crypto backend: a passphrase for a key without one, or none for a key with one
            if passphrase is None:
                raise AuthFailed(f"key file {path} is encrypted and no passphrase is set") from None
            return paramiko.PKey.from_path(path)
    except AuthFailed:
        raise
    except OSError as exc:
        raise AuthFailed(f"cannot read key file {path}: {_reason(exc)}") from None
    except paramiko.PasswordRequiredException:
        raise AuthFailed(f"key file {path} is encrypted and no passphrase is set") from None
    except Exception as exc:  # the backend's many ways of saying "wrong passphrase"
        raise AuthFailed(
            f"cannot load key file {path}: wrong passphrase or not a private key ({type(exc).__name__})"
        ) from None


def _login(settings: SftpSettings, transport: Any) -> None:
    where = settings.where
    if settings.key_file is None and settings.password is None:
        raise AuthFailed(f"{where}: neither a key file nor a password is set")
    tried: list[str] = []
    refusals: list[str] = []
    try:
        if settings.key_file is not None:
            key = _load_key(settings)
            tried.append(f"key {settings.key_file} ({key.get_name()} {key.fingerprint})")
            try:
                transport.auth_publickey(settings.username, key)
            except paramiko.BadAuthenticationType as exc:
                refusals.append(f"key logins not allowed (allowed: {', '.join(exc.allowed_types)})")
            except paramiko.AuthenticationException:
                pass
        if not transport.is_authenticated() and settings.password is not None:
            tried.append("password")
            try:
                transport.auth_password(settings.username, settings.password, fallback=False)
            except paramiko.BadAuthenticationType as exc:
                refusals.append(f"password logins not allowed (allowed: {', '.join(exc.allowed_types)})")
            except paramiko.AuthenticationException:
                pass
    except (paramiko.SSHException, EOFError, OSError) as exc:
        raise TransferError(f"{where}: connection lost while logging in: {_reason(exc)}") from None
    if not transport.is_authenticated():
        detail = f"; {'; '.join(refusals)}" if refusals else ""
        raise AuthFailed(f"{where}: login refused (tried {', '.join(tried)}){detail}")
