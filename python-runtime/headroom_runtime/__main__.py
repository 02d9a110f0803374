import sys

from headroom_runtime.core.runtime import main
from headroom_runtime.jobs import JOBS

sys.exit(main(JOBS))
