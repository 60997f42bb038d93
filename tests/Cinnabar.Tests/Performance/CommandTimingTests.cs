// Commands of one pipeline share clock reads (Dispatcher.Call chains the end timestamp of a
// command into the start of the next): these tests pin that durations stay right anyway, for
// the slowlog and for commandstats, whether commands arrive pipelined or one by one.
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Performance;

public class CommandTimingTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    static byte[] Pipeline(params string[][] commands) => commands.SelectMany(c => RespClient.Encode(c)).ToArray();

    [Fact]
    public void PipelinedSlowCommandsEachGetTheirOwnDurationInTheSlowlog()
    {
        using var c = fx.Connect();
        var pipeline = Pipeline(["DEBUG", "SLEEP", "0.05"], ["PING"], ["DEBUG", "SLEEP", "0.05"]);
        c.SendRaw(pipeline); // once before measuring, so no JIT time lands in PING
        for (int i = 0; i < 3; i++) c.Read();
        Assert.Equal("OK", c.Call("CONFIG", "SET", "slowlog-log-slower-than", "30000").Text);
        c.CallS("SLOWLOG", "RESET");
        // PING between the sleeps: a fast command chained after a slow one is not charged the sleep.
        c.SendRaw(pipeline);
        for (int i = 0; i < 3; i++) Assert.False(c.Read().IsError);
        var log = c.Call("SLOWLOG", "GET", "10");
        c.CallS("CONFIG", "SET", "slowlog-log-slower-than", "10000");
        Assert.True(log.Items!.Count == 2, log.ToString());
        foreach (var entry in log.Items)
        {
            long us = entry.Items![2].Integer;
            Assert.InRange(us, 50_000, 5_000_000);
            Assert.Equal("sleep", entry.Items[3].Items![1].Text, ignoreCase: true);
        }
    }

    [Fact]
    public void IdleTimeBeforeAPipelineIsNotChargedToItsCommands()
    {
        using var c = fx.Connect();
        c.CallS("CONFIG", "RESETSTAT");
        Thread.Sleep(300); // the loop sleeps meanwhile: no timestamp may carry over this gap
        var batch = Enumerable.Repeat(new[] { "ECHO", "x" }, 100).ToArray();
        c.SendRaw(Pipeline(batch));
        for (int i = 0; i < batch.Length; i++) Assert.Equal("x", c.Read().Text);
        string stats = c.Call("INFO", "commandstats").Text!;
        var line = stats.Split("\r\n").Single(l => l.StartsWith("cmdstat_echo:", StringComparison.Ordinal));
        Assert.StartsWith("cmdstat_echo:calls=100,usec=", line);
        // A pipelined ECHO costs microseconds; a leaked 300 ms wait would show in the total.
        long usec = long.Parse(line.Split(',')[1]["usec=".Length..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(usec, 0, 200_000);
    }
}
