"""The delete guards the apps above register into the apps below (in their AppConfig.ready): without
them a doctor, patient or country with upcoming appointments or members could be deleted silently,
so every process that sets Django up must have them."""

from countries.services import country_delete_guards
from doctors.services import doctor_delete_guards
from patients.services import patient_delete_guards


def test_every_delete_guard_is_registered_once_django_is_set_up():
    from appointment_types import guards as type_guards
    from appointment_types.services import appointment_type_delete_guards
    from appointments import guards as appointment_guards
    from doctors import guards as doctor_guards
    from patients import guards as patient_guards

    assert appointment_guards.doctor_delete_guard in doctor_delete_guards
    assert appointment_guards.patient_delete_guard in patient_delete_guards
    # Doctors are named before patients, as the single check named them before the guards, and
    # types last (INSTALLED_APPS order): a type cannot go before the doctors offering it.
    assert country_delete_guards == [
        doctor_guards.country_delete_guard,
        patient_guards.country_delete_guard,
        type_guards.country_delete_guard,
    ]
    # A doctor offering the type is named before upcoming appointments using it.
    assert appointment_type_delete_guards == [
        doctor_guards.appointment_type_delete_guard,
        appointment_guards.appointment_type_delete_guard,
    ]


def test_registering_again_adds_nothing():
    from appointments import guards

    before = (list(doctor_delete_guards), list(patient_delete_guards), list(country_delete_guards))
    guards.register()
    assert (doctor_delete_guards, patient_delete_guards, country_delete_guards) == before
