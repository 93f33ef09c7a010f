"""Re-encrypt every protected value under the active key, bound to its record (`enc:v2:`), and
recompute the e-mail blind index. A record that does not decrypt is reported and skipped."""

from django.core.management.base import BaseCommand, CommandError

from appointments.models import Appointment
from patients.models import Patient
from patients.services import email_blind_index
from scheduler.db import save_record, scan_raw
from scheduler.exceptions import ApplicationError
from scheduler.progress import progress_bars
from scheduler.security import audit
from scheduler.security.crypto import is_current, keyring

# Who the audit trail names for each rewrite.
ACTOR = audit.Actor("rotate_keys", None, None)
OBJECT_TYPES = {Patient: "patient", Appointment: "appointment"}


class Command(BaseCommand):
    help = (
        "Re-encrypt patients' and appointments' protected fields under the active key of FIELD_ENCRYPTION_KEYS "
        "(the first), bound to their record (enc:v2:), and recompute the e-mail blind index under EMAIL_INDEX_KEY. "
        "Old enc:v1: and unencrypted values are rewritten only while FIELD_ENCRYPTION_ACCEPT_LEGACY is on. Safe to "
        "run again and to stop: each record is rewritten on its own, conditional on its version, with an audit "
        "entry. A record that does not decrypt (or changed meanwhile) is reported and skipped, and the command then "
        "exits non-zero. Old keys can be dropped once a run skips nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-progress", action="store_true", help="No progress bar (logs, CI).")

    def handle(self, *args, no_progress: bool, **options):
        active = keyring().active_id
        self.stdout.write(f"Active key: {active}")
        skipped = 0
        for model in (Patient, Appointment):
            rewritten, skipped_here = self._rotate(model, active, no_progress)
            skipped += skipped_here
            summary = f"{model.__name__}: {rewritten} re-encrypted" + (
                f", {skipped_here} skipped" if skipped_here else ""
            )
            self.stdout.write(self.style.SUCCESS(summary) if not skipped_here else self.style.WARNING(summary))
        if skipped:
            raise CommandError(
                f"{skipped} record{'s' if skipped != 1 else ''} skipped (listed above): restore the key or the value, "
                "or wait for the concurrent change, and run rotate_keys again before dropping an old key."
            )

    def _rotate(self, model, active: str, no_progress: bool) -> tuple[int, int]:
        attributes = model.get_attributes()
        raw_names = [attributes[name].attr_name for name in model.ENCRYPTED]
        total = model.count()
        rewritten = skipped = 0
        bar = progress_bars(self.stderr, disable=no_progress)(model.__name__, total)
        for raw in scan_raw(model.Meta.table_name, page_size=200):
            bar.update(1)
            # Every record is decrypted, even one with nothing to rewrite: a value under the active key
            # that was altered or copied from another record is reported too, not passed over.
            record = model.from_raw_data(raw)
            if record.undecryptable_fields:
                self._report(
                    record, ", ".join(f"{name}: {v.reason}" for name, v in record.undecryptable_reasons().items())
                )
                skipped += 1
                continue
            stale = [name for name in raw_names if "S" in raw.get(name, {}) and not is_current(raw[name]["S"], active)]
            if not stale and not (isinstance(record, Patient) and self._index_stale(raw, record)):
                continue
            if self._rewrite(record):
                rewritten += 1
            else:
                skipped += 1
        bar.close()
        return rewritten, skipped

    def _index_stale(self, raw: dict, patient: Patient) -> bool:
        if "email" not in raw:
            return False
        return raw.get("emailIndex", {}).get("S") != email_blind_index(patient.email)

    def _rewrite(self, record) -> bool:
        if isinstance(record, Patient):
            record.email_index = email_blind_index(record.email)
        record_id = getattr(record, record._hash_keyname)
        pending = audit.PendingWrite(audit.UPDATE, OBJECT_TYPES[type(record)], type(record), record_id)
        # Saving serializes every encrypted attribute again, under the active key and bound to the
        # record; the version condition makes a concurrent change win (the next run picks the record
        # up again); the audit entry commits in the same transaction.
        try:
            with audit.acting(ACTOR, pending):
                save_record(record, if_match=None, also=audit.join)
        except Exception as exc:  # noqa: BLE001 - one record must not stop the rotation
            why = exc.message if isinstance(exc, ApplicationError) else type(exc).__name__
            self._report(record, f"not rewritten ({why})")
            return False
        return True

    def _report(self, record, why: str) -> None:
        self.stderr.write(f"skipped {type(record).__name__} {getattr(record, record._hash_keyname)}: {why}")
