"""``python -m headroom_runtime.doctor``: the doctor's facts for every registered job, one JSON line."""

import json

from headroom_runtime.core.doctor import facts
from headroom_runtime.jobs import JOBS

if __name__ == "__main__":
    print(json.dumps(facts(JOBS)))
