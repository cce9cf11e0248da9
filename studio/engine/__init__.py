"""Studio engine package."""

import os

# transformers prints torchvision fallback notices on import; Studio does not use its image
# processors. Errors still reach the log.
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
