"""Give users created before the one-login-per-record locks existed their lock (idempotent)."""

from django.core.management.base import BaseCommand
from pynamodb.exceptions import PutError

from accounts import links
from accounts.models import User
from scheduler.db.locks import Lock


class Command(BaseCommand):
    help = (
        "Take the one-login-per-record lock for every user linked to a doctor or patient that has none "
        "(users created before the locks). Run it once after upgrading; safe to run again. A record that "
        "has two logins is reported: deactivate or relink one, then run it again."
    )

    def handle(self, *args, **options):
        counts = {"linked": 0, "kept": 0, "duplicate": 0}
        for user in User.scan():
            for key, (kind, record_id) in links.link_keys(user).items():
                try:
                    Lock(key, owner=user.username).save(
                        condition=Lock.slot_key.does_not_exist() | (Lock.owner == user.username)
                    )
                    counts["linked"] += 1
                except PutError:
                    if links.owner_of(key) == user.username:
                        counts["kept"] += 1
                        continue
                    counts["duplicate"] += 1
                    self.stdout.write(
                        self.style.WARNING(f"{kind} {record_id}: user '{user.username}' is a second login")
                    )
        self.stdout.write(", ".join(f"{count} {name}" for name, count in counts.items()))
