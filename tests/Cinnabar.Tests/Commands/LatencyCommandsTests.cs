// LATENCY LATEST / HISTORY / RESET / GRAPH / DOCTOR / HISTOGRAM / HELP, INFO latencystats and
// latency-tracking-info-percentiles over a real socket, with the replies and error texts of
// redis-server 7.0.15. Samples come from DEBUG SLEEP past latency-monitor-threshold; each
// test has its own server, as the monitor and the histograms are server-wide.
using System.Text.RegularExpressions;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Commands;

public class LatencyCommandsTests
{
    static ServerFixture NewServer() => new(null);

    [Fact]
    public void DebugSleepPastTheThresholdIsACommandSample()
    {
        using var server = NewServer();
        using var c = server.Connect();
        Assert.Equal("+OK", c.CallS("CONFIG", "SET", "latency-monitor-threshold", "200"));
        c.Call("DEBUG", "SLEEP", "0.3");

        var history = c.Call("LATENCY", "HISTORY", "command").Items!;
        var sample = Assert.Single(history).Items!;
        Assert.Equal(2, sample.Count);
        long time = sample[0].Integer, latency = sample[1].Integer;
        Assert.InRange(time, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 5, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        Assert.InRange(latency, 300, 450);

        var latest = Assert.Single(c.Call("LATENCY", "LATEST").Items!).Items!;
        Assert.Equal($"[\"command\", :{time}, :{latency}, :{latency}]", "[" + string.Join(", ", latest) + "]");
        // Event names are case-sensitive for HISTORY, as Redis's dict of events.
        Assert.Equal("*[]", c.CallS("LATENCY", "HISTORY", "COMMAND"));
    }

    [Fact]
    public void CommandsBelowTheThresholdOrWithTheMonitorOffAreNoSamples()
    {
        using var server = NewServer();
        using var c = server.Connect();
        c.Call("DEBUG", "SLEEP", "0.05"); // monitor off (threshold 0)
        c.Call("CONFIG", "SET", "latency-monitor-threshold", "200");
        c.Call("DEBUG", "SLEEP", "0.05");
        Assert.Equal("*[]", c.CallS("LATENCY", "LATEST"));
    }

    [Fact]
    public void ResetDropsEventsCaseInsensitivelyAndCountsThem()
    {
        using var server = NewServer();
        using var c = server.Connect();
        c.Call("CONFIG", "SET", "latency-monitor-threshold", "100");
        c.Call("DEBUG", "SLEEP", "0.15");
        Assert.Equal(":0", c.CallS("LATENCY", "RESET", "blabla"));
        Assert.Equal(":1", c.CallS("LATENCY", "RESET", "COMMAND", "blabla", "command"));
        Assert.Equal("*[]", c.CallS("LATENCY", "LATEST"));
        c.Call("DEBUG", "SLEEP", "0.15");
        Assert.Equal(":1", c.CallS("LATENCY", "RESET"));
        Assert.Equal(":0", c.CallS("LATENCY", "RESET"));
    }

    [Fact]
    public void GraphDrawsTheEventsSamples()
    {
        using var server = NewServer();
        using var c = server.Connect();
        c.Call("CONFIG", "SET", "latency-monitor-threshold", "100");
        c.Call("DEBUG", "SLEEP", "0.15");
        var graph = c.Call("LATENCY", "GRAPH", "command");
        Assert.Equal('$', graph.Type);
        var lines = graph.Text!.Split('\n');
        Assert.Matches(@"^command - high \d+ ms, low \d+ ms \(all time high \d+ ms\)$", lines[0]);
        Assert.Equal(new string('-', 80), lines[1]);
        // One sample: four graph rows (the lowest step), a spacer, then its label ("0s") vertically.
        Assert.Equal([" ", " ", " ", "_", " "], lines[2..7]);
        Assert.Matches("^[01]$", lines[7]);
        Assert.Equal(["s", ""], lines[8..]);
        Assert.Equal("-ERR No samples available for event 'nosuch'", c.CallS("LATENCY", "GRAPH", "nosuch"));
    }

    [Fact]
    public void DoctorReportsEventsAndAdvice()
    {
        using var server = NewServer();
        using var c = server.Connect();
        Assert.StartsWith("I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance.", c.Call("LATENCY", "DOCTOR").Text);
        c.Call("CONFIG", "SET", "latency-monitor-threshold", "100");
        c.Call("DEBUG", "SLEEP", "0.15");
        string report = c.Call("LATENCY", "DOCTOR").Text!;
        Assert.StartsWith("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n", report);
        Assert.Matches(@"\n1\. command: 1 latency spikes \(average \d+ms, mean deviation 0ms, period 1\.00 sec\)\. Worst all time event \d+ms\.\n", report);
        Assert.Contains("\nI have a few advices for you:\n\n- Check your Slow Log", report);
        // RESP3: DOCTOR and GRAPH are verbatim strings.
        c.Call("HELLO", "3");
        Assert.Equal('=', c.Call("LATENCY", "DOCTOR").Type);
        Assert.Equal('=', c.Call("LATENCY", "GRAPH", "command").Type);
    }

    [Fact]
    public void HistogramListsCommandsWithCallsAndTheirCumulativeDistribution()
    {
        using var server = NewServer();
        using var c = server.Connect();
        c.Call("CONFIG", "RESETSTAT");
        // CONFIG RESETSTAT is itself recorded after the reset.
        Assert.Equal(["\"config|resetstat\""], Names(c.Call("LATENCY", "HISTOGRAM")));
        c.Call("SET", "a", "b");
        c.Call("SET", "c", "d");
        c.Call("CLIENT", "ID");
        c.Call("CLIENT", "LIST");

        var set = c.Call("LATENCY", "HISTOGRAM", "set").Items!;
        Assert.Equal(2, set.Count);
        Assert.Equal("\"set\"", set[0].ToString());
        var entry = set[1].Items!;
        Assert.Equal("\"calls\"", entry[0].ToString());
        Assert.Equal(2, entry[1].Integer);
        Assert.Equal("\"histogram_usec\"", entry[2].ToString());
        var buckets = entry[3].Items!.Select(b => b.Integer).ToList();
        // Pairs of (bucket bound in µs, calls at or below it): bounds rise, the last count is all calls.
        Assert.True(buckets.Count >= 2 && buckets.Count % 2 == 0);
        Assert.Equal(2, buckets[^1]);

        // A container gives its subcommands; a full name gives one; unknown names are skipped.
        Assert.Equal(["\"client|id\"", "\"client|list\""], Names(c.Call("LATENCY", "HISTOGRAM", "client")).Order());
        Assert.Equal(["\"client|id\""], Names(c.Call("LATENCY", "HISTOGRAM", "blabla", "CLIENT|ID", "client|nosuch")));
        Assert.Equal("*[]", c.CallS("LATENCY", "HISTOGRAM", "blabla", "zadd"));

        c.Call("HELLO", "3");
        var map = c.Call("LATENCY", "HISTOGRAM", "set");
        Assert.Equal('%', map.Type);
        Assert.Equal('%', map.Items![1].Type);
        Assert.Equal('%', map.Items[1].Items![3].Type);
    }

    [Fact]
    public void ConfigResetstatClearsTheHistograms()
    {
        using var server = NewServer();
        using var c = server.Connect();
        c.Call("SET", "a", "b");
        c.Call("CONFIG", "RESETSTAT");
        Assert.Equal("*[]", c.CallS("LATENCY", "HISTOGRAM", "set"));
        c.Call("SET", "a", "b");
        Assert.Equal(1, c.Call("LATENCY", "HISTOGRAM", "set").Items![1].Items![1].Integer);
    }

    [Fact]
    public void InfoLatencystatsPrintsTheConfiguredPercentiles()
    {
        using var server = NewServer();
        using var c = server.Connect();
        c.Call("SET", "a", "b");
        Assert.DoesNotContain("# Latencystats", c.Call("INFO").Text);
        Assert.Contains("# Latencystats", c.Call("INFO", "everything").Text);
        Assert.Matches(@"(?m)^latency_percentiles_usec_set:p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}\r$", c.Call("INFO", "latencystats").Text);

        Assert.Equal("+OK", c.CallS("CONFIG", "SET", "latency-tracking-info-percentiles", "0.0 50.0 100.0"));
        Assert.Equal("*[\"latency-tracking-info-percentiles\", \"0 50 100\"]", c.CallS("CONFIG", "GET", "latency-tracking-info-percentiles"));
        Assert.Matches(@"(?m)^latency_percentiles_usec_set:p0=\d+\.\d{3},p50=\d+\.\d{3},p100=\d+\.\d{3}\r$", c.Call("INFO", "latencystats").Text);

        Assert.Equal("+OK", c.CallS("CONFIG", "SET", "latency-tracking-info-percentiles", ""));
        Assert.Matches(@"(?m)^latency_percentiles_usec_set:\r$", c.Call("INFO", "latencystats").Text);

        c.Call("CONFIG", "SET", "latency-tracking", "no");
        Assert.Equal("# Latencystats\r\n", c.Call("INFO", "latencystats").Text);
    }

    [Theory]
    [InlineData("10.0 50.0 a", "Invalid latency-tracking-info-percentiles parameters")]
    [InlineData(" 50", "Invalid latency-tracking-info-percentiles parameters")]
    [InlineData("50 nan", "Invalid latency-tracking-info-percentiles parameters")]
    [InlineData("10.0 50.0 101.0", "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")]
    [InlineData("-1", "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")]
    public void BadPercentilesAreRefusedAndLeaveTheSettingAsItWas(string value, string reason)
    {
        using var server = NewServer();
        using var c = server.Connect();
        Assert.Equal($"-ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - {reason}",
            c.CallS("CONFIG", "SET", "latency-tracking-info-percentiles", value));
        Assert.Equal("*[\"latency-tracking-info-percentiles\", \"50 99 99.9\"]", c.CallS("CONFIG", "GET", "latency-tracking-info-percentiles"));
    }

    [Fact]
    public void SubcommandErrorsAndHelpAreRedis()
    {
        using var server = NewServer();
        using var c = server.Connect();
        Assert.Equal("-ERR wrong number of arguments for 'latency|help' command", c.CallS("LATENCY", "HELP", "xxx"));
        Assert.Equal("-ERR wrong number of arguments for 'latency|history' command", c.CallS("LATENCY", "HISTORY"));
        Assert.Equal("-ERR wrong number of arguments for 'latency|graph' command", c.CallS("LATENCY", "GRAPH"));
        Assert.Equal("-ERR wrong number of arguments for 'latency' command", c.CallS("LATENCY"));
        Assert.Equal("-ERR unknown subcommand 'foo'. Try LATENCY HELP.", c.CallS("LATENCY", "foo"));
        var help = c.Call("LATENCY", "HELP").Items!;
        Assert.Equal(17, help.Count);
        Assert.Equal("+LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", help[0].ToString());
        Assert.Equal("+    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.", help[13].ToString());
    }

    static List<string> Names(RespReply map) =>
        map.Items!.Where((_, i) => i % 2 == 0).Select(n => n.ToString()).ToList();

    [Fact]
    public void LatencyLatestTimeMatchesTheLastHistorySample()
    {
        using var server = NewServer();
        using var c = server.Connect();
        c.Call("CONFIG", "SET", "latency-monitor-threshold", "100");
        c.Call("DEBUG", "SLEEP", "0.12");
        Thread.Sleep(1100);
        c.Call("DEBUG", "SLEEP", "0.2");
        var history = c.Call("LATENCY", "HISTORY", "command").Items!;
        Assert.Equal(2, history.Count);
        Assert.True(history[0].Items![0].Integer < history[1].Items![0].Integer);
        var latest = c.Call("LATENCY", "LATEST").Items![0].Items!;
        Assert.Equal(history[1].Items![0].Integer, latest[1].Integer);
        Assert.Equal(history[1].Items![1].Integer, latest[2].Integer);
        Assert.Equal(Math.Max(history[0].Items![1].Integer, history[1].Items![1].Integer), latest[3].Integer);
        Assert.Matches(new Regex(@"^1\. command: 2 latency spikes", RegexOptions.Multiline), c.Call("LATENCY", "DOCTOR").Text!);
    }
}
