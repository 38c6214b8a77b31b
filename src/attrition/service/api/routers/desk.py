"""The manager's desk at /desk: look an employee up, see the score and why, record a decision.

Server-rendered (Jinja2, no script at all), so it works offline and in clusters without egress like
/docs. A manager signs in through the OpenID provider (authorization code with PKCE, when
ATTRITION_OIDC_CLIENT_ID is set) or by pasting a token (a development token from `attrition token`);
the token is kept in an HttpOnly, SameSite=Lax cookie scoped to /desk and verified on every request
like a bearer token, so scopes decide what the page offers: attrition:predict to look, and
attrition:decide to record. A look-up calls the same core functions as POST /predict (and is
audited the same way: its prediction_id is what the decision cites); a decision goes through the same
core function as POST /decisions.

Employee ids travel only in POST bodies (never in a URL, so never in an access or proxy log), every
form carries a CSRF token bound to the session, and every page is sent `no-store` with a strict
content security policy (no scripts, no frames, forms only to this service).
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError

from attrition.audit.decisions import ACTIONS
from attrition.audit.errors import AuditInputError, AuditUnavailableError, PredictionNotFoundError
from attrition.service.api.deps import Runtime
from attrition.service.core import desk
from attrition.service.core.decisions import record_manager_decision
from attrition.service.core.oidc import ProviderError
from attrition.service.core.online_features import LookupRefusedError, resolve_features
from attrition.service.core.runtime import ServiceRuntime
from attrition.service.core.scoring import NoAnswerError, UnknownRoleError, check_roles, score_employees
from attrition.service.core.tokens import SCOPE_DECIDE, SCOPE_PREDICT, AuthError, Caller
from attrition.service.schemas import EmployeeFeatures

router = APIRouter(prefix="/desk", include_in_schema=False)
TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parents[2] / "templates")
STYLESHEET = (Path(__file__).resolve().parents[2] / "templates" / "desk.css").read_text(encoding="utf-8")
SESSION_COOKIE = "desk_session"
PRESESSION_COOKIE = "desk_presession"
FLOW_COOKIE = "desk_flow"
FLOW_TTL_S = 600
MAX_COOKIE_TOKEN = 3800  # a cookie holds about 4 KiB; longer tokens are refused at sign-in
_PROCESS_KEY = secrets.token_bytes(32)  # CSRF key when ATTRITION_DESK_SECRET is not set
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # no-referrer would make browsers send `Origin: null` on posts
}


class Desk:
    """One request's view of the desk: who is signed in (if anyone) and the form token to use."""

    def __init__(self, request: Request, runtime: ServiceRuntime) -> None:
        self.request = request
        self.runtime = runtime
        self.token = request.cookies.get(SESSION_COOKIE)
        self.presession = request.cookies.get(PRESESSION_COOKIE) or secrets.token_urlsafe(24)
        self.caller: Caller | None = None
        self.problem: str | None = None
        secret = runtime.settings.desk_secret
        self.key = secret.get_secret_value().encode() if secret is not None else _PROCESS_KEY

    async def sign_in_from_cookie(self) -> None:
        if self.token:
            try:
                self.caller = await self.runtime.verifier.verify_off_loop(self.token)
            except AuthError as error:
                self.token = None
                self.problem = f"Please sign in again: {error.message}."

    @property
    def binding(self) -> str:
        """What the CSRF token is bound to: the session's token, or the pre-session nonce."""
        return self.token if self.caller is not None and self.token else self.presession

    def csrf_ok(self, sent: str) -> bool:
        """A form's token matches, and a browser's Origin (when sent) names this very host (the scheme
        is not compared: behind a proxy that terminates TLS the service sees http)."""
        origin = self.request.headers.get("origin")
        same = origin is None or urlsplit(origin).netloc == self.request.headers.get("host", "")
        return same and desk.csrf_ok(self.key, self.binding, sent)

    def can(self, scope: str) -> bool:
        return self.caller is not None and scope in self.caller.scopes

    def page(self, status: int = 200, **context: Any) -> HTMLResponse:
        """desk.html with the session's state and `context`, sent with the desk's headers."""
        settings = self.runtime.settings
        values = {
            "caller": self.caller,
            "can_predict": self.can(SCOPE_PREDICT),
            "can_decide": self.can(SCOPE_DECIDE),
            "csrf": desk.csrf_token(self.key, self.binding),
            "oidc_login": settings.oidc_issuer is not None and settings.oidc_client_id is not None,
            "problem": self.problem,
            "actions": ACTIONS,
            "predict_scope": SCOPE_PREDICT,
            "decide_scope": SCOPE_DECIDE,
            **context,
        }
        response = TEMPLATES.TemplateResponse(self.request, "desk.html", values, status_code=status)
        self.finish(response)
        return response

    def finish(self, response: Response) -> None:
        """The desk's headers, and the pre-session cookie the sign-in form's token is bound to."""
        response.headers.update(HEADERS)
        if PRESESSION_COOKIE not in self.request.cookies:
            self._cookie(response, PRESESSION_COOKIE, self.presession, None)

    def _cookie(self, response: Response, name: str, value: str, max_age: int | None) -> None:
        secure = self.request.url.scheme == "https"
        response.set_cookie(
            name, value, max_age=max_age, path="/desk", secure=secure, httponly=True, samesite="lax"
        )

    def signed_in(self, token: str) -> RedirectResponse:
        """303 to the desk with the session cookie set (it lives as long as the token)."""
        response = RedirectResponse("/desk", status_code=303)
        # A browser-session cookie: the token's own `exp`, checked on every request, bounds it.
        self._cookie(response, SESSION_COOKIE, token, None)
        response.delete_cookie(FLOW_COOKIE, path="/desk")
        self.finish(response)
        return response


async def desk_view(request: Request, runtime: Runtime) -> Desk:
    """The desk for this request, signed in from its cookie when the token still verifies."""
    view = Desk(request, runtime)
    await view.sign_in_from_cookie()
    return view


DeskView = Annotated[Desk, Depends(desk_view)]


class TokenForm(BaseModel):
    """Sign-in with a token."""

    token: str = ""
    csrf: str = ""


class LookupForm(BaseModel):
    """Look an employee up (by id alone: the online feature store has the features)."""

    employee_id: str = ""
    csrf: str = ""


class DecisionForm(BaseModel):
    """Record an action and its (mandatory) reason for a prediction."""

    prediction_id: str = ""
    employee_id: str = ""
    action: str = ""
    reason: str = ""
    csrf: str = ""


class CsrfForm(BaseModel):
    """A form with nothing but its CSRF token (sign-out)."""

    csrf: str = ""


def _refused(view: Desk, scope: str) -> HTMLResponse:
    if view.caller is None:
        return view.page(401, error="Please sign in first.")
    return view.page(403, error=f"Your sign-in lacks the {scope} scope needed for this.")


@router.get("", response_class=HTMLResponse)
async def desk_home(view: DeskView) -> HTMLResponse:
    """The sign-in page, or the look-up form once signed in."""
    return view.page()


@router.get("/desk.css")
async def desk_css() -> Response:
    """The desk's only stylesheet (served here: no CDN, no build chain)."""
    return Response(STYLESHEET, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


@router.post("/token", response_class=HTMLResponse)
async def desk_token(view: DeskView, form: Annotated[TokenForm, Form()]) -> Response:
    """Sign in with a token the service accepts (development: `attrition token`)."""
    view.caller, view.token = None, None  # a new sign-in replaces any session
    if not view.csrf_ok(form.csrf):
        return view.page(403, error="The form expired; please try again.")
    token = form.token.strip()
    if len(token) > MAX_COOKIE_TOKEN:
        return view.page(400, error=f"That token is longer than {MAX_COOKIE_TOKEN} characters.")
    try:
        view.caller = await view.runtime.verifier.verify_off_loop(token)
    except AuthError as error:
        return view.page(401 if error.status != 503 else 503, error=f"Token refused: {error.message}.")
    return view.signed_in(token)


@router.get("/login")
async def desk_login(view: DeskView) -> Response:
    """Start the authorization code flow with PKCE at the OpenID provider."""
    settings, keys = view.runtime.settings, view.runtime.verifier.provider_keys
    if keys is None or settings.oidc_client_id is None:
        return view.page(404, error="Sign-in through an identity provider is not configured here.")
    try:
        metadata = await asyncio.to_thread(keys.metadata)
    except ProviderError:
        return view.page(503, error="The identity provider cannot be reached; please try again later.")
    if metadata.authorization_endpoint is None:
        return view.page(503, error="The identity provider publishes no authorization endpoint.")
    flow = desk.LoginFlow.start()
    url = desk.authorization_url(
        metadata.authorization_endpoint,
        client_id=settings.oidc_client_id,
        redirect_uri=str(view.request.url_for("desk_callback")),
        scope=settings.oidc_login_scopes,
        flow=flow,
    )
    response = RedirectResponse(url, status_code=302)
    view._cookie(response, FLOW_COOKIE, flow.cookie(), FLOW_TTL_S)
    view.finish(response)
    return response


@router.get("/callback", name="desk_callback")
async def desk_callback(view: DeskView, code: str = "", state: str = "", error: str = "") -> Response:
    """The provider sends the browser back here with a code; exchange it (with the PKCE verifier)."""
    flow = desk.LoginFlow.from_cookie(view.request.cookies.get(FLOW_COOKIE))
    if error:
        return view.page(401, error="The identity provider did not sign you in.")
    if flow is None or not code or not secrets.compare_digest(state, flow.state):
        return view.page(400, error="This sign-in is unknown or expired; please sign in again.")
    settings, keys = view.runtime.settings, view.runtime.verifier.provider_keys
    if keys is None or settings.oidc_client_id is None:
        return view.page(404, error="Sign-in through an identity provider is not configured here.")
    secret = settings.oidc_client_secret
    try:
        metadata = await asyncio.to_thread(keys.metadata)
        if metadata.token_endpoint is None:
            raise ProviderError("no token endpoint")
        token = await asyncio.to_thread(
            desk.exchange_code,
            metadata.token_endpoint,
            code=code,
            redirect_uri=str(view.request.url_for("desk_callback")),
            client_id=settings.oidc_client_id,
            client_secret=None if secret is None else secret.get_secret_value(),
            verifier=flow.verifier,
            timeout_s=settings.oidc_http_timeout_s,
        )
        view.caller = await view.runtime.verifier.verify_off_loop(token)
    except ProviderError:
        return view.page(503, error="The identity provider did not complete the sign-in; please retry.")
    except AuthError as refused:
        return view.page(401, error=f"The identity provider's token was refused: {refused.message}.")
    if len(token) > MAX_COOKIE_TOKEN:
        return view.page(400, error=f"The provider's token is longer than {MAX_COOKIE_TOKEN} characters.")
    view.token = token
    return view.signed_in(token)


@router.post("/logout")
async def desk_logout(view: DeskView, form: Annotated[CsrfForm, Form()]) -> Response:
    """Forget the session (the provider's own session is the provider's)."""
    if not view.csrf_ok(form.csrf):
        return view.page(403, error="The form expired; please try again.")
    response = RedirectResponse("/desk", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/desk")
    view.finish(response)
    return response


async def _decisions(runtime: ServiceRuntime, employee_id: str) -> list[dict[str, str]]:
    return await asyncio.to_thread(desk.decisions_about, runtime.audit.engine, employee_id)


@router.post("/lookup", response_class=HTMLResponse)
async def desk_lookup(view: DeskView, form: Annotated[LookupForm, Form()]) -> HTMLResponse:
    """Score one employee by id, as POST /predict does (audited), and list the decisions about them."""
    if not view.can(SCOPE_PREDICT):
        return _refused(view, SCOPE_PREDICT)
    if not view.csrf_ok(form.csrf):
        return view.page(403, error="The form expired; please try again.")
    try:
        employee = EmployeeFeatures.model_validate({"employee_id": form.employee_id.strip()})
    except ValidationError:
        return view.page(422, error="An employee id is letters, digits, '_' or '-' (at most 32).")
    runtime = view.runtime
    state = runtime.current
    assert view.caller is not None and employee.employee_id is not None
    try:
        resolved = resolve_features(
            [employee],
            runtime.online,
            configured=runtime.settings.online_features is not None,
            metrics=runtime.metrics,
            batch=False,
            look_up=state is not None,
        )
        if state is not None:
            check_roles(state, [employee], batch=False, resolved=resolved)
        [prediction] = await score_employees(
            state=state,
            scores=runtime.scores,
            load_error=runtime.load_error,
            audit=runtime.audit,
            metrics=runtime.metrics,
            caller=view.caller.subject,
            employees=[employee],
            endpoint="/desk/lookup",
            resolved=resolved,
        )
    except (LookupRefusedError, UnknownRoleError, NoAnswerError) as refused:
        return view.page(404, error=str(refused), employee_id=employee.employee_id)
    except AuditUnavailableError:
        return view.page(503, error="The audit store cannot record a look-up now; please retry shortly.")
    answer = prediction.model_dump(mode="json")
    return view.page(
        prediction=answer,
        reasons=_reasons(answer),
        employee_id=employee.employee_id,
        decisions=await _decisions(runtime, employee.employee_id),
    )


def _reasons(answer: dict[str, Any]) -> Any:
    """The answer's reasons, wherever the scoring core puts them (top level, or in its explanation);
    None when the package has no explanations. The template renders any shape."""
    explanation = answer.get("explanation")
    nested = explanation.get("reasons") if isinstance(explanation, dict) else None
    return answer.get("reasons") or nested or None


@router.post("/decide", response_class=HTMLResponse)
async def desk_decide(view: DeskView, form: Annotated[DecisionForm, Form()]) -> HTMLResponse:
    """Record a decision with its reason, as POST /decisions does, and list the employee's decisions."""
    if not view.can(SCOPE_DECIDE):
        return _refused(view, SCOPE_DECIDE)
    if not view.csrf_ok(form.csrf):
        return view.page(403, error="The form expired; please try again.")
    assert view.caller is not None
    employee_id = form.employee_id.strip() or None
    context: dict[str, Any] = {"employee_id": employee_id, "prediction_id": form.prediction_id}
    try:
        stored = await record_manager_decision(
            view.runtime.audit,
            prediction_id=form.prediction_id,
            action=form.action,
            reason=form.reason,
            decided_by=view.caller.subject,
            employee_id=employee_id,
        )
    except AuditInputError as invalid:
        return view.page(422, error=f"Decision not recorded ({invalid}).", form=form.model_dump(), **context)
    except PredictionNotFoundError:
        return view.page(
            404, error="That prediction is no longer in the audit store; look the employee up again."
        )
    except AuditUnavailableError:
        return view.page(503, error="The audit store cannot record the decision now; please retry shortly.")
    subject = stored.employee_id or employee_id
    decisions = await _decisions(view.runtime, subject) if subject else []
    return view.page(recorded=stored, decisions=decisions, **context)
