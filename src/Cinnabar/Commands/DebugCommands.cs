// DEBUG (debug.c): the subcommands operators and test suites use. The dispatcher lets DEBUG
// run only as enable-debug-command allows. DIGEST and DIGEST-VALUE are Redis's hashes byte for
// byte (Commands/DatasetDigest.cs), so datasets compare across Cinnabar and redis-server.
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Cinnabar.DataTypes;
using Cinnabar.Keyspace;
using Cinnabar.Networking;

namespace Cinnabar.Commands;

public static class DebugCommands
{
    [Command("debug")]
    static void Debug(Client c)
    {
        var args = c.Args;
        int argc = args.Count;
        if (args.Is(1, "help") && argc == 2) Help(c);
        else if (args.Is(1, "object") && argc == 3) DebugObject(c);
        else if (args.Is(1, "sleep") && argc == 3) Sleep(c);
        else if (args.Is(1, "set-active-expire") && argc == 3)
        {
            c.Server.Config.ActiveExpireEnabled = Arguments.Atoi(args.ToStringAt(2)) != 0;
            c.Reply.Ok();
        }
        else if (args.Is(1, "set-disable-deny-scripts") && argc == 3)
        {
            c.Server.Lua.DisableDenyScripts = Arguments.Atoi(args.ToStringAt(2)) != 0; // scripts may run noscript commands
            c.Reply.Ok();
        }
        else if (args.Is(1, "pause-cron") && argc == 3)
        {
            c.Server.CronPaused = Arguments.Atoi(args.ToStringAt(2)) != 0; // serverCron does nothing meanwhile
            c.Reply.Ok();
        }
        else if (args.Is(1, "replybuffer") && argc == 4 && (args.Is(2, "peak-reset-time") || args.Is(2, "resizing"))) ReplyBufferSettings(c);
        else if (args.Is(1, "log") && argc == 3)
        {
            c.Server.Log.Warning("DEBUG LOG: " + args.ToStringAt(2));
            c.Reply.Ok();
        }
        else if (args.Is(1, "error") && argc == 3) c.Reply.Error("-" + args.ToStringAt(2));
        else if (args.Is(1, "config-rewrite-force-all") && argc == 2)
        {
            if (ConfigCommands.RewriteConfigFile(c.Server, forceAll: true) is { } error) c.Reply.Error("CONFIG-REWRITE-FORCE-ALL failed: " + error);
            else c.Reply.Ok();
        }
        else if (args.Is(1, "digest") && argc == 2) Digest(c);
        else if (args.Is(1, "digest-value") && argc >= 2) DigestValue(c);
        else if (args.Is(1, "protocol") && argc == 3) Protocol(c);
        else if (args.Is(1, "reload")) PersistenceCommands.DebugReload(c);
        else if (args.Is(1, "populate") && argc is >= 3 and <= 5) Populate(c);
        else if (args.Is(1, "replicate") && argc >= 3)
        {
            // The command goes to the replicas as it is, in the stream's current db, without running here.
            var cmd = new Server.RespCommandBuffer();
            cmd.BeginArray(argc - 2);
            for (int j = 2; j < argc; j++) cmd.Bulk(args[j]);
            c.Server.Replication.FeedInCurrentDb(cmd.Span);
            c.Reply.Ok();
        }
        else if (args.Is(1, "aof-flush-sleep") && argc == 3)
        {
            c.Server.Aof.FlushSleepUs = Arguments.Atoi(args.ToStringAt(2));
            c.Reply.Ok();
        }
        else if (args.Is(1, "loadaof") && argc == 2) AofCommands.DebugLoadAof(c);
        else if (args.Is(1, "quicklist-packed-threshold") && argc == 3) QuicklistPackedThreshold(c);
        else if (args.Is(1, "drop-cluster-packet-filter") && argc == 3)
        {
            // Bus messages of this type are dropped on arrival (-1: none), for tests of lost messages.
            if (c.Server.Cluster is { } cluster) cluster.DropPacketFilter = (int)Arguments.Atoi(args.ToStringAt(2));
            c.Reply.Ok();
        }
        else if (args.Is(1, "clusterlink") && args.Is(2, "kill") && argc == 5) KillClusterLink(c);
        else c.Reply.Error($"unknown subcommand or wrong number of arguments for '{Truncate(args.ToStringAt(1))}'. Try DEBUG HELP.");
    }

    /// <summary>
    /// DEBUG POPULATE count [prefix] [size]: prefix:0 .. prefix:count-1 (existing keys skipped) set
    /// to value:N, or to size bytes starting with value:N and zero-padded. Like Redis: dbAdd and
    /// the modified-key signal, no dirty count, so nothing propagates.
    /// </summary>
    static void Populate(Client c)
    {
        if (!Arguments.TryGetLongInRange(c, 2, 0, long.MaxValue, out long keys)) return;
        long size = 0;
        if (c.Args.Count == 5 && !Arguments.TryGetLongInRange(c, 4, 0, long.MaxValue, out size)) return;
        var db = c.Db;
        var prefixBytes = c.Args.Count >= 4 ? c.Args[3].ToArray() : "key"u8.ToArray();
        Span<byte> digits = stackalloc byte[20];
        for (long j = 0; j < keys; j++)
        {
            System.Buffers.Text.Utf8Formatter.TryFormat(j, digits, out int n);
            var key = new byte[prefixBytes.Length + 1 + n];
            prefixBytes.CopyTo(key, 0);
            key[prefixBytes.Length] = (byte)':';
            digits[..n].CopyTo(key.AsSpan(prefixBytes.Length + 1));
            if (db.LookupWrite(key) != null) continue;
            var value = Encoding.ASCII.GetBytes("value:" + j);
            RedisObject o;
            if (size == 0) o = RedisObject.CreateString(key, value);
            else
            {
                var padded = new byte[size];
                value.AsSpan(0, (int)Math.Min(size, value.Length)).CopyTo(padded);
                o = RedisObject.CreateString(key, padded);
            }
            db.Add(key, o);
            c.Server.SignalModifiedKey(db, key);
        }
        c.Reply.Ok();
    }

    /// <summary>
    /// DEBUG QUICKLIST-PACKED-THRESHOLD size (memtoull units): list elements of size bytes or more
    /// get plain nodes from now on; 0 restores 1 GB. For this server (its event-loop thread).
    /// </summary>
    static void QuicklistPackedThreshold(Client c)
    {
        if (!Server.ConfigEntry.TryParseMemory(c.Args.ToStringAt(2), out long sz) || sz < 0 || !Quicklist.TrySetPackedThreshold((ulong)sz))
            c.Reply.Error("argument must be a memory value bigger than 1 and smaller than 4gb");
        else c.Reply.Ok();
    }

    /// <summary>DEBUG CLUSTERLINK KILL to|from|all node-id: the cron reconnects an outbound link; the peer reopens the inbound one.</summary>
    static void KillClusterLink(Client c)
    {
        if (c.Server.Cluster is not { } cluster)
        {
            c.Reply.Error("Debug option only available for cluster mode enabled setup!");
            return;
        }
        string name = c.Args.ToStringAt(4);
        var node = cluster.LookupNode(name);
        if (node == null)
        {
            c.Reply.Error($"Unknown node {name}");
            return;
        }
        var args = c.Args;
        if (args.Is(3, "from")) node.InboundLink?.Free();
        else if (args.Is(3, "to")) node.Link?.Free();
        else if (args.Is(3, "all"))
        {
            node.Link?.Free();
            node.InboundLink?.Free();
        }
        else
        {
            c.Reply.Error($"Unknown direction {args.ToStringAt(3)}");
            return;
        }
        c.Reply.Ok();
    }

    static string Truncate(string s) => s.Length > 128 ? s[..128] : s;

    static void Help(Client c) => HelpReply.Write(c, "DEBUG",
    [
        "AOF-FLUSH-SLEEP <microsec>",
        "    Server will sleep before flushing the AOF, this is used for testing.",
        "CLUSTERLINK KILL <to|from|all> <node-id>",
        "    Kills the link based on the direction to/from (both) with the provided node.",
        "CONFIG-REWRITE-FORCE-ALL",
        "    Like CONFIG REWRITE but writes all configuration options, including",
        "    keywords not listed in original configuration file or default values.",
        "DIGEST",
        "    Output a hex signature representing the current DB content.",
        "DIGEST-VALUE <key> [<key> ...]",
        "    Output a hex signature of the values of all the specified keys.",
        "DROP-CLUSTER-PACKET-FILTER <packet-type>",
        "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
        "ERROR <string>",
        "    Return a Redis protocol error with <string> as message. Useful for clients",
        "    unit tests to simulate Redis errors.",
        "LOG <message>",
        "    Write <message> to the server log.",
        "REPLICATE <string>",
        "    Replicates the provided string to replicas, allowing data divergence.",
        "OBJECT <key>",
        "    Show low level info about `key` and associated value.",
        "PAUSE-CRON <0|1>",
        "    Stop periodic cron job processing.",
        "POPULATE <count> [<prefix>] [<size>]",
        "    Create <count> string keys named key:<num>. If <prefix> is specified then",
        "    it is used instead of the 'key' prefix. These are not propagated to",
        "    replicas. Cluster slots are not respected so keys not belonging to the",
        "    current node can be created in cluster mode.",
        "QUICKLIST-PACKED-THRESHOLD <size>",
        "    Sets the threshold for elements to be inserted as plain vs packed nodes",
        "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
        "PROTOCOL <type>",
        "    Reply with a test value of the specified type. <type> can be: string,",
        "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
        "    true, false.",
        "RELOAD [option ...]",
        "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
        "    * MERGE: conflicting keys will be loaded from RDB.",
        "    * NOFLUSH: the existing database will not be removed before load, but",
        "      conflicting keys will generate an exception and kill the server.",
        "    * NOSAVE: the database will be loaded from an existing RDB file.",
        "    Examples:",
        "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
        "      the database.",
        "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
        "      existing RDB file.",
        "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
        "      file to the database.",
        "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
        "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
        "    In case NEVER is provided the last observed peak will never be reset",
        "    In case RESET is provided the peak reset time will be restored to the default value",
        "REPLYBUFFER RESIZING <0|1>",
        "    Enable or disable the reply buffer resize cron job",
        "SET-ACTIVE-EXPIRE <0|1>",
        "    Setting it to 0 disables expiring keys in background when they are not",
        "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
        "    default.",
        "SLEEP <seconds>",
        "    Stop the server for <seconds>. Decimals allowed.",
    ]);

    /// <summary>
    /// DEBUG REPLYBUFFER PEAK-RESET-TIME sets how often a client's reply buffer peak (rbp=) starts
    /// again (never = -1, reset = the 5 s default). RESIZING is accepted and checked as Redis does:
    /// an idle client here holds no reply buffer, so none is ever resized (ReplyBuffer's header).
    /// </summary>
    static void ReplyBufferSettings(Client c)
    {
        var args = c.Args;
        var clients = c.Server.Clients;
        if (args.Is(2, "peak-reset-time"))
        {
            if (args.Is(3, "never")) clients.ReplyBufferPeakResetTimeMs = -1;
            else if (args.Is(3, "reset")) clients.ReplyBufferPeakResetTimeMs = ClientManager.DefaultReplyBufferPeakResetTimeMs;
            else if (long.TryParse(args.ToStringAt(3), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long ms)) clients.ReplyBufferPeakResetTimeMs = ms;
            else
            {
                c.Reply.Error("value is not an integer or out of range");
                return;
            }
        }
        c.Reply.Ok();
    }

    /// <summary>"Value at:0x... refcount:N encoding:E serializedlength:N lru:N lru_seconds_idle:N".</summary>
    static void DebugObject(Client c)
    {
        var key = c.Args[2];
        var o = FindLogicallyExpired(c, key);
        if (o == null)
        {
            c.Reply.Error(Errors.NoSuchKey);
            return;
        }
        // Redis shares the integers 0..9999 (refcount INT_MAX) unless an LRU/LFU policy needs per-key clocks.
        bool shared = o.Encoding == ObjEncoding.Int && o.IntValue is >= 0 and < 10000 &&
            !(c.Server.Config.MaxMemory > 0 && (c.Server.Config.MaxMemoryPolicy.Contains("lru", StringComparison.Ordinal) || c.Server.Config.MaxMemoryPolicy.Contains("lfu", StringComparison.Ordinal)));
        long idle = EstimateIdleSeconds(c.Server.Clock.LruClock, o.Lru);
        string addr = "0x" + ((long)System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(o)).ToString("x", CultureInfo.InvariantCulture);
        c.Reply.Status($"Value at:{addr} refcount:{(shared ? int.MaxValue : 1)} encoding:{RedisObject.EncodingName(o.Encoding)} serializedlength:{SerializedLength(o)} lru:{o.Lru} lru_seconds_idle:{idle}{QuicklistExtra(o)}");
    }

    /// <summary>A quicklist's nodes, average entries per node, fill, whether compression is on, and its raw bytes (debug.c's extra).</summary>
    static string QuicklistExtra(RedisObject o)
    {
        if (o.Ptr is not Quicklist ql) return "";
        long sz = 0;
        for (var n = ql.Head; n != null; n = n.Next) sz += n.Sz;
        double avg = (double)ql.Count / ql.Len;
        return string.Create(CultureInfo.InvariantCulture,
            $" ql_nodes:{ql.Len} ql_avg_node:{avg:F2} ql_listpack_max:{ql.Fill} ql_compressed:{(ql.CompressDepth != 0 ? 1 : 0)} ql_uncompressed_size:{sz}");
    }

    /// <summary>estimateObjectIdleTime on the 24-bit seconds LRU clock, with wrap-around.</summary>
    static long EstimateIdleSeconds(int clock, uint lru)
    {
        const long max = (1 << 24) - 1;
        long l = lru & max;
        return clock >= l ? clock - l : clock + (max - l);
    }

    /// <summary>
    /// rdbSavedObjectLen for strings: integers that fit 8/16/32 bits take 2/3/5 bytes, others the
    /// length prefix plus the bytes (LZF compression of long values is not modelled). Other types
    /// report the value's in-memory size estimate.
    /// </summary>
    static long SerializedLength(RedisObject o)
    {
        if (o.Type != ObjType.String) return ObjectSize.Of(o);
        var bytes = o.StringBytes();
        if (bytes.Length <= 11 && RedisObjectInt(bytes, out long v))
        {
            if (v is >= sbyte.MinValue and <= sbyte.MaxValue) return 2;
            if (v is >= short.MinValue and <= short.MaxValue) return 3;
            if (v is >= int.MinValue and <= int.MaxValue) return 5;
        }
        int len = bytes.Length;
        int prefix = len < 64 ? 1 : len < 16384 ? 2 : 5;
        return prefix + len;
    }

    static bool RedisObjectInt(byte[] s, out long v) =>
        Cinnabar.Protocol.RespParser.TryParseLong(s, out v) && v.ToString(CultureInfo.InvariantCulture) == Encoding.ASCII.GetString(s);

    static void Sleep(Client c)
    {
        Strtod.Parse(c.Args[2], out double seconds, out _); // strtod(argv[2], NULL): a bad number sleeps 0
        if (seconds > 0) Thread.Sleep(TimeSpan.FromSeconds(seconds));
        c.Reply.Ok();
    }

    static void Digest(Client c) => c.Reply.Status(DatasetDigest.Hex(DatasetDigest.Compute(c.Server.Databases)));

    /// <summary>Redis's DEBUG reads the dict directly: it sees logically expired keys and expires nothing.</summary>
    static RedisObject? FindLogicallyExpired(Client c, ReadOnlySpan<byte> key) => c.Db.Main.Find(key);

    static void DigestValue(Client c)
    {
        c.Reply.ArrayLen(c.Args.Count - 2);
        for (int i = 2; i < c.Args.Count; i++)
        {
            var digest = new byte[20];
            var o = FindLogicallyExpired(c, c.Args[i]);
            if (o != null) DatasetDigest.XorObject(c.Db, c.Args[i], digest, o);
            c.Reply.Status(DatasetDigest.Hex(digest));
        }
    }

    /// <summary>DEBUG PROTOCOL: one fixed value of each RESP3 type, as debug.c sends them.</summary>
    static void Protocol(Client c)
    {
        var r = c.Reply;
        switch (c.Args.ToStringAt(2).ToLowerInvariant())
        {
            case "string": r.Bulk("Hello World"u8); break;
            case "integer": r.Integer(12345); break;
            case "double": r.Double(3.141); break;
            case "bignum": r.BigNumber("1234567999999999999999999999999999999"); break;
            case "null": r.Null(); break;
            case "array":
                r.ArrayLen(3);
                for (int j = 0; j < 3; j++) r.Integer(j);
                break;
            case "set":
                r.SetLen(3);
                for (int j = 0; j < 3; j++) r.Integer(j);
                break;
            case "map":
                r.MapLen(3);
                for (int j = 0; j < 3; j++)
                {
                    r.Integer(j);
                    r.Boolean(j == 1);
                }
                break;
            case "attrib":
                if (r.Resp3)
                {
                    r.Protocol_("|1\r\n"u8);
                    r.Bulk("key-popularity"u8);
                    r.ArrayLen(2);
                    r.Bulk("key:123"u8);
                    r.Integer(90);
                }
                // Attributes are not replies: a real reply follows.
                r.Bulk("Some real reply following the attribute"u8);
                break;
            case "push":
                if (!r.Resp3)
                {
                    r.Error("RESP2 is not supported by this command");
                    return;
                }
                r.PushLen(2);
                r.Bulk("server-cpu-usage"u8);
                r.Integer(42);
                r.Bulk("Some real reply following the push reply"u8);
                break;
            case "true": r.Boolean(true); break;
            case "false": r.Boolean(false); break;
            case "verbatim": r.Verbatim("This is a verbatim\nstring"); break;
            default:
                r.Error("Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false");
                break;
        }
    }
}
