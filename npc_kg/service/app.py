"""The Starlette application of ``npc-kg serve``: routes, limits, errors and logging.

Limits: a request body larger than ``max_body`` gets 413 (the default 1 MiB stays below the
1 MiB spool threshold of Starlette's multipart parser, so an upload is never spooled to disk);
assessments and queries run in worker threads under a timeout (503 when it passes). Every
error is JSON ``{"error": ..., "status": ...}`` with its HTTP status. The access log names the
method, the route template, the status and the time, never a body, a query string, a report
token or a patient value.
"""

from __future__ import annotations

import json
import logging
import re
import time
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from npc_kg.core.rules import OUT_OF_SCOPE
from npc_kg.errors import InputError, NpcKgError, PatientModelError
from npc_kg.fhir.errors import FhirInputError
from npc_kg.limits import current, seconds
from npc_kg.service.cds import (
    CdsError,
    cards_for,
    check_request,
    discovery,
    out_of_scope_card,
    patient_from_prefetch,
    selects_order,
    services,
)
from npc_kg.service.reports import LazyReport, ReportStore
from npc_kg.service.sparql_endpoint import SparqlRefused, answer

__all__ = ["LOG", "ServiceConfig", "check_base_url", "check_listen", "create_app", "serve"]

LOG = logging.getLogger("npc_kg.service")


@dataclass
class ServiceConfig:
    """Limits and options of the service."""

    max_body: int = 1024 * 1024
    """Largest request body in bytes (413 above it)."""
    timeout: float = 30.0
    """Seconds an assessment or query may take (503 after)."""
    report_ttl: float = 900.0
    """Seconds a report stays reachable."""
    report_capacity: int = 256
    """Reports kept in memory at most (the oldest go first)."""
    mappings: Sequence[str | Path] = field(default_factory=tuple)
    """Site FHIR mappings (YAML); one supplying an order code lists the order-select service."""
    max_query_bytes: int | None = None
    """Largest ``/sparql`` query in bytes (413 above it); None: the limit in force when the app is
    created (``NPC_KG_MAX_QUERY_BYTES``, 16 KiB; :mod:`npc_kg.limits`)."""
    max_sparql_queries: int | None = None
    """``/sparql`` queries run at once at most, each in its own process (503 with ``Retry-After`` to
    one more); None: the number of CPUs this process may use."""
    base_url: str | None = None
    """The service's public URL (``https://cds.example.org/npc-kg``), from which CDS cards link to their
    reports (checked by :func:`check_base_url`). None: the address and port the request reached on
    this server (``http://127.0.0.1:8000``), never the request's ``Host`` header."""


class _TooLarge(Exception):
    pass


class LimitsMiddleware:
    """Refuse bodies over ``max_body`` bytes (declared or streamed); log each request without its data."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            await _json_error(413, f"request body over {self.max_body} bytes")(scope, receive, send)
            self._log(scope, 413, started)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise _TooLarge()
            return message

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, limited, sending)
        except _TooLarge:
            status["code"] = 413
            await _json_error(413, f"request body over {self.max_body} bytes")(scope, receive, send)
        self._log(scope, status["code"], started)

    @staticmethod
    def _log(scope: Scope, status: int, started: float) -> None:
        endpoint = scope.get("endpoint")
        path = getattr(endpoint, "__name__", None) or "(no route)"
        LOG.info("%s %s %d %.0f ms", scope.get("method", "?"), path, status, (time.perf_counter() - started) * 1000)


def _json_error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status)


async def _run(request: Request, func: Callable[..., Any], *args: Any) -> Any:
    """Run ``func`` in a worker thread under the configured timeout."""
    import anyio

    config: ServiceConfig = request.app.state.config
    try:
        with anyio.fail_after(config.timeout):
            return await anyio.to_thread.run_sync(func, *args, abandon_on_cancel=True)
    except TimeoutError:
        raise HTTPException(503, f"the request took longer than {config.timeout:g} s") from None


# ---------------------------------------------------------------------------------------------
# CDS Hooks
# ---------------------------------------------------------------------------------------------


async def cds_discovery(request: Request) -> Response:
    """``GET /cds-services``."""
    return JSONResponse(request.app.state.discovery)


def _assess_prefetch(prefetch: Any, treatment: str, mapping: Any) -> tuple[Any, Any]:
    """Read the prefetch as FHIR and assess it: (assessment, patient graph or None when out of scope)."""
    from npc_kg.assessment.assess import assess_input

    patient = patient_from_prefetch(prefetch, mapping)
    found, graph = assess_input(patient, treatment, mapping=mapping)
    return (found[0] if found else None), graph


def _report_html(assessment: Any, graph: Any) -> str:
    from npc_kg.assessment.html import render_html

    return render_html([assessment], graph)


async def cds_service(request: Request) -> Response:
    """``POST /cds-services/{id}``: cards for the patient of the prefetch."""
    service = request.app.state.services.get(request.path_params["service_id"])
    if service is None:
        return _json_error(404, "no such CDS service (see GET /cds-services)")
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        return _json_error(400, "the request body is not JSON")
    except RecursionError:
        return _json_error(400, "the request body is JSON nested too deeply to be a CDS Hooks request")
    try:
        prefetch = check_request(body, service)
        if service.hook == "order-select" and not selects_order(body["context"], service):
            return JSONResponse({"cards": []})  # none of the selected draft orders is the treatment's order
        assessment, graph = await _run(request, _assess_prefetch, prefetch, service.treatment,
                                       request.app.state.fhir_mapping)
    except CdsError as error:
        return _json_error(error.status, str(error))
    except FhirInputError as error:  # names the JSON pointer in the prefetch's Bundle and the field, never a value
        return _json_error(422, f"the prefetch cannot be read as FHIR: {error.reason}")
    except (InputError, PatientModelError) as error:
        return _json_error(422, f"the prefetch cannot be assessed: {type(error).__name__}")
    if assessment is None or assessment.verdict == OUT_OF_SCOPE:
        reason = assessment.out_of_scope if assessment is not None else None
        return JSONResponse({"cards": out_of_scope_card(service.treatment, reason or "no recorded disease of this treatment")})
    config: ServiceConfig = request.app.state.config
    token = request.app.state.reports.put(LazyReport(partial(_report_html, assessment, graph)))  # rendered when followed
    base = request.app.state.base_url or _server_url(request.scope)
    url = f"{base}{request.app.url_path_for('report', token=token)}" if base else None
    return JSONResponse({"cards": cards_for(assessment, url, ttl_minutes=round(config.report_ttl / 60))})


def _server_url(scope: Scope) -> str | None:
    """``http://host:port`` of the address the connection reached on this server (the ASGI ``server``,
    from the socket), with the server's root path; never the ``Host`` header, which the client writes.
    None when the server gives no address and port (a Unix socket)."""
    server = scope.get("server")
    if not server or len(server) != 2 or server[1] is None:
        return None
    host, port = server
    scheme = "https" if scope.get("scheme") == "https" else "http"
    host = f"[{host}]" if ":" in str(host) else str(host)
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{host}{'' if port == default else f':{port}'}{scope.get('root_path', '')}"


_URL_FORBIDDEN = set(' <>"{}|\\^`')
_LOOKALIKE_DOTS = "\u3002\uff0e\uff61"  # full stops a browser reads as "." in a host name
_HOST_CHARS = re.compile(r"[a-z0-9._~-]+")  # RFC 3986 unreserved (a reg-name after IDNA encoding, an IPv4 address)
_BRACKETED = re.compile(r"\[[0-9A-Fa-f:.]+\](?::[0-9]*)?")
_PATH = re.compile(r"(?:[A-Za-z0-9._~!$&'()*+,;=:@/-]|%[0-9A-Fa-f]{2})*")  # RFC 3986 path-abempty


def _host(name: str, netloc: str, given: str) -> str:
    """The host ``name`` of a base URL (``netloc``: its authority) as it goes in a URL: IDNA-encoded
    (``xn--``), or an IPv6 address in brackets."""
    import ipaddress

    if ":" in name:  # an IPv6 address; urlsplit reads "[::1]]" as ::1, and keeps a zone ("%25eth0")
        if not _BRACKETED.fullmatch(netloc):
            raise InputError(f"{given} has a host that is not an IPv6 address in brackets")
        try:
            ipaddress.IPv6Address(name)
        except ValueError:
            raise InputError(f"{given} has a host that is not an IPv6 address in brackets") from None
        return f"[{name}]"
    if any(dot in name for dot in _LOOKALIKE_DOTS):
        raise InputError(f"{given} has a host with an ideographic or full-width full stop: write the host's dots as '.'")
    try:
        encoded = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InputError(f"{given} has a host that is not a valid domain name (an empty or over-long label, or "
                         "characters a domain name cannot hold)") from None
    if not _HOST_CHARS.fullmatch(encoded):
        raise InputError(f"{given} has a host with characters a domain name cannot hold (letters, digits, '-' and '.')")
    return encoded


def check_base_url(url: Any, given: str = "base_url") -> str:
    """``url`` checked as the service's public base URL and returned without a trailing ``/``.

    It must be an absolute ``http``/``https`` URL with a host and no user name or password,
    query (``?``) or fragment (``#``); a path (a proxy's prefix) is kept. A non-ASCII host is
    returned IDNA-encoded (``https://bücher.example`` gives ``https://xn--bcher-kva.example``); the
    rest must be ASCII from the characters RFC 3986 allows (percent-encode the others in a path), and
    a port from 1 to 65535. Raises :class:`~npc_kg.errors.InputError` naming ``given``
    (``--base-url`` on the command line).
    """
    from urllib.parse import urlsplit, urlunsplit

    example = "such as https://cds.example.org/npc-kg"
    if not isinstance(url, str) or not url:
        raise InputError(f"{given} must be an http or https URL, {example}")
    if any(ord(char) < 33 or ord(char) == 127 or char in _URL_FORBIDDEN
           or unicodedata.category(char)[0] in "CZ" for char in url):  # C1 controls, U+00A0, U+200B, U+2028, ...
        raise InputError(f"{given} must be a URL without spaces, control characters or any of <>\"{{}}|\\^`")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:  # an unclosed or bad IPv6 bracket, a character NFKC makes a "/" (urlsplit's own checks)
        raise InputError(f"{given} is not a URL that can be read: check its host (an IPv6 address "
                         "in brackets, no full-width characters)") from None
    try:
        port = parts.port
    except ValueError:
        raise InputError(f"{given} has a port that is not a number from 1 to 65535: {url!r}") from None
    if "@" in parts.netloc:
        raise InputError(f"{given} must not hold a user name or password")  # the value is not repeated: it holds one
    if parts.scheme.lower() not in ("http", "https") or not hostname:
        raise InputError(f"{given} must be an http or https URL with a host, {example}, not {url!r}")
    if "?" in url or "#" in url:
        raise InputError(f"{given} must not have a query (?) or a fragment (#): {url!r}; give the URL the "
                         "service is reached at, with its path prefix if a proxy adds one")
    if port == 0:
        raise InputError(f"{given} has a port that is not a number from 1 to 65535: {url!r}")
    host = _host(hostname, parts.netloc, given)
    netloc = host if port is None else f"{host}:{port}"
    if not _PATH.fullmatch(parts.path):
        raise InputError(f"{given} has a path with characters a URL cannot hold: percent-encode them (RFC 3986)")
    return urlunsplit((parts.scheme.lower(), netloc, parts.path.rstrip("/"), "", ""))


# ---------------------------------------------------------------------------------------------
# Reports and the form
# ---------------------------------------------------------------------------------------------


async def report(request: Request) -> Response:
    """``GET /reports/{token}``: a stored report, until it expires."""
    stored = request.app.state.reports.get(request.path_params["token"])
    if stored is None:
        return _json_error(404, "no such report: it expired or never existed")
    html = stored if isinstance(stored, str) else await _run(request, stored)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


async def index(request: Request) -> Response:
    """``GET /``: the upload form."""
    from npc_kg import __version__
    from npc_kg.assessment.html import DISCLAIMER, environment, stylesheet

    page = environment().get_template("index.html.j2").render(
        css=stylesheet(), version=__version__, disclaimer=DISCLAIMER, max_kib=request.app.state.config.max_body // 1024,
        treatments=[(s.treatment, s.title) for s in request.app.state.services.values() if s.hook == "patient-view"],
    )
    return HTMLResponse(page)


def _assess_text(text: str, fmt: str, treatment: str | None, mapping: Any) -> str:
    from npc_kg.assessment.output import report as render_report
    from npc_kg.rdfio import parse_text

    if fmt == "fhir":  # read by the FHIR reader with the service's mapping (the site's files included)
        from npc_kg.fhir.detect import is_fhir_json

        try:
            doc = json.loads(text)  # the text itself, never a file name: the service reads no file a caller names
        except ValueError:
            doc = None
        except RecursionError:
            raise InputError("the text is JSON nested too deeply to be FHIR R4") from None
        if not is_fhir_json(doc):
            raise InputError("the text is not FHIR R4 JSON: give a Bundle or a resource with a resourceType")
        return render_report([doc], "html", treatment, mapping=mapping)
    graph = parse_text(text, fmt)
    return render_report([graph], "html", treatment)


async def assess_form(request: Request) -> Response:
    """``POST /report``: the HTML report of an uploaded or pasted patient (Turtle, JSON-LD or FHIR R4 JSON)."""
    form = await request.form(max_files=1, max_fields=8)
    text = str(form.get("patient") or "")
    upload = form.get("file")
    if upload is not None and not isinstance(upload, str):
        data = await upload.read()
        if data:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                return _json_error(400, "the uploaded file is not UTF-8 text")
    if not text.strip():
        return _json_error(400, "no patient: paste one or choose a file")
    fmt = str(form.get("format") or "turtle")
    if fmt not in ("turtle", "json-ld", "fhir"):
        return _json_error(400, "format must be turtle, json-ld or fhir")
    treatment = str(form.get("treatment") or "") or None
    if treatment is not None and treatment not in {s.treatment for s in request.app.state.services.values()}:
        return _json_error(400, "unknown treatment")
    try:
        html = await _run(request, _assess_text, text, fmt, treatment, request.app.state.fhir_mapping)
    except PatientModelError as error:
        return JSONResponse({"error": str(error), "errors": error.errors, "status": 422}, status_code=422)
    except InputError as error:
        return _json_error(400, str(error))
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


# ---------------------------------------------------------------------------------------------
# SPARQL
# ---------------------------------------------------------------------------------------------


async def sparql(request: Request) -> Response:
    """``GET``/``HEAD``/``POST /sparql``: the SPARQL 1.1 Protocol query operation, read-only.

    ``HEAD`` is ``GET`` without the body (the server sends the headers only). The protocol takes
    exactly one ``query`` parameter: two (in the URL, the form, or one in each, or one beside a
    direct POST body) are a 400.
    """
    params = request.query_params
    queries = params.getlist("query")
    names = set(params)  # the URL's parameters, and for a form POST the form's
    if request.method not in ("GET", "HEAD"):
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media == "application/sparql-query":
            try:
                body = (await request.body()).decode("utf-8")
            except UnicodeDecodeError:
                return _json_error(400, "the query is not UTF-8 text (SPARQL 1.1 Protocol: send UTF-8)")
            if body:
                queries.append(body)
            elif queries:
                return _json_error(400, "an application/sparql-query POST sends the query as its body, and the body "
                                        "is empty; send the 'query' parameter with GET or in a form")
        elif media == "application/x-www-form-urlencoded":
            form = await request.form()
            names.update(form.keys())
            queries += [value if isinstance(value, str) else "" for value in form.getlist("query")]
        elif media == "application/sparql-update":
            return _json_error(403, "SPARQL updates are refused: this endpoint is read-only")
        else:
            return _json_error(415, "send application/sparql-query or an application/x-www-form-urlencoded form")
    if "update" in names:
        return _json_error(403, "SPARQL updates are refused: this endpoint is read-only")
    if len(queries) > 1:
        return _json_error(400, f"{len(queries)} queries in one request: send exactly one (parameter 'query' or the body)")
    query = queries[0] if queries else ""
    if not query:
        return _json_error(400, "no query (parameter 'query')")
    if "default-graph-uri" in names or "named-graph-uri" in names:
        return _json_error(400, "default-graph-uri and named-graph-uri are not supported: one graph, the knowledge graph")
    slots: anyio.CapacityLimiter = request.app.state.sparql_slots
    try:
        slots.acquire_nowait()  # each query runs in a process of its own: no more of them than the cores
    except anyio.WouldBlock:
        response = _json_error(503, f"the SPARQL endpoint is busy (at most {slots.total_tokens:g} queries at "
                                    "once): try again shortly")
        response.headers["Retry-After"] = "1"
        return response
    try:
        config: ServiceConfig = request.app.state.config
        result = await _run(request, answer, query, request.headers.get("accept"), config.timeout,
                            request.app.state.max_query_bytes)
    except SparqlRefused as error:
        return _json_error(error.status, str(error))
    finally:
        slots.release()  # past --timeout too: the query's process is stopped at the same timeout
    return Response(result.body, media_type=result.media_type)


# ---------------------------------------------------------------------------------------------
# The app
# ---------------------------------------------------------------------------------------------


async def _http_error(request: Request, error: Exception) -> Response:
    status = error.status_code if isinstance(error, HTTPException) else 500
    detail = error.detail if isinstance(error, HTTPException) else "internal error"
    response = _json_error(status, str(detail))
    if isinstance(error, HTTPException) and error.headers:  # 405's Allow (RFC 9110 requires it)
        response.headers.update(error.headers)
    return response


async def _internal_error(request: Request, error: Exception) -> Response:
    LOG.error("internal error: %s", type(error).__name__)  # never the message: it may quote input
    return _json_error(500, "internal error")


async def _npc_error(request: Request, error: Exception) -> Response:
    if isinstance(error, InputError):  # names the input, line and field, never a value
        return _json_error(400, str(error))
    if isinstance(error, PatientModelError):
        return _json_error(422, str(error))
    LOG.error("error: %s", type(error).__name__)
    return _json_error(500, type(error).__name__)


def _cpus() -> int:
    """The CPUs this process may run on (its affinity where the system says, else all)."""
    import os

    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)


def create_app(config: ServiceConfig | None = None) -> Starlette:
    """The ASGI application.

    Raises :class:`~npc_kg.errors.InputError` for a bad setting in ``config`` or in the
    environment (``NPC_KG_MAX_QUERY_BYTES``, read here once), or a site mapping that cannot be read."""
    from npc_kg.assessment.assess import fhir_mapping
    from npc_kg.service.cds import load_site_mappings

    config = config or ServiceConfig()
    base_url = check_base_url(config.base_url) if config.base_url is not None else None
    seconds(config.timeout, "timeout= (--timeout)", above_zero=True)  # 0 answered every request with 503
    seconds(config.report_ttl, "report_ttl= (--report-ttl)", above_zero=True)  # 0: every card link expired at once
    for name, unit in (("max_query_bytes", " of bytes"), ("max_sparql_queries", "")):
        value = getattr(config, name)
        if value is not None and (type(value) is not int or value < 1):
            raise InputError(f"{name} is a whole number{unit}, 1 or more, not {value!r}")
    query_bytes = current().max_query_bytes if config.max_query_bytes is None else config.max_query_bytes  # read once
    mappings = load_site_mappings(config.mappings)
    compiled = fhir_mapping(list(config.mappings))  # the shipped FHIR mapping and the site's, checked at start
    routes = [
        Route("/", index, methods=["GET"]),
        Route("/report", assess_form, methods=["POST"]),
        Route("/reports/{token}", report, methods=["GET"], name="report"),
        Route("/cds-services", cds_discovery, methods=["GET"]),
        Route("/cds-services/{service_id}", cds_service, methods=["POST"]),
        Route("/sparql", sparql, methods=["GET", "POST"]),
    ]
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        HTTPException: _http_error, NpcKgError: _npc_error, Exception: _internal_error,
    }
    app = Starlette(routes=routes, exception_handlers=handlers)  # type: ignore[arg-type]
    app.state.config = config
    app.state.base_url = base_url
    app.state.max_query_bytes = query_bytes
    app.state.sparql_slots = anyio.CapacityLimiter(config.max_sparql_queries or _cpus())
    app.state.reports = ReportStore(config.report_ttl, config.report_capacity)
    app.state.services = {s.id: s for s in services(mappings)}
    app.state.fhir_mapping = compiled
    app.state.discovery = discovery(mappings)
    app.add_middleware(LimitsMiddleware, max_body=config.max_body)  # type: ignore[arg-type]
    return app


def check_listen(host: str, port: int) -> None:
    """Raise :class:`InputError` if the service could not listen on ``host``:``port`` (not an address
    of this machine, a port in use, a port below 1024 without the right): said before uvicorn starts.

    Like uvicorn (asyncio), the host is usable if one of its addresses can be bound.
    """
    import socket

    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise InputError(f"--host {host!r} is not an address npc-kg can listen on "
                         f"({getattr(error, 'strerror', None) or error})") from None
    problem = ""
    for family, kind, proto, _name, address in found:
        try:
            with socket.socket(family, kind, proto) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: TIME_WAIT is free
                probe.bind(address)
            return
        except OSError as error:
            problem = problem or str(error.strerror or error)
    raise InputError(f"cannot listen on {host}:{port}: {problem}; choose another --port or --host, or stop what uses it")


def serve(host: str = "127.0.0.1", port: int = 8000, config: ServiceConfig | None = None) -> None:
    """Run the service with uvicorn (blocking). Binds to 127.0.0.1 unless told otherwise."""
    import uvicorn

    from npc_kg.sparql.bounded import arm_watchdog

    if config is not None and config.base_url is not None:
        check_base_url(config.base_url, "--base-url")  # said before anything starts
    check_listen(host, port)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    with arm_watchdog(False):  # a request past its time gets its own error; the server never ends for it
        uvicorn.run(create_app(config), host=host, port=port, access_log=False, server_header=False,
                    timeout_keep_alive=5, limit_concurrency=64, log_level="info")
