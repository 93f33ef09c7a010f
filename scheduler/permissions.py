"""The one permission layer: every view uses it through REST_FRAMEWORK's defaults.

Roles and object scoping (admin, staff, doctor, patient) arrive with the authentication issue and
belong here, not in views. Until then every caller may use every endpoint.
"""

from rest_framework.permissions import BasePermission


class IsAllowed(BasePermission):
    def has_permission(self, request, view) -> bool:
        return True

    def has_object_permission(self, request, view, obj) -> bool:
        return True
