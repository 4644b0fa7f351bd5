#!/usr/bin/env python3
"""CDK entry point (`cdk.json`: "app": "python app.py"); `python app.py` writes cdk.out/.

The same app as `python -m itest.infra.app`, which `itest deploy` runs from the installed
package.
"""

from itest.infra.app import main

main()
