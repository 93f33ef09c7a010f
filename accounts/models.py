"""Users, their API tokens and the failed-login counters, each in its own DynamoDB table."""

from pynamodb.attributes import BooleanAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from scheduler.db import RecordModel, register, table_meta


@register
class User(RecordModel):
    """A person who signs in. The username is unique because it is the key (a conditional put)."""

    class Meta(table_meta("users")):
        pass

    username = UnicodeAttribute(hash_key=True)
    role = UnicodeAttribute()
    country_ids = UnicodeSetAttribute(null=True, attr_name="countryIds")
    doctor_id = UnicodeAttribute(null=True, attr_name="doctorId")
    patient_id = UnicodeAttribute(null=True, attr_name="patientId")
    active = BooleanAttribute(default=True)
    # Django's hasher format (`argon2$...`), never the password.
    password_hash = UnicodeAttribute(attr_name="passwordHash")
    # The user's tokens, "<tokenHash>:<expiry epoch>", so that a change of its scope deletes them in
    # its own transaction (no index to wait for). Never shown; see UserTokens.
    token_entries = UnicodeSetAttribute(null=True, attr_name="tokens")
    # Tokens issued so far. Every write of the user is conditional on the count it read, so that a
    # token issued after that read makes the write lose its race (and read again) instead of escaping it.
    sign_ins = NumberAttribute(default=0, attr_name="signIns")


class UserTokens(Model):
    """The users table seen by the token paths (sign-in, sign-out): the same items as `User`, without
    its version attribute, so that adding or removing a token entry changes neither `version` nor
    `updatedAt` (a user's ETag stays). Not registered: `User` owns the table."""

    class Meta(table_meta("users")):
        pass

    username = UnicodeAttribute(hash_key=True)
    version = NumberAttribute(null=True)
    active = BooleanAttribute(null=True)
    token_entries = UnicodeSetAttribute(null=True, attr_name="tokens")
    sign_ins = NumberAttribute(null=True, attr_name="signIns")


class ByUserIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "byUser"
        projection = KeysOnlyProjection()

    username = UnicodeAttribute(hash_key=True)


@register
class Token(Model):
    """An API token, stored only as its SHA-256. It carries its user's role and scope, so one read
    authenticates a request; a change to the user revokes the user's tokens."""

    class Meta(table_meta("tokens")):
        pass

    token_hash = UnicodeAttribute(hash_key=True, attr_name="tokenHash")
    username = UnicodeAttribute()
    role = UnicodeAttribute()
    country_ids = UnicodeSetAttribute(null=True, attr_name="countryIds")
    doctor_id = UnicodeAttribute(null=True, attr_name="doctorId")
    patient_id = UnicodeAttribute(null=True, attr_name="patientId")
    created_at = NumberAttribute(attr_name="createdAt")
    # Set on every token issued with its entry on the user item (so a change of the user deletes it in
    # its own transaction); authentication refuses a token without it (one issued before that release).
    tracked = BooleanAttribute(null=True)
    # DynamoDB's TTL deletes expired tokens, late; every read checks the time as well.
    expires_at = TTLAttribute(attr_name="expiresAt")

    by_user = ByUserIndex()


@register
class LoginFailures(Model):
    """Failed sign-ins in one time window, counted in DynamoDB so that every API process sees the same
    count: per username and address, per address, per username; and correct sign-ins per username
    (accounts/signin_limits.py)."""

    class Meta(table_meta("logins")):
        pass

    counter_key = UnicodeAttribute(hash_key=True, attr_name="counterKey")
    failures = NumberAttribute(default=0)
    # A `success#` counter: the correct sign-ins of one account in one minute.
    successes = NumberAttribute(null=True)
    # An account's counter: when its next attempt may be checked (epoch seconds), once it is slowed.
    not_before = NumberAttribute(null=True, attr_name="notBefore")
    expires_at = TTLAttribute(attr_name="expiresAt")
