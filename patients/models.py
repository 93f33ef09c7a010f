from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection

from scheduler.db import register, table_meta
from scheduler.security.crypto import EncryptedRecord, EncryptedUnicodeAttribute


class ByCountryIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "byCountry"
        projection = AllProjection()

    country_id = UnicodeAttribute(hash_key=True, attr_name="countryId")
    patient_id = UnicodeAttribute(range_key=True, attr_name="patientId")


class ByEmailIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "byEmail"
        projection = KeysOnlyProjection()

    email_index = UnicodeAttribute(hash_key=True, attr_name="emailIndex")


@register
class Patient(EncryptedRecord):
    class Meta(table_meta("patients")):
        pass

    patient_id = UnicodeAttribute(hash_key=True, attr_name="patientId")
    # Personal data is encrypted before it leaves the process (scheduler/security/crypto.py).
    name = EncryptedUnicodeAttribute()
    country_id = UnicodeAttribute(attr_name="countryId")
    age = NumberAttribute(null=True)
    birth_date = EncryptedUnicodeAttribute(null=True, attr_name="birthDate")
    address = EncryptedUnicodeAttribute(null=True)
    email = EncryptedUnicodeAttribute(null=True)
    # Keyed hash of the e-mail: finds a patient by e-mail without indexing the address itself.
    email_index = UnicodeAttribute(null=True, attr_name="emailIndex")
    phone_number = EncryptedUnicodeAttribute(null=True, attr_name="phoneNumber")

    by_country = ByCountryIndex()
    by_email = ByEmailIndex()

    ENCRYPTED = ("name", "birth_date", "address", "email", "phone_number")
