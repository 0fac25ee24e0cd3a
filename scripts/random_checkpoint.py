"""Write a seeded random checkpoint of a catalog Spleeter model (``builder/random_weights.py``).

.venv/bin/python scripts/random_checkpoint.py spleeter-4stems .cache/random/spleeter-4stems/model
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from builder.random_weights import spleeter_checkpoint

if __name__ == "__main__":
    print(spleeter_checkpoint(sys.argv[1], Path(sys.argv[2])))
