from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from accounts.views import AuditView, MeView, TokenView, UserViewSet, login_page, logout_page
from appointment_types.views import AppointmentTypeViewSet
from appointments.views import AppointmentViewSet, DoctorAvailabilityViewSet
from countries.views import CountryViewSet
from doctors.views import DoctorViewSet
from patients.views import PatientViewSet
from scheduler.views import ApiRoot, UnknownPath, health_live, health_ready


class OptionalSlashRouter(SimpleRouter):
    """The original service's routes had no trailing slash; accept both forms."""

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("countries", CountryViewSet, basename="country")
router.register("doctors", DoctorViewSet, basename="doctor")
router.register("doctors", DoctorAvailabilityViewSet, basename="doctor-availability")  # /doctors/{id}/availability
router.register("appointment-types", AppointmentTypeViewSet, basename="appointment-type")
router.register("patients", PatientViewSet, basename="patient")
router.register("appointments", AppointmentViewSet, basename="appointment")
router.register("users", UserViewSet, basename="user")

# The browsable API finds its sign-in and sign-out links under DRF's namespace.
browser_auth = (
    [path("auth/login", login_page, name="login"), path("auth/logout", logout_page, name="logout")],
    "rest_framework",
)

urlpatterns = [
    path("health/live", health_live, name="health-live"),
    path("health/ready", health_ready, name="health-ready"),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("auth/token", TokenView.as_view(), name="auth-token"),
    path("auth/me", MeView.as_view(), name="auth-me"),
    path("audit", AuditView.as_view(), name="audit"),
    path("", include(browser_auth)),
    path("", ApiRoot.as_view(), name="api-root"),
    path("", include(router.urls)),
    # Last: whatever no route matched (with DEBUG on too, where Django would show its debug page).
    re_path(r"^[\s\S]*$", UnknownPath.as_view(), name="unknown"),  # [\s\S]: a path may hold a newline
]

handler404 = "scheduler.views.not_found"
handler500 = "scheduler.views.server_error"
