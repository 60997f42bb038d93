// The slow log (Redis's slowlog.c): commands whose execution took at least
// slowlog-log-slower-than microseconds are remembered, newest first, up to slowlog-max-len
// entries. call() offers it every command; entries keep a bounded copy of the arguments (at
// most 32, each at most 128 bytes) so a huge command never pins a huge buffer.
using System.Text;
using Cinnabar.Commands;
using Cinnabar.Networking;

namespace Cinnabar.Server;

public sealed class SlowLogEntry
{
    public long Id;
    public long Time;        // unix seconds
    public long Duration;    // microseconds
    public required byte[][] Args;
    public required string Peer;
    public required string ClientName;
}

public sealed class SlowLog
{
    public const int MaxArgc = 32;
    public const int MaxString = 128;

    readonly LinkedList<SlowLogEntry> _entries = new();
    long _nextId;
    readonly CinnabarServer _server;

    public SlowLog(CinnabarServer server) => _server = server;

    public int Count => _entries.Count;

    public IEnumerable<SlowLogEntry> Newest(long count) => _entries.Take((int)Math.Min(count, int.MaxValue));

    public void Reset() => _entries.Clear();

    /// <summary>call()'s slowlog step: commands at least slowlog-log-slower-than µs long, unless skip_slowlog.</summary>
    public void AfterCall(Client c, CommandDef cmd, long durationUs)
    {
        long threshold = _server.Config.SlowlogLogSlowerThan;
        if (threshold < 0 || durationUs < threshold) return;
        if (cmd.Has(CommandFlags.SkipSlowlog) || (cmd.Parent?.Has(CommandFlags.SkipSlowlog) ?? false)) return;
        Push(c, durationUs);
    }

    /// <summary>slowlogPushEntryIfNeeded: adds the current command of c and trims to slowlog-max-len.</summary>
    public void Push(Client c, long durationUs)
    {
        _entries.AddFirst(new SlowLogEntry
        {
            Id = _nextId++,
            Time = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            Duration = durationUs,
            Args = CopyArgs(c),
            Peer = c.RemoteAddress,
            ClientName = c.Name ?? "",
        });
        while (_entries.Count > _server.Config.SlowlogMaxLen) _entries.RemoveLast();
    }

    /// <summary>slowlogCreateEntry: at most 32 arguments, the last replaced by "... (N more arguments)"; long ones cut at 128 bytes.</summary>
    static byte[][] CopyArgs(Client c)
    {
        var args = c.Args;
        int argc = Math.Min(args.Count, MaxArgc);
        var copy = new byte[argc][];
        for (int i = 0; i < argc; i++)
        {
            if (argc != args.Count && i == argc - 1)
            {
                copy[i] = Encoding.ASCII.GetBytes($"... ({args.Count - argc + 1} more arguments)");
                break;
            }
            if (IsRedacted(c.Args, i) || IsSensitiveConfigValue(c, i))
            {
                copy[i] = "(redacted)"u8.ToArray();
                continue;
            }
            var a = args[i];
            if (a.Length > MaxString)
            {
                var b = new List<byte>(MaxString + 32);
                b.AddRange(a[..MaxString].ToArray());
                b.AddRange(Encoding.ASCII.GetBytes($"... ({a.Length - MaxString} more bytes)"));
                copy[i] = b.ToArray();
            }
            else copy[i] = a.ToArray();
        }
        return copy;
    }

    /// <summary>CONFIG SET of a sensitive parameter (masterauth, requirepass, ...): its value is redacted (configSetCommand).</summary>
    static bool IsSensitiveConfigValue(Client c, int i)
    {
        var args = c.Args;
        if (i < 3 || i % 2 == 0 || !args.Is(0, "config") || !args.Is(1, "set")) return false;
        return c.Server.Config.Find(args.ToStringAt(i - 1)) is { Sensitive: true };
    }

    /// <summary>
    /// Passwords never reach the slow log or MONITOR (redactClientCommandArgument): AUTH's
    /// arguments, HELLO's AUTH pair, ACL SETUSER's rules, MIGRATE's AUTH and AUTH2 credentials.
    /// </summary>
    public static bool IsRedacted(Protocol.CommandArgs args, int i)
    {
        if (args.Is(0, "auth")) return i > 0;
        if (args.Is(0, "migrate")) return IsMigrateCredential(args, i);
        if (args.Is(0, "acl") && args.Count > 1 && args.Is(1, "setuser")) return i >= 2;
        if (args.Is(0, "hello"))
        {
            for (int j = 2; j + 2 < args.Count; j++)
                if (args.Is(j, "auth")) return i == j + 1 || i == j + 2;
        }
        return false;
    }

    /// <summary>
    /// The arguments migrateCommand redacts while it parses its options: AUTH's password and
    /// AUTH2's pair, up to the option that ends the parse (KEYS, an unknown one, a missing operand).
    /// </summary>
    static bool IsMigrateCredential(Protocol.CommandArgs args, int i)
    {
        for (int j = 6; j < args.Count && j < i; j++)
        {
            int moreArgs = args.Count - 1 - j;
            if (args.Is(j, "copy") || args.Is(j, "replace")) continue;
            if (args.Is(j, "auth"))
            {
                if (moreArgs == 0) return false;
                if (i == j + 1) return true;
                j++;
            }
            else if (args.Is(j, "auth2"))
            {
                if (moreArgs < 2) return false;
                if (i == j + 1 || i == j + 2) return true;
                j += 2;
            }
            else return false; // KEYS (the rest are keys) or a syntax error
        }
        return false;
    }
}
