"""Run the benchmarks (``make bench``): every one at its default size, or one by name.

    python -m benchmarks.run                                   # every one, in this order
    python -m benchmarks.run analytics --events 10000000       # one; the options are its own
    python -m benchmarks.run import --rows 1000000
"""

import sys
from collections.abc import Callable

from benchmarks import (
    analytics_speed,
    attribution_speed,
    clv_speed,
    import_speed,
    spark_speed,
    voice_speed,
)

BENCHMARKS: dict[str, Callable[[], None]] = {
    "import": import_speed.main,
    "analytics": analytics_speed.main,
    "attribution": attribution_speed.main,
    "clv": clv_speed.main,
    "voice": voice_speed.main,
    "spark": spark_speed.main,
}


def main(argv: list[str]) -> None:
    if argv and argv[0] not in BENCHMARKS:
        sys.exit(f"unknown benchmark {argv[0]!r}; benchmarks: {', '.join(BENCHMARKS)}")
    chosen = [argv[0]] if argv else list(BENCHMARKS)
    for name in chosen:
        # each benchmark parses sys.argv itself; give it only its own options
        sys.argv = [f"benchmarks.run {name}", *argv[1:]]
        BENCHMARKS[name]()


if __name__ == "__main__":
    main(sys.argv[1:])
