"""``python -m scheduling``: run the scheduling service."""
from bimtek_shared.service_main import main

main("scheduling.service:SchedulingService", "scheduling.settings:SchedulingSettings")
