"""SmartWorker's demo application: a ``login`` handler with a planted bug and ``hazard`` scenarios.

This tree is the default APP_ROOT_DIR, so the AI layer reads and patches these files (in a sandbox
copy; the originals are never changed).
"""

from smartworker import registry
from swdemo import hazard, login

registry.register("login", login.handle)
registry.register("hazard", hazard.handle, hazard=True)
