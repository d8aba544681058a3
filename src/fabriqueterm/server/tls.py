"""``fabriqueterm server run --certfile FILE --keyfile FILE`` (options declared in
:mod:`fabriqueterm.server.cli`): the commons serves TLS itself (uvicorn's
``ssl_certfile``/``ssl_keyfile``), for a commons without a reverse proxy in front
(docs/server.md, "TLS"). Both files are checked before uvicorn starts, so a missing or
unreadable one is a sentence, not a traceback. Loaded by the handler only."""

from __future__ import annotations

import argparse
import ssl
from typing import Any

from fabriqueterm.i18n import _


class TlsFilesError(Exception):
    """The certificate or key cannot be used; the message says which and why."""


def tls_settings(args: argparse.Namespace) -> dict[str, Any]:
    """uvicorn's TLS keywords for ``args`` ({} without ``--certfile``); a :class:`TlsFilesError`
    when only one file is given or when the pair cannot be loaded."""
    certfile, keyfile = args.certfile, args.keyfile
    if certfile is None and keyfile is None:
        return {}
    if certfile is None or keyfile is None:
        raise TlsFilesError(_("--certfile and --keyfile go together: give both, or neither."))
    for path in (certfile, keyfile):
        try:
            with path.open("rb"):
                pass
        except OSError as error:
            raise TlsFilesError(
                _("{file} cannot be read ({detail}): the commons cannot serve https.").format(
                    file=path, detail=error.strerror or error
                )
            ) from None
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(certfile, keyfile)
    except (ssl.SSLError, ValueError) as error:
        raise TlsFilesError(
            _(
                "{certfile} and {keyfile} are not a PEM certificate and its private key ({detail})."
            ).format(
                certfile=certfile, keyfile=keyfile, detail=getattr(error, "reason", None) or error
            )
        ) from None
    return {"ssl_certfile": str(certfile), "ssl_keyfile": str(keyfile)}
