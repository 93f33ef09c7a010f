from collections.abc import Callable
from datetime import date
from typing import Any

from countries.selectors import country_get_referenced
from countries.services import country_must_exist
from patients.models import Patient
from patients.selectors import patient_get
from scheduler.db import (
    Transaction,
    apply_changes,
    create_record,
    delete_guarded,
    new_id,
    save_record,
)
from scheduler.security import audit
from scheduler.security.crypto import blind_index

OPTIONAL_FIELDS = ("age", "birth_date", "address", "email", "phone_number")

# Why a patient may not be deleted yet, asked of the apps that refer to patients (appointments adds
# its check in its AppConfig.ready), so that patients imports none of them: a guard takes the
# patient's id and returns the refusal's message, or None. They run in order; the first refusal stands.
DeleteGuard = Callable[[str], str | None]
patient_delete_guards: list[DeleteGuard] = []
# What other apps change in a patient's delete transaction (accounts deactivates the patient's login,
# registered in its AppConfig.ready): a hook takes the patient's id, reads what it needs, and returns a
# function that adds its items to the delete's transaction (or None). A lost race there is a
# VersionConflict: the delete is judged again on a fresh read, as often as the hooks need
# (a hook's `attempts`, see scheduler.db.hook_attempts).
DeleteHook = Callable[[str], Callable[[Transaction], None] | None]
patient_delete_hooks: list[DeleteHook] = []


def email_blind_index(email: str | None) -> str | None:
    return blind_index("patients.email", email)


def _stored_fields(fields: dict[str, Any]) -> dict[str, Any]:
    stored = dict(fields)
    if isinstance(stored.get("birth_date"), date):
        stored["birth_date"] = stored["birth_date"].isoformat()
    if "email" in stored:
        stored["email_index"] = email_blind_index(stored["email"])
    return stored


def patient_create(*, name: str, country_id: str, patient_id: str | None = None, **optional: Any) -> Patient:
    country_get_referenced(country_id=country_id)
    patient = Patient(patient_id or new_id(), **_stored_fields({"name": name, "country_id": country_id, **optional}))
    patient.touch()

    def also(tx: Transaction) -> None:
        country_must_exist(tx, country_id)
        audit.join(tx)

    create_record(patient, key=Patient.patient_id, kind="Patient", also=also)
    return patient


def patient_update(
    *, patient_id: str, changes: dict[str, Any], if_match: int | None, replace: bool, current: Patient | None = None
) -> Patient:
    """PATCH (`replace=False`) or PUT (`replace=True`, absent optional fields cleared)."""
    patient = current or patient_get(patient_id=patient_id)  # `current`: the record the view checked
    if replace:
        for name in OPTIONAL_FIELDS:
            changes.setdefault(name, None)
    country_changed = "country_id" in changes and changes["country_id"] != patient.country_id
    if country_changed:
        country_get_referenced(country_id=changes["country_id"])
    apply_changes(patient, _stored_fields(changes), if_match=if_match)

    def also(tx: Transaction) -> None:
        if country_changed:
            country_must_exist(tx, patient.country_id)
        audit.join(tx)

    save_record(patient, if_match=if_match, also=also)
    return patient


def patient_delete(*, patient_id: str, if_match: int | None, current: Patient | None = None) -> None:
    # `current`: the record the view checked. A hook's items may lose more races than the record's
    # (a login's user item, to its sign-ins): delete_guarded retries as often as the hooks need.
    delete_guarded(
        lambda: patient_get(patient_id=patient_id),
        patient_id,
        if_match=if_match,
        current=current,
        guards=patient_delete_guards,
        hooks=patient_delete_hooks,
        also=audit.join,
    )
