using System.CommandLine;
using System.Text.Json.Nodes;
using Var.Decoding.Imaging;
using Var.Decoding.Scoring;

namespace Var.Cli.Commands;

/// <summary><c>var score</c>: teacher-forced negative log-likelihood of an image's tokens under a class.</summary>
internal static class ScoreCommand
{
    public static Command Create()
    {
        var models = new ModelArguments();
        var image = new Option<string>("--image") { Description = "Input image (same resize/crop policy as reconstruct).", Required = true };
        var cls = new Option<string>("--class") { Description = "Class id or name.", Required = true };
        var json = new Option<bool>("--json") { Description = "Print one JSON object {nll_per_scale, nll_mean, …} instead of text." };
        var cmd = new Command("score", "Negative log-likelihood (nats per token) of an image's VQ tokens under a class, teacher-forced, class dropout off.");
        models.AddTo(cmd);
        cmd.Options.Add(image);
        cmd.Options.Add(cls);
        cmd.Options.Add(json);
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            using var model = models.Load(pr);
            int classId = model.Classes.Resolve(pr.GetValue(cls)!);
            var rgb = ImageCodec.LoadRgb(pr.GetValue(image)!, model.ImageSize);
            using var scope = NewDisposeScope();
            var score = new LikelihoodScorer(model).Score(ImageCodec.ToTensor([rgb], model.ImageSize, model.Device), [classId])[0];
            if (pr.GetValue(json))
            {
                Console.WriteLine(new JsonObject
                {
                    ["nll_per_scale"] = new JsonArray(score.NllPerScale.Select(v => (JsonNode)v).ToArray()),
                    ["nll_mean"] = score.NllMean,
                    ["tokens_per_scale"] = new JsonArray(score.TokensPerScale.Select(v => (JsonNode)v).ToArray()),
                    ["class"] = classId,
                    ["class_name"] = model.Classes.NameOf(classId),
                    ["model"] = model.Name,
                }.ToJsonString());
            }
            else
            {
                Console.WriteLine($"class {classId} ({model.Classes.NameOf(classId)}): mean NLL {score.NllMean:F4} nats/token");
                for (int si = 0; si < score.NllPerScale.Length; si++)
                    Console.WriteLine($"  scale {si} ({score.TokensPerScale[si]} tokens): {score.NllPerScale[si]:F4}");
            }
            return 0;
        }));
        return cmd;
    }
}
