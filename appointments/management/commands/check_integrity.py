"""Check that appointments, their lock items, events and the pending queue agree; repair what is safe."""

from django.core.management.base import BaseCommand, CommandError

from appointments.integrity import SCAN_SEGMENTS, integrity_repair, integrity_report
from scheduler.progress import progress_bars


class Command(BaseCommand):
    help = (
        "Check every appointment's lock items (all there, owned by it, exactly what its time needs), every slot "
        "lock's owner, every event's appointment, and every pending appointment's place in the pending sweep. "
        "Prints counts and problems (ids and kinds only); exits non-zero when any problem remains. With --repair, "
        "deletes orphaned slot locks, puts back missing locks (never over another appointment's) and restores "
        "lost pending index keys, each a conditional write."
    )

    def add_arguments(self, parser):
        parser.add_argument("--repair", action="store_true", help="Fix what can be fixed safely; list the rest.")
        parser.add_argument("--segments", type=int, default=SCAN_SEGMENTS, help="Parallel Scan segments per table.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bars (logs, CI).")

    def handle(self, *args, repair: bool, segments: int, no_progress: bool, **options):
        report = integrity_report(segments=segments, progress=None if no_progress else progress_bars(self.stderr))
        for name, value in sorted(report.counts.items()):
            self.stdout.write(f"{name}: {value}")
        for problem in report.problems:
            self.stdout.write(f"problem: {problem}")
        remaining = report.problems
        if repair and report.problems:
            outcome = integrity_repair(report=report)
            for problem in outcome.repaired:
                self.stdout.write(f"repaired: {problem}")
            remaining = outcome.remaining
            for problem in remaining:
                self.stdout.write(f"not repaired: {problem}")
        if remaining:
            raise CommandError(f"{len(remaining)} integrity problem(s) remain; see the list above.")
        self.stdout.write(self.style.SUCCESS("integrity: repaired" if report.problems else "integrity: no problems"))
