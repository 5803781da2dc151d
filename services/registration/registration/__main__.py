"""``python -m registration``: run the registration service."""
from bimtek_shared.service_main import main

main("registration.service:RegistrationService", "registration.settings:RegistrationSettings")
