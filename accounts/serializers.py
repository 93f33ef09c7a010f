from django.core.validators import RegexValidator
from rest_framework import serializers

from scheduler.api.serializers import IdField, ListParamsSerializer, RecordSerializer, StrictSerializer, TextField
from scheduler.security.roles import ROLES

USERNAME_PATTERN = r"^[A-Za-z0-9_.@+-]{3,150}$"


class UsernameField(TextField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 150)
        kwargs.setdefault("help_text", "3 to 150 characters: letters, digits and _ . @ + -")
        super().__init__(**kwargs)
        self.validators.append(
            RegexValidator(USERNAME_PATTERN, "Use 3 to 150 characters: letters, digits, '_', '.', '@', '+' or '-'.")
        )


class PasswordField(TextField):
    def __init__(self, **kwargs):
        kwargs.setdefault("write_only", True)
        kwargs.setdefault("max_length", 256)
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("style", {"input_type": "password"})
        super().__init__(**kwargs)


class UserSerializer(RecordSerializer):
    """A user as the API shows it: never the password or its hash."""

    username = UsernameField(read_only=True)
    role = serializers.ChoiceField(choices=ROLES, read_only=True)
    countryIds = serializers.SerializerMethodField()
    doctorId = IdField(source="doctor_id", read_only=True, allow_null=True)
    patientId = IdField(source="patient_id", read_only=True, allow_null=True)
    active = serializers.BooleanField(read_only=True)

    def get_countryIds(self, user) -> list[str]:
        return sorted(user.country_ids or ())


class UserCreateSerializer(StrictSerializer):
    username = UsernameField()
    password = PasswordField(help_text="At least 10 characters, not a common or all-numeric password.")
    role = serializers.ChoiceField(choices=ROLES)
    countryIds = serializers.ListField(
        child=IdField(), source="country_ids", required=False, max_length=100, help_text="Staff: their countries."
    )
    doctorId = IdField(source="doctor_id", required=False, allow_null=True, help_text="Doctor: the linked doctor.")
    patientId = IdField(source="patient_id", required=False, allow_null=True, help_text="Patient: the linked patient.")
    active = serializers.BooleanField(required=False, default=True)


class UserUpdateSerializer(StrictSerializer):
    ignored_keys = frozenset({"username", "createdAt", "updatedAt", "version"})

    password = PasswordField(required=False)
    role = serializers.ChoiceField(choices=ROLES, required=False)
    countryIds = serializers.ListField(child=IdField(), source="country_ids", required=False, allow_null=True)
    doctorId = IdField(source="doctor_id", required=False, allow_null=True)
    patientId = IdField(source="patient_id", required=False, allow_null=True)
    active = serializers.BooleanField(required=False)


class SignInSerializer(StrictSerializer):
    username = TextField(max_length=150)
    password = PasswordField(write_only=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    expiresAt = serializers.DateTimeField()
    user = UserSerializer()


class AuditEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    actor = serializers.CharField()
    role = serializers.CharField(allow_null=True)
    action = serializers.CharField()
    objectType = serializers.CharField(source="object_type")
    objectId = serializers.CharField(source="subject_id")
    objectIds = serializers.ListField(child=serializers.CharField(), source="object_ids", allow_null=True)
    outcome = serializers.CharField()
    requestId = serializers.CharField(source="request_id", allow_null=True)
    clientRequestId = serializers.CharField(source="client_request_id", allow_null=True)


class AuditListParams(ListParamsSerializer):
    objectId = TextField(source="object_id", required=False, max_length=200)
    actor = TextField(required=False, max_length=150)

    def validate(self, attrs):
        if bool(attrs.get("object_id")) == bool(attrs.get("actor")):
            raise serializers.ValidationError({"objectId": ["Give exactly one of objectId or actor."]})
        return attrs
