#!/usr/bin/env bash
# Sets up a fresh machine (Debian 12 + .NET SDK 10) and starts the gRPC generation service on the shipped model
# (weights/fmnist): gRPC (h2c) on port 50051, Prometheus metrics on http://localhost:9464/metrics.
# Extra arguments go to the service, e.g. ./run.sh --port 6000 --max-batch 32. Stop it with Ctrl-C or SIGTERM.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v g++ >/dev/null; then apt-get update && apt-get install -y g++; fi
dotnet build src/Service -c Release
exec dotnet src/Service/bin/Release/net10.0/linux-x64/Var.Service.dll "$@"
