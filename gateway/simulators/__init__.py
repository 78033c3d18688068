"""In-process simulators of the two upstream job APIs (DevRev and DocuRift).

They reproduce each API's paging, ordering, quirks and error bodies, plus
injectable faults, so the gateway can be tested and benchmarked offline.
"""

from .clock import SimClock
from .devrev import create_devrev_app
from .docurift import create_docurift_app
from .faults import FaultConfig, Faults
from .state import SimState, SimStats

__all__ = [
    "create_devrev_app",
    "create_docurift_app",
    "SimClock",
    "Faults",
    "FaultConfig",
    "SimState",
    "SimStats",
    "DEMO_DEVREV_TOKEN",
    "DEMO_DOCURIFT_KEY",
]

DEMO_DEVREV_TOKEN = "devrev-demo-token"
DEMO_DOCURIFT_KEY = "frc_" + "demo".ljust(32, "0")
