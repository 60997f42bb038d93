// What replication tests wait for and compare, against Cinnabar and redis-server alike: INFO
// fields, the link coming up (wait_for_sync in Redis's suite), offsets caught up
// (wait_for_ofs_sync), and DEBUG DIGEST, which both servers compute the same way. Every wait is
// bounded; a timeout fails with what was awaited.
using System.Diagnostics;

namespace Cinnabar.Tests.Support;

public static class ReplicationWait
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    /// <summary>One INFO field ("" when absent).</summary>
    public static string Info(RespClient c, string field, string section = "replication") =>
        c.Call("INFO", section).Text!.Split("\r\n").FirstOrDefault(l => l.StartsWith(field + ":"))?[(field.Length + 1)..] ?? "";

    public static void WaitFor(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > (timeout ?? Timeout)) throw new Xunit.Sdk.XunitException("timed out waiting for " + what);
            Thread.Sleep(20);
        }
    }

    /// <summary>wait_for_sync: the replica's link to its primary is up.</summary>
    public static void WaitForSync(RespClient replica) =>
        WaitFor(() => Info(replica, "master_link_status") == "up", "the replica's link to come up");

    /// <summary>wait_for_ofs_sync: the replica's offset equals the primary's (it applied everything).</summary>
    public static void WaitForOffsets(RespClient primary, RespClient replica) =>
        WaitFor(() => Info(primary, "master_repl_offset") == Info(replica, "master_repl_offset"), "the replica's offset to reach the primary's");

    public static string Digest(RespClient c) => c.CallS("DEBUG", "DIGEST");

    /// <summary>
    /// The scenario every topology runs, whatever the two servers are: after REPLICAOF, the full
    /// sync's data, the stream, then a dropped link (CLIENT KILL TYPE master on the replica) with
    /// writes meanwhile, resumed by a partial resync (one full sync, one partial on the primary).
    /// </summary>
    public static void AssertSyncsThenResumesAfterDroppedLink(RespClient primary, RespClient replica)
    {
        WaitForSync(replica);
        Assert.Equal(Digest(primary), Digest(replica));
        WriteAfterSync(primary, "one");
        WaitForOffsets(primary, replica);
        Assert.Equal(Digest(primary), Digest(replica));
        Assert.Equal(Info(primary, "master_replid"), Info(replica, "master_replid"));

        Assert.Equal(":1", replica.CallS("CLIENT", "KILL", "TYPE", "master"));
        WriteAfterSync(primary, "two"); // arrives through the backlog
        WaitForSync(replica);
        WaitForOffsets(primary, replica);
        Assert.Equal(Digest(primary), Digest(replica));
        Assert.Equal("1", Info(primary, "sync_full", "stats"));
        Assert.Equal("1", Info(primary, "sync_partial_ok", "stats"));
    }

    /// <summary>Writes at the top of a chain reach its bottom with identical offsets, data and history id.</summary>
    public static void AssertChainIdentical(RespClient top, RespClient middle, RespClient bottom)
    {
        WriteAfterSync(top, "chain");
        WaitForOffsets(top, middle);
        WaitForOffsets(middle, bottom);
        Assert.Equal(Digest(top), Digest(bottom));
        Assert.Equal(Info(top, "master_replid"), Info(bottom, "master_replid"));
    }

    /// <summary>A dataset with every type in each of its encodings, TTLs and two dbs.</summary>
    public static void PopulateEveryType(RespClient c)
    {
        c.Call("SET", "str:int", "12345");
        c.Call("SET", "str:embstr", "hello");
        c.Call("SET", "str:raw", new string('x', 100));
        c.Call("SET", "str:ttl", "v", "EX", "1000");
        c.Call("RPUSH", "list:small", "a", "b", "1", "2");
        c.Call(["RPUSH", "list:big", .. Enumerable.Range(0, 300).Select(i => "element-" + i)]);
        c.Call("SADD", "set:int", "1", "2", "3", "-7");
        c.Call(["SADD", "set:big", .. Enumerable.Range(0, 300).Select(i => "member-" + i)]);
        c.Call("SADD", "set:str", "a", "b");
        c.Call("ZADD", "zset:small", "1.5", "a", "2", "b", "-3.25", "c");
        c.Call(["ZADD", "zset:big", .. Enumerable.Range(0, 200).SelectMany(i => new[] { (i * 0.5).ToString(System.Globalization.CultureInfo.InvariantCulture), "m" + i })]);
        c.Call("HSET", "hash:small", "f1", "v1", "f2", "2");
        c.Call(["HSET", "hash:big", .. Enumerable.Range(0, 200).SelectMany(i => new[] { "field" + i, "value" + i })]);
        c.Call("PFADD", "hll", "a", "b", "c");
        c.Call("SETBIT", "bits", "1000", "1");
        c.Call("GEOADD", "geo", "13.361389", "38.115556", "Palermo");
        c.Call("PEXPIRE", "hash:small", "5000000");
        c.Call("SELECT", "3");
        c.Call("SET", "db3:key", "in db 3");
        c.Call("RPUSH", "db3:list", "x");
        c.Call("SELECT", "0");
    }

    /// <summary>Writes of every kind after the sync: plain, with TTLs, a transaction, another db, deletions.</summary>
    public static void WriteAfterSync(RespClient c, string tag)
    {
        c.Call("SET", "after:" + tag, "1");
        c.Call("INCR", "counter");
        c.Call("LPUSH", "list:small", tag);
        c.Call("ZINCRBY", "zset:big", "0.25", "m7");
        c.Call("HDEL", "hash:big", "field3");
        c.Call("SET", "ttl:" + tag, "v", "PX", "900000");
        c.Call("MULTI");
        c.Call("INCR", "tx");
        c.Call("SADD", "set:int", tag.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        c.Call("EXEC");
        c.Call("SELECT", "3");
        c.Call("DEL", "db3:key");
        c.Call("SELECT", "0");
    }
}
