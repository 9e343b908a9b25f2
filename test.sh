#!/usr/bin/env bash
# Sets up a fresh machine (Debian 12 + .NET SDK 10) and runs every test. Usage: ./test.sh [extra dotnet test args]
# Results also land as TRX files in TestResults/ (read by .ci/run for its totals line).
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v g++ >/dev/null; then apt-get update && apt-get install -y g++; fi
rm -rf TestResults
dotnet build Var.sln -c Release
dotnet test Var.sln -c Release --no-build --logger "console;verbosity=normal" --logger trx --results-directory TestResults "$@"
