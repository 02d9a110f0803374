import sys

from headroom_runtime.worker import main

sys.exit(main())
