#!/usr/bin/env bash
# Create a separate virtual environment with the `particles` package
# (Chopin & Papaspiliopoulos) for the state-space reference scripts
# pmmh_particles.py and particles_timing.py in this folder.
#
# particles 0.4 (the current release) requires numpy < 2, so it cannot live in
# the main environment (numpy 2); it gets its own venv.
#
#   bash tests/references/statespace/particles_env.sh
#   PARTICLES_VENV=/some/where bash tests/references/statespace/particles_env.sh
#
# Default venv path: /tmp/particles-venv. Idempotent: does nothing if the venv
# already has particles 0.4 and numpy 1.26.4 installed.
set -euo pipefail

VENV="${PARTICLES_VENV:-/tmp/particles-venv}"
PYTHON="${PYTHON:-python}"

# Exact versions used to produce pmmh_particles.csv/json (pip freeze of the venv).
PINS=(
  "particles==0.4"
  "numpy==1.26.4"
  "scipy==1.13.1"
  "numba==0.68.1"
  "llvmlite==0.50.0"
  "scikit-learn==1.9.1"
  "joblib==1.6.0"
  "threadpoolctl==3.8.0"
  "narwhals==2.29.0"
  "cloudpickle==3.1.3"
)

if [ -x "$VENV/bin/python" ] && \
   "$VENV/bin/python" -c "import sys; from importlib.metadata import version as v; sys.exit(0 if v('particles') == '0.4' and v('numpy') == '1.26.4' else 1)" \
     >/dev/null 2>&1; then
  echo "particles venv already present at $VENV"
  exit 0
fi

"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "${PINS[@]}"
# note: particles 0.4 still reports particles.__version__ == '0.3alpha';
# the installed distribution version is the reliable one.
"$VENV/bin/python" -c "import particles; from importlib.metadata import version as v; print('particles', v('particles'), 'numpy', v('numpy'), 'scipy', v('scipy'))"
echo "particles venv ready at $VENV"
