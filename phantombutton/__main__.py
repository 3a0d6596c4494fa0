"""`python -m phantombutton`: the same as the `phantombutton` command."""

import sys

from phantombutton.cli.main import main

sys.exit(main())
