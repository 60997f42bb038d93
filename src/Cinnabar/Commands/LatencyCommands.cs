// LATENCY LATEST / HISTORY / RESET / GRAPH / DOCTOR / HISTOGRAM / HELP (latency.c
// latencyCommand) over the server's LatencyMonitor, and the per-command histograms that
// call() records (HISTOGRAM's cumulative distribution, fillCommandCDF). Arity and unknown
// subcommands are the dispatcher's, from the command table.
using Cinnabar.Networking;
using Cinnabar.Server;

namespace Cinnabar.Commands;

public static class LatencyCommands
{
    /// <summary>latencyCommandReplyWithLatestEvent: per event, its name, the latest sample's time and latency, and the all-time maximum.</summary>
    [Command("latency|latest")]
    static void LatencyLatest(Client c)
    {
        var events = c.Server.Latency.Events;
        c.Reply.ArrayLen(events.Count);
        foreach (var ts in events)
        {
            var last = ts.Latest;
            c.Reply.ArrayLen(4);
            c.Reply.Bulk(ts.Name);
            c.Reply.Integer(last.Time);
            c.Reply.Integer(last.Latency);
            c.Reply.Integer(ts.Max);
        }
    }

    /// <summary>latencyCommandReplyWithSamples: time-latency pairs, oldest first; an unknown event is an empty array.</summary>
    [Command("latency|history")]
    static void LatencyHistory(Client c)
    {
        var ts = c.Server.Latency.Find(c.Args.ToStringAt(2));
        if (ts == null)
        {
            c.Reply.EmptyArray();
            return;
        }
        int samples = ts.Chronological().Count();
        c.Reply.ArrayLen(samples);
        foreach (var s in ts.Chronological())
        {
            c.Reply.ArrayLen(2);
            c.Reply.Integer(s.Time);
            c.Reply.Integer(s.Latency);
        }
    }

    /// <summary>RESET [event ...]: every event with no names, else the named ones (case-insensitively); replies how many were dropped.</summary>
    [Command("latency|reset")]
    static void LatencyReset(Client c)
    {
        var latency = c.Server.Latency;
        if (c.Args.Count == 2)
        {
            c.Reply.Integer(latency.Reset(null));
            return;
        }
        int resets = 0;
        for (int j = 2; j < c.Args.Count; j++) resets += latency.Reset(c.Args.ToStringAt(j));
        c.Reply.Integer(resets);
    }

    [Command("latency|graph")]
    static void LatencyGraph(Client c)
    {
        string name = c.Args.ToStringAt(2);
        var ts = c.Server.Latency.Find(name);
        if (ts == null)
        {
            c.Reply.Error($"No samples available for event '{name}'");
            return;
        }
        c.Reply.Verbatim(LatencyMonitor.Graph(ts));
    }

    [Command("latency|doctor")]
    static void LatencyDoctor(Client c) => c.Reply.Verbatim(c.Server.Latency.Doctor());

    /// <summary>
    /// HISTOGRAM [command ...]: a map of full command name to its calls and cumulative
    /// distribution, for every command with recorded calls, or for the named ones (a container
    /// also gives its subcommands; unknown names are skipped).
    /// </summary>
    [Command("latency|histogram")]
    static void LatencyHistogram(Client c)
    {
        var with = new List<CommandDef>();
        if (c.Args.Count == 2)
        {
            foreach (var cmd in c.Server.Commands.All.Values) AddWithSubcommands(with, cmd);
        }
        else
        {
            for (int j = 2; j < c.Args.Count; j++)
            {
                if (c.Server.Commands.LookupBySds(c.Args.ToStringAt(j)) is { } cmd) AddWithSubcommands(with, cmd);
            }
        }
        c.Reply.MapLen(with.Count);
        foreach (var cmd in with)
        {
            c.Reply.Bulk(cmd.FullName);
            WriteCommandCdf(c, cmd.LatencyHistogram!);
        }
    }

    static bool HasData(CommandDef cmd) => cmd.LatencyHistogram is { TotalCount: > 0 };

    static void AddWithSubcommands(List<CommandDef> with, CommandDef cmd)
    {
        if (HasData(cmd)) with.Add(cmd);
        foreach (var sub in cmd.Subcommands?.Values ?? Enumerable.Empty<CommandDef>())
            if (HasData(sub)) with.Add(sub);
    }

    /// <summary>fillCommandCDF: calls, then histogram_usec as a map of bucket bound (µs) to the calls at or below it.</summary>
    static void WriteCommandCdf(Client c, CommandLatencyHistogram histogram)
    {
        c.Reply.MapLen(2);
        c.Reply.Bulk("calls");
        c.Reply.Integer(histogram.TotalCount);
        c.Reply.Bulk("histogram_usec");
        var buckets = histogram.CumulativeBuckets();
        c.Reply.MapLen(buckets.Count);
        foreach (var (micros, cumulative) in buckets)
        {
            c.Reply.Integer(micros);
            c.Reply.Integer(cumulative);
        }
    }

    [Command("latency|help")]
    static void LatencyHelp(Client c) => HelpReply.Write(c, "LATENCY",
    [
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
        "    If no commands are specified then all histograms are replied.",
    ]);
}
