"""``python -m tunelab``: the ``tunelab`` command (see :mod:`tunelab.cli`)."""

from tunelab.cli import main

if __name__ == "__main__":
    main()
