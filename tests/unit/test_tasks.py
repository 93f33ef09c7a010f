"""The tasks' own guards, before anything is sent (the pipeline against moto server is in
tests/integration/appointments/test_pipeline.py)."""

import pytest


def test_delay_guard_refuses_long_countdowns():
    from appointments.tasks import process_appointment

    with pytest.raises(ValueError, match="visibility timeout"):
        process_appointment.apply_async(kwargs={"appointment_id": "x", "country_code": "CL"}, countdown=3600)
