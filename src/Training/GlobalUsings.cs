global using TorchSharp;
global using TorchSharp.Modules;
global using static TorchSharp.torch;
global using Tensor = TorchSharp.torch.Tensor;
