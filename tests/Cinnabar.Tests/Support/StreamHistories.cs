// Stream histories the persistence and interop tests replay on Cinnabar and redis-server: command
// sequences with explicit IDs (so both servers build the same bytes) that cover multi-node
// streams (stream-node-max-entries 5, stream-node-max-bytes), entries with their own field sets,
// integer-looking fields and values, LZF-sized values, XDEL tombstones, XTRIM inside and across
// nodes, XSETID metadata and empty streams; a consumer-group history for redis-server (groups,
// PELs, claims with fixed TIME, acks, empty consumers); a hand-built payload with a group; and
// XINFO STREAM FULL rendered with the fields that depend on time or node layout masked.
using Cinnabar.DataTypes;

namespace Cinnabar.Tests.Support;

public static class StreamHistories
{
    static string[] C(params string[] args) => args;

    static IEnumerable<string[]> Adds(string key, int from, int to, Func<int, string[]> fields) =>
        Enumerable.Range(from, to - from).Select(i => (string[])["XADD", key, $"{i}-1", .. fields(i)]);

    /// <summary>Histories every command of which Cinnabar has; each builds key "s" (after DEL) with explicit IDs.</summary>
    public static readonly Dictionary<string, string[][]> Plain = new()
    {
        ["one-node-same-fields"] = [.. Adds("s", 1, 8, i => ["name", "n" + i, "count", i.ToString()])],
        ["multi-node-mixed"] =
        [
            C("CONFIG", "SET", "stream-node-max-entries", "5"),
            .. Adds("s", 1, 4, i => ["a", i.ToString(), "b", "x"]),
            C("XADD", "s", "4-0", "a", "1", "c", "y"),
            C("XADD", "s", "4-7", "10", "20", "30", "-40"),
            C("XADD", "s", "5-0", "a", "99999999999", "b", "-1"),
            C("XADD", "s", "5-*", "f", new string('v', 80)),
            C("XADD", "s", "5-*", "f", "0x10", "g", "007"),
            .. Adds("s", 6, 20, i => ["f", "v" + (i % 3), "g", i % 2 == 0 ? "1.5" : "-7"]),
            C("XADD", "s", "20-0", "f", string.Concat(Enumerable.Repeat("abcd", 300))),
            C("XDEL", "s", "2-1", "6-1", "7-1", "8-1", "9-1", "10-1"),
            C("XTRIM", "s", "MINID", "3-1"),
            C("XADD", "s", "21-0", "only", "field"),
            C("XSETID", "s", "30-5", "ENTRIESADDED", "100", "MAXDELETEDID", "25-0"),
        ],
        ["trimmed-by-maxlen"] =
        [
            C("CONFIG", "SET", "stream-node-max-entries", "5"),
            .. Adds("s", 1, 23, i => ["k", "v", "n", i.ToString()]),
            C("XTRIM", "s", "MAXLEN", "7"),
            C("XDEL", "s", "20-1"),
        ],
        ["node-bytes-limit"] =
        [
            C("CONFIG", "SET", "stream-node-max-bytes", "200"),
            .. Adds("s", 1, 30, i => ["field", new string((char)('a' + i % 26), 20 + i)]),
        ],
        ["emptied"] =
        [
            .. Adds("s", 1, 6, i => ["f", i.ToString()]),
            C("XTRIM", "s", "MAXLEN", "0"),
        ],
        ["emptied-by-xdel"] =
        [
            .. Adds("s", 1, 4, i => ["f", i.ToString()]),
            C("XDEL", "s", "1-1", "2-1", "3-1"),
            C("XSETID", "s", "3-1", "MAXDELETEDID", "3-1"),
        ],
    };

    /// <summary>Node limits back to the defaults (the redis-server fixture is shared).</summary>
    public static void ResetConfig(RespClient c)
    {
        c.Call("CONFIG", "SET", "stream-node-max-entries", "100");
        c.Call("CONFIG", "SET", "stream-node-max-bytes", "4096");
    }

    public static void Run(RespClient c, IEnumerable<string[]> cmds)
    {
        foreach (var cmd in cmds)
        {
            var r = c.Call(cmd);
            Assert.False(r.IsError, string.Join(" ", cmd) + " -> " + r.Text);
        }
    }

    /// <summary>Builds Plain[name] as key s (the config reset first and after).</summary>
    public static void Build(RespClient c, string name)
    {
        ResetConfig(c);
        c.Call("DEL", "s");
        Run(c, Plain[name]);
        ResetConfig(c);
    }

    /// <summary>
    /// A consumer-group history for key (redis-server: Cinnabar has no XGROUP/XCLAIM yet): three
    /// nodes, tombstones, groups created at 0, $ and an ID with ENTRIESREAD, deliveries to two
    /// consumers, a claim with a fixed TIME and RETRYCOUNT, an ack, an empty consumer, a NOACK
    /// read, XGROUP SETID, a pending entry deleted from the stream, and a group on an empty stream.
    /// </summary>
    public static string[][] Groups(string key) =>
    [
        C("CONFIG", "SET", "stream-node-max-entries", "5"),
        .. Adds(key, 1, 13, i => i % 4 == 0 ? ["other", i.ToString()] : ["f", "v" + i, "n", i.ToString()]),
        C("XDEL", key, "2-1", "11-1"),
        C("XGROUP", "CREATE", key, "g1", "0"),
        C("XGROUP", "CREATE", key, "g0", "$", "ENTRIESREAD", "3"),
        C("XGROUP", "CREATE", key, "g2", "4-1"),
        C("XGROUP", "CREATE", key, "12345", "0"), // an integer-looking name: int-encoded in RDB
        C("XREADGROUP", "GROUP", "g1", "alice", "COUNT", "3", "STREAMS", key, ">"),
        C("XREADGROUP", "GROUP", "g1", "bob", "COUNT", "3", "STREAMS", key, ">"),
        C("XCLAIM", key, "g1", "carol", "0", "5-1", "TIME", "1700000000000", "RETRYCOUNT", "7", "JUSTID"),
        C("XACK", key, "g1", "4-1"),
        C("XGROUP", "CREATECONSUMER", key, "g2", "dave"),
        C("XREADGROUP", "GROUP", "g2", "erin", "NOACK", "STREAMS", key, ">"),
        C("XREADGROUP", "GROUP", "12345", "777", "COUNT", "2", "STREAMS", key, ">"),
        C("XGROUP", "SETID", key, "g0", "5-1", "ENTRIESREAD", "5"),
        C("XDEL", key, "3-1"),
        C("XGROUP", "CREATE", key + ":empty", "g", "$", "MKSTREAM"),
        C("XGROUP", "CREATECONSUMER", key + ":empty", "g", "lonely"),
        C("CONFIG", "SET", "stream-node-max-entries", "100"),
    ];

    /// <summary>
    /// A small stream built by hand: one node (1-1 and 1-2 with the same fields), a group "g"
    /// (last ID 1-2, entries read 2) in which alice owns 1-1 (delivered at 1700000000000, 3 times)
    /// and bob owns nothing.
    /// </summary>
    public static StreamPayload HandBuilt()
    {
        var lp = StreamPayload.ListpackOf(
            2L, 0L, 1L, "f", 0L,                    // master entry: 2 live, 0 deleted, fields [f], terminator
            2L, 0L, 0L, "a", 4L,                    // 1-1: SAMEFIELDS, f=a
            2L, 0L, 1L, "b", 4L);                   // 1-2: SAMEFIELDS, f=b
        var p = new StreamPayload
        {
            Nodes = [new(StreamPayload.Key(1, 1), lp)],
            Length = 2,
            LastId = new StreamId(1, 2),
            FirstId = new StreamId(1, 1),
            EntriesAdded = 2,
        };
        var alice = new StreamPayload.Consumer("alice"u8.ToArray(), 1700000000500, [StreamPayload.Key(1, 1)]);
        var bob = new StreamPayload.Consumer("bob"u8.ToArray(), 1700000000600, []);
        p.Groups.Add(new("g"u8.ToArray(), new StreamId(1, 2), 2, [new(StreamPayload.Key(1, 1), 1700000000000, 3)], [alice, bob]));
        return p;
    }

    /// <summary>
    /// XINFO STREAM key FULL as text, with each consumer's seen-time masked (and, with
    /// anyLayout, radix-tree-keys/nodes, which differ when the same entries are re-added).
    /// </summary>
    public static string XinfoFull(RespClient c, string key, bool anyLayout = false)
    {
        var r = c.Call("XINFO", "STREAM", key, "FULL");
        Assert.False(r.IsError, r.Text);
        return Render(r, anyLayout);
    }

    static string Render(RespReply r, bool anyLayout)
    {
        if (r.Items == null) return r.ToString();
        var parts = new List<string>();
        for (int i = 0; i < r.Items.Count; i++)
        {
            string? name = r.Items[i].Type is '$' or '+' ? r.Items[i].Text : null;
            parts.Add(Render(r.Items[i], anyLayout));
            bool mask = name == "seen-time" || (anyLayout && name is "radix-tree-keys" or "radix-tree-nodes");
            if (mask && i + 1 < r.Items.Count)
            {
                parts.Add("*");
                i++;
            }
        }
        return "[" + string.Join(", ", parts) + "]";
    }
}
