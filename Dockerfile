# syntax=docker/dockerfile:1
# The generation service and the var tool in one image, with the shipped model (README "Deployment"):
#   docker build -t var:latest .                                     # CPU libtorch
#   docker build -t var:cuda --build-arg TORCH_BACKEND=cuda .        # CUDA 12.8 libtorch (run with --gpus all)
#   docker run --rm -p 50051:50051 -p 9464:9464 var:latest            # gRPC on 50051, health-only on 50052, metrics on 9464
# Build and run stages must use the same distribution: the GLIBCXX fix (build/torchcompat) is decided on the build
# stage's libstdc++ and must hold on the run stage's; the smoke test below catches a mismatch at build time.
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0

FROM ${SDK_IMAGE} AS build
ARG TORCH_BACKEND=cpu
# g++ builds build/native's Winograd kernel and, where libstdc++ predates GCC 13, build/torchcompat's shim.
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Restore from the project files alone, so that a source change does not download libtorch again.
COPY Directory.Build.props Directory.Build.targets Directory.Packages.props ./
COPY src/Model/Model.csproj src/Model/
COPY src/Decoding/Decoding.csproj src/Decoding/
COPY src/Training/Training.csproj src/Training/
COPY src/Client/Client.csproj src/Client/
COPY src/Service/Service.csproj src/Service/
COPY src/Cli/Cli.csproj src/Cli/
RUN dotnet restore src/Service/Service.csproj -p:TorchBackend=${TORCH_BACKEND} \
 && dotnet restore src/Cli/Cli.csproj -p:TorchBackend=${TORCH_BACKEND}
COPY build/ build/
COPY protos/ protos/
COPY src/ src/
# Both programs into one folder: they share every library (one copy of libtorch).
RUN dotnet publish src/Service/Service.csproj -c Release --no-restore -p:TorchBackend=${TORCH_BACKEND} -o /app \
 && dotnet publish src/Cli/Cli.csproj -c Release --no-restore -p:TorchBackend=${TORCH_BACKEND} -o /app
COPY weights/ /app/weights/

FROM ${RUNTIME_IMAGE} AS runtime
ARG TORCH_BACKEND=cpu
WORKDIR /app
COPY --from=build /app /app
RUN printf '#!/bin/sh\nexec dotnet /app/var.dll "$@"\n' > /usr/local/bin/var && chmod 755 /usr/local/bin/var
# The models load from /app/weights; the health-only port serves the HEALTHCHECK and the Kubernetes gRPC probes.
ENV VAR_WEIGHTS=/app/weights \
    Var__Server__HealthPort=50052 \
    DOTNET_CLI_TELEMETRY_OPTOUT=1
# The images' unprivileged "app" user ($APP_UID), by number so that Kubernetes' runAsNonRoot can check it.
USER 1654
# Smoke test as that user: libtorch, the GLIBCXX shim and the shipped model load in this stage (CPU builds only:
# the CUDA build may need a GPU to initialise).
RUN if [ "$TORCH_BACKEND" = cpu ]; then var generate --model fmnist --class coat --count 1 --out /tmp/smoke && rm -rf /tmp/smoke; fi
EXPOSE 50051 50052 9464
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
  CMD ["var", "health", "--server", "http://127.0.0.1:50052", "--service", "var.v1.Generation"]
ENTRYPOINT ["dotnet", "/app/Var.Service.dll"]
