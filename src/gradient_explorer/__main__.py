import sys

from gradient_explorer.cli import main

sys.exit(main())
