"""``python -m amplify_custom_roles``: see :mod:`amplify_custom_roles.cli`."""

import sys

from amplify_custom_roles.cli import main

sys.exit(main())
