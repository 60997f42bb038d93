// used_memory is a running total (CinnabarServer.UsedMemory: the keyspace, dict tables and
// expires entries, clients' query buffers and reply lists, replicas' reply lists apart) and must
// always equal the walk it replaced (ComputeUsedMemory) through a workload of every type, dict
// growth and shrinking, clients connecting and leaving, big unread replies, partial pipelines,
// FLUSHALL and SWAPDB.
using System.Text;
using Cinnabar.Tests.Commands;
using Cinnabar.Keyspace;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Keyspace;

public class UsedMemoryCounterTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    CinnabarServer Server => fx.Server;

    /// <summary>Counter and recount read together on the loop thread; returns the counter.</summary>
    long AssertCounterEqualsRecount(string when)
    {
        var (used, recount, notCounted, notCountedRecount) = LoopAccess.Run(Server, () =>
            (Server.UsedMemory, Server.ComputeUsedMemory(), Server.MemNotCountedForEvict, Server.ComputeMemNotCountedForEvict()));
        Assert.True(used == recount, $"{when}: used_memory {used}, recount {recount}");
        Assert.True(notCounted == notCountedRecount, $"{when}: mem_not_counted_for_evict {notCounted}, recount {notCountedRecount}");
        return used;
    }

    void WaitForClients(int n)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (LoopAccess.Run(Server, () => Server.Clients.Count) != n && DateTime.UtcNow < deadline) Thread.Sleep(5);
        Assert.Equal(n, LoopAccess.Run(Server, () => Server.Clients.Count));
    }

    static void Pipeline(RespClient c, IEnumerable<string[]> commands)
    {
        var list = commands.ToList();
        c.SendRaw(list.SelectMany(RespClient.Encode).ToArray());
        foreach (var cmd in list)
        {
            var r = c.Read();
            Assert.False(r.IsError, string.Join(" ", cmd.Take(3)) + ": " + r);
        }
    }

    [Fact]
    public void TheRunningTotalEqualsTheRecountThroughAWorkload()
    {
        using var c = fx.Connect();
        c.Call("FLUSHALL");
        int baseClients = LoopAccess.Run(Server, () => Server.Clients.Count);
        AssertCounterEqualsRecount("start");

        // Every type, thousands of keys (the dicts grow and rehash), TTLs added and removed.
        Pipeline(c, Enumerable.Range(0, 3000).SelectMany(i => new[]
        {
            new[] { "SET", "s:" + i, new string('v', i % 200) },
            new[] { "SET", "t:" + i, "x", "EX", "1000" },
            new[] { "HSET", "h:" + (i % 50), "f" + i, "v" },
            new[] { "RPUSH", "l:" + (i % 20), "item" + i },
            new[] { "SADD", "set:" + (i % 30), i.ToString() },
            new[] { "ZADD", "z:" + (i % 40), i.ToString(), "m" + i },
            new[] { "PFADD", "hll", "e" + i },
            new[] { "SETBIT", "bits", (i * 7).ToString(), "1" },
            new[] { "APPEND", "s:" + i, "tail" },
            new[] { "INCR", "n:" + (i % 10) },
        }));
        AssertCounterEqualsRecount("after writes of every type");
        Pipeline(c, Enumerable.Range(0, 3000).SelectMany(i => new[]
        {
            new[] { i % 2 == 0 ? "PERSIST" : "DEL", "t:" + i },
            new[] { "EXPIRE", "s:" + i, "1000" },
            new[] { "RENAME", "s:" + i, "r:" + i },
        }));
        AssertCounterEqualsRecount("after TTL changes, deletes and renames");
        Pipeline(c, Enumerable.Range(0, 3000).Select(i => new[] { "DEL", "r:" + i }));
        LoopAccess.Run(Server, () => Server.Databases[0].Main.ShrinkIfNeeded()); // as databasesCron does
        AssertCounterEqualsRecount("after the dict shrank");

        // Clients connecting, holding a partial command in their query buffer, and leaving.
        var clients = Enumerable.Range(0, 12).Select(_ => fx.Connect()).ToList();
        foreach (var cl in clients) Assert.Equal("PONG", cl.Call("PING").Text);
        WaitForClients(baseClients + 12);
        foreach (var cl in clients.Take(6)) cl.SendRaw("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\npartial");
        Thread.Sleep(100);
        Assert.True(AssertCounterEqualsRecount("with partial commands waiting") > 0);
        foreach (var cl in clients.Take(6)) cl.SendRaw(new string('p', 93) + "\r\n");
        foreach (var cl in clients.Take(6)) Assert.Equal("OK", cl.Read().Text);
        AssertCounterEqualsRecount("after the partial commands completed");
        foreach (var cl in clients.Take(8)) cl.Dispose();
        WaitForClients(baseClients + 4);
        AssertCounterEqualsRecount("after clients left");

        // A big reply the client does not read: most of it waits in the reply list.
        Pipeline(c, Enumerable.Range(0, 200).Select(i => new[] { "RPUSH", "big" }.Concat(Enumerable.Range(0, 100).Select(j => new string('b', 100))).ToArray()));
        var reader = clients[8];
        for (int i = 0; i < 8; i++) reader.Send("LRANGE", "big", "0", "-1");
        Thread.Sleep(200);
        long listBytes = LoopAccess.Run(Server, () => Server.Clients.All.Sum(x => x.Output.ListBytes));
        Assert.True(listBytes > 1_000_000, $"only {listBytes} bytes pending: the reply list was not exercised");
        AssertCounterEqualsRecount("with a big reply pending");

        // The same client as a replica: its reply list moves to the total eviction leaves out.
        LoopAccess.Run(Server, () =>
        {
            var replica = Server.Clients.All.OrderByDescending(x => x.Output.ListBytes).First();
            Server.Clients.MarkReplica(replica);
            return 0;
        });
        Assert.True(LoopAccess.Run(Server, () => Server.MemNotCountedForEvict) > 1_000_000);
        AssertCounterEqualsRecount("with a replica's reply pending");
        for (int i = 0; i < 8; i++) Assert.Equal(20_000, reader.Read().Items!.Count);
        AssertCounterEqualsRecount("after the big replies were read");
        reader.Dispose();
        WaitForClients(baseClients + 3);
        Assert.Equal(0, LoopAccess.Run(Server, () => Server.MemNotCountedForEvict));
        AssertCounterEqualsRecount("after the replica left");

        // SWAPDB moves the data and the dicts between databases; FLUSHALL frees them all.
        c.Call("SELECT", "1");
        Pipeline(c, Enumerable.Range(0, 500).Select(i => new[] { "SET", "db1:" + i, "v", "PX", "100000" }));
        c.Call("SWAPDB", "0", "1");
        AssertCounterEqualsRecount("after SWAPDB");
        c.Call("FLUSHDB");
        AssertCounterEqualsRecount("after FLUSHDB");
        c.Call("FLUSHALL");
        AssertCounterEqualsRecount("after FLUSHALL");
        foreach (var cl in clients.Skip(9)) cl.Dispose();
    }

    [Fact]
    public void DictTablesAndExpiresEntriesAreCountedAsTheyChange()
    {
        var memory = new MemoryCounter();
        var dict = new EntryDict<ExpireEntry>();
        dict.AttachMemory(memory, ObjectSize.DictEntryOverhead);
        void Check() => Assert.Equal(dict.BucketCount * 8 + dict.Count * ObjectSize.DictEntryOverhead, memory.Bytes);
        var keys = Enumerable.Range(0, 2000).Select(i => Encoding.UTF8.GetBytes("k" + i)).ToList();
        foreach (var k in keys)
        {
            dict.TryLink(new ExpireEntry(k, k.Length, 1));
            Check(); // during incremental rehashing both tables count
        }
        Assert.True(dict.BucketCount >= 2048);
        foreach (var k in keys.Take(1990)) dict.Remove(k);
        Check();
        Assert.True(dict.ShrinkIfNeeded());
        while (dict.Rehash(100)) Check();
        Check();
        dict.Clear();
        Assert.Equal(0, memory.Bytes);
        dict.TryLink(new ExpireEntry(keys[0], keys[0].Length, 1));
        dict.DetachMemory();
        Assert.Equal(0, memory.Bytes);
    }
}
