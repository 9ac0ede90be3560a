"""Run every benchmark at its default size (``make bench``)."""

from benchmarks import import_speed

if __name__ == "__main__":
    import_speed.main()
