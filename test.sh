#!/usr/bin/env bash
# Sets up a fresh machine (Debian 12 + .NET SDK 10) and runs every test. Usage: ./test.sh [extra dotnet test args]
# Results also land as TRX files in TestResults/ (read by .ci/run for its totals line).
set -euo pipefail
cd "$(dirname "$0")"
# g++ builds the TorchSharp compatibility shim; Fashion-MNIST feeds the training and shipped-model tests.
missing=()
command -v g++ >/dev/null || missing+=(g++)
[ -d /usr/share/datasets/fashion-mnist ] || missing+=(dataset-fashion-mnist)
if [ ${#missing[@]} -gt 0 ]; then
  (apt-get update && apt-get install -y "${missing[@]}") || echo "warning: could not install ${missing[*]}; tests that need them will fail or skip" >&2
fi
rm -rf TestResults
dotnet build Var.sln -c Release
dotnet test Var.sln -c Release --no-build --logger "console;verbosity=normal" --logger trx --results-directory TestResults "$@"
