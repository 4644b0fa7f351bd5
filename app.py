#!/usr/bin/env python3
"""CDK entry point (`cdk.json`: "app": "python app.py"); `python app.py` writes cdk.out/."""

import os
from pathlib import Path

from itest.infra.app import build_app

build_app(Path(os.environ.get("CDK_OUTDIR", "cdk.out"))).synth()
