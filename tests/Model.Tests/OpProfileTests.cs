namespace Var.Model.Tests;

public class OpProfileTests
{
    [Fact]
    public void RecordsOnlyWhileEnabled()
    {
        OpProfile.Reset();
        OpProfile.Enabled = false;
        using (OpProfile.Measure("off")) Thread.Sleep(2);
        OpProfile.Enabled = true;
        try
        {
            using (OpProfile.Measure("on")) Thread.Sleep(2);
            using (OpProfile.Measure("on")) Thread.Sleep(2);
        }
        finally
        {
            OpProfile.Enabled = false;
        }
        var seconds = OpProfile.Seconds();
        Assert.False(seconds.ContainsKey("off"));
        Assert.True(seconds["on"] >= 0.004, $"recorded {seconds["on"]} s for two 2 ms sleeps");
        OpProfile.Reset();
        Assert.False(OpProfile.Seconds().ContainsKey("on"));
    }
}
