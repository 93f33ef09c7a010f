from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed, Throttled, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.authentication import SESSION_TOKEN_KEY, BearerTokenAuthentication
from accounts.models import User
from accounts.serializers import (
    AuditEntrySerializer,
    AuditListParams,
    SignInSerializer,
    TokenSerializer,
    UserCreateSerializer,
    UserSerializer,
    UserUpdateSerializer,
)
from scheduler.api.views import AuditedView, EnvelopeSchema, RecordViewSet, page_of, paginated_response
from scheduler.exceptions import ApplicationError
from scheduler.security import audit
from scheduler.security.permissions import ALL, CREATE, LIST, READ, OneOf, denied
from scheduler.security.roles import ADMIN, DOCTOR, PATIENT, ROLES, STAFF


def client_address(request) -> str:
    """The client's address as DRF's throttles see it: X-Forwarded-For is trusted only as far as
    NUM_PROXIES says, so a client cannot reset its own limit by sending one."""
    return BaseThrottle().get_ident(request) or "unknown"


class UserViewSet(RecordViewSet):
    """Users who sign in: admins, staff (per country), doctors and patients."""

    access_kind = "user"
    role_actions = {ADMIN: ALL, STAFF: frozenset({CREATE})}
    # Staff create doctor and patient users of their own countries.
    role_fields = {
        STAFF: {"role": OneOf(frozenset({DOCTOR, PATIENT}), "Staff may create doctor and patient users only.")}
    }
    staff_references = {
        "doctor_id": lambda key: denied("doctorId", "That record is outside your countries."),
        "patient_id": lambda key: denied("patientId", "That record is outside your countries."),
    }
    audited_reads = True
    record_model = User
    serializer_class = UserSerializer
    input_serializer_classes = {"create": UserCreateSerializer, "partial_update": UserUpdateSerializer}
    lookup_field = "username"
    lookup_value_regex = r"[A-Za-z0-9_.@+-]{3,150}"
    location_prefix = "/users"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_record(self, record_id):
        return selectors.user_get(username=record_id)

    def list_records(self, params):
        return selectors.user_list(**params)

    def create_record(self, data):
        def linked() -> dict[str, str | None]:  # read only when the policy asks (staff)
            name = "doctor_id" if data.get("doctor_id") else "patient_id"
            return {name: services.linked_country(doctor_id=data.get("doctor_id"), patient_id=data.get("patient_id"))}

        self.check_references(data, linked)
        # A patient login staff make reaches only its patient's country (admins' logins are not confined).
        return services.user_create(**data, confined=self.request.user.role == STAFF)

    def update_record(self, record_id, data, *, if_match, replace, current):
        return services.user_update(username=record_id, changes=data, if_match=if_match, current=current)

    def delete_record(self, record_id, *, if_match, current):
        services.user_deactivate(username=record_id, if_match=if_match, current=current)

    def id_source(self) -> str:
        return "username"


class TokenView(AuditedView, APIView):
    """Sign in (POST: a token for a username and password) and sign out (DELETE: revoke this token)."""

    throttle_classes: list = []  # failed sign-ins have their own limit, kept in DynamoDB

    def _signing_in(self) -> bool:
        request = getattr(self, "request", None)  # None while the OpenAPI schema is generated
        return request is not None and request.method == "POST"

    def get_permissions(self):
        return [] if self._signing_in() else super().get_permissions()

    def get_authenticators(self):
        # Signing in needs no credentials: a stale token in the header must not stop it.
        return [] if self._signing_in() else super().get_authenticators()

    def get_authenticate_header(self, request) -> str:
        return BearerTokenAuthentication().authenticate_header(request)  # so a failed sign-in is a 401

    @extend_schema(request=SignInSerializer, responses={201: TokenSerializer}, auth=[])
    def post(self, request: Request) -> Response:
        body = SignInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        issued = services.token_login(**body.validated_data, client_address=client_address(request))
        payload = {"token": issued.raw, "expiresAt": issued.token.expires_at, "user": issued.user}
        return Response(TokenSerializer(payload).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        if not request.user.is_authenticated:
            raise AuthenticationFailed("No token to revoke: send `Authorization: Bearer <token>`.")
        # The audit entry ("logout") commits with the revocation.
        services.token_revoke(token_hash=request.user.token_hash, username=request.user.username)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(AuditedView, APIView):
    """The signed-in user."""

    access_kind = "me"
    role_actions = {role: frozenset({READ}) for role in ROLES}
    read_actions = frozenset({"me"})
    action = "me"
    # It shows a user record, audited like GET /users/{username}.
    audited_reads, audited_type, audited_id_field = True, "user", "username"

    @extend_schema(responses=UserSerializer)
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(selectors.user_get(username=request.user.username)).data)


class AuditView(AuditedView, APIView):
    """The audit trail of one record (`objectId`) or one user (`actor`), newest first. Admins only."""

    access_kind = "audit"
    role_actions = {ADMIN: frozenset({LIST})}
    action = "list"
    schema = EnvelopeSchema()

    @extend_schema(parameters=[AuditListParams], responses=page_of(AuditEntrySerializer))
    def get(self, request: Request) -> Response:
        params = AuditListParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        page = audit.audit_list(**params.validated_data)
        return paginated_response(request, AuditEntrySerializer(page.items, many=True).data, page.next, view=self)


# --- The browsable API's sign-in page (Django views, CSRF-protected by CsrfViewMiddleware) ------------


def _safe_next(request, target: str | None) -> str:
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if target and allowed else "/appointments"


@never_cache
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
def login_page(request):
    target = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    form = {"username": {"label": "Username", "value": ""}, "password": {"label": "Password"}, "non_field_errors": []}
    status_code = 200
    if request.method == "POST":
        form["username"]["value"] = request.POST.get("username", "")[:150]
        body = SignInSerializer(
            data={"username": request.POST.get("username", ""), "password": request.POST.get("password", "")}
        )
        try:
            body.is_valid(raise_exception=True)
            issued = services.token_login(**body.validated_data, client_address=client_address(request))
        except (AuthenticationFailed, ValidationError):
            form["non_field_errors"] = [services.BAD_CREDENTIALS]
            status_code = 400
        except Throttled as exc:
            reason = str(exc.detail).split(";")[0]  # failed sign-ins, or sign-ins to this account
            form["non_field_errors"] = [f"{reason}; try again in {int(exc.wait or 60)} seconds."]
            status_code = 429
        except ApplicationError as exc:  # a sign-in that kept losing races (409), the database busy (503)
            form["non_field_errors"] = [f"{exc.message} Sign in again."]
            status_code = exc.status_code
        else:
            request.session.cycle_key()
            request.session[SESSION_TOKEN_KEY] = issued.raw
            return HttpResponseRedirect(target)
    return render(request, "accounts/login.html", {"form": form, "next": target}, status=status_code)


@csrf_protect
@require_http_methods(["POST"])
def logout_page(request):
    raw = request.session.get(SESSION_TOKEN_KEY)
    principal = selectors.principal_for_token(raw) if raw else None
    if principal is not None:  # an expired or revoked token has nothing left to revoke
        actor = audit.Actor(principal.username, principal.role, getattr(request, "request_id", None))
        services.token_revoke(token_hash=principal.token_hash or "", username=principal.username, actor=actor)
    request.session.flush()
    return HttpResponseRedirect("/auth/login")
