global using Grpc.Core;
global using Grpc.Net.Client;
global using Var.Service.V1;
