// The per-slot key index (Database's Slot to Key API) on an in-process cluster node serving every
// slot: after every command path that links or unlinks a key (SET and overwrites of every kind,
// DEL, RENAME, FLUSHDB/FLUSHALL ASYNC, RESTORE, DEBUG RELOAD, lazy and active expiry, eviction)
// the index holds exactly the main dict's objects, slot by slot; delKeysInSlot deletes one slot's
// keys as the server's own deletions (DEL propagated, WATCH touched, dirty, no Pub/Sub event).
// Other databases, MOVE and SWAPDB (refused in cluster mode) are SlotToKeysDatabaseTests'.
using System.Collections.Concurrent;
using System.Text;
using Cinnabar.Cluster;
using Cinnabar.Keyspace;
using Cinnabar.Tests.Commands;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Cluster;

public class SlotToKeysTests : IClassFixture<SingleNodeCluster>
{
    readonly ServerFixture _fx;

    public SlotToKeysTests(SingleNodeCluster cluster)
    {
        _fx = cluster.Fixture;
        using var c = _fx.Connect();
        c.Call("FLUSHALL");
    }

    static int Slot(string key) => KeyHashSlot.Of(Encoding.Latin1.GetBytes(key));

    T OnLoop<T>(Func<T> f) => LoopAccess.Run(_fx.Server, f);

    long CountInSlot(int slot, int db = 0) => OnLoop(() => _fx.Server.Databases[db].CountKeysInSlot(slot));

    string[] KeysInSlot(int slot, int db = 0, int count = int.MaxValue) =>
        OnLoop(() => _fx.Server.Databases[db].GetKeysInSlot(slot, count).Select(k => Encoding.Latin1.GetString(k)).Order().ToArray());

    /// <summary>Every database's index against its main dict: the same keys in every slot, the same non-empty slots, exact memory.</summary>
    void AssertIndexMatchesDict(string when)
    {
        var problems = OnLoop(() =>
        {
            var found = new List<string>();
            foreach (var db in _fx.Server.Databases)
            {
                var expected = new SortedDictionary<int, SortedSet<string>>();
                foreach (var o in db.Main.Entries())
                {
                    int slot = KeyHashSlot.Of(o.KeySpan);
                    // The very object the dict links (an overwrite replaces it), not just its key.
                    if (db.SlotsToKeys!.InSlot(slot)?.Contains(o) != true) found.Add($"db{db.Id}: the object of '{Encoding.Latin1.GetString(o.KeySpan)}' is not indexed");
                    if (!expected.TryGetValue(slot, out var set)) expected[slot] = set = new SortedSet<string>(StringComparer.Ordinal);
                    set.Add(Encoding.Latin1.GetString(o.KeySpan));
                }
                var slots = db.NonEmptySlots().ToArray();
                if (!slots.SequenceEqual(expected.Keys)) found.Add($"db{db.Id}: non-empty slots [{string.Join(",", slots)}], dict has [{string.Join(",", expected.Keys)}]");
                foreach (var (slot, keys) in expected)
                {
                    var indexed = db.GetKeysInSlot(slot, int.MaxValue).Select(k => Encoding.Latin1.GetString(k)).Order(StringComparer.Ordinal);
                    if (db.CountKeysInSlot(slot) != keys.Count || !indexed.SequenceEqual(keys))
                        found.Add($"db{db.Id} slot {slot}: count {db.CountKeysInSlot(slot)} [{string.Join(",", indexed)}], dict [{string.Join(",", keys)}]");
                }
                if (db.SlotsIndexMemory != db.ComputeSlotsIndexMemory()) found.Add($"db{db.Id}: index memory {db.SlotsIndexMemory}, recount {db.ComputeSlotsIndexMemory()}");
            }
            if (_fx.Server.UsedMemory != _fx.Server.ComputeUsedMemory()) found.Add($"used_memory {_fx.Server.UsedMemory}, recount {_fx.Server.ComputeUsedMemory()}");
            return found;
        });
        Assert.True(problems.Count == 0, when + ": " + string.Join("; ", problems));
    }

    [Fact]
    public void ClusterEnabledIndexesEveryDatabase() =>
        Assert.True(OnLoop(() => _fx.Server.Databases.All(db => db.SlotsIndexed)));

    [Fact]
    public void WithoutClusterNothingIsIndexed()
    {
        using var fx = new ServerFixture();
        using var c = fx.Connect();
        c.Call("SET", "foo", "1");
        var (indexed, count, keys, deleted, memory) = LoopAccess.Run(fx.Server, () =>
        {
            var db = fx.Server.Databases[0];
            return (db.SlotsIndexed, db.CountKeysInSlot(12182), db.GetKeysInSlot(12182, 10).Count, db.DeleteKeysInSlot(12182), db.SlotsIndexMemory);
        });
        Assert.False(indexed);
        Assert.Equal(0, count);
        Assert.Equal(0, keys);
        Assert.Equal(0, deleted);
        Assert.Equal(0, memory);
        Assert.Equal(":1", c.CallS("EXISTS", "foo"));
    }

    [Fact]
    public void AddedKeysOfEveryTypeAreCountedInTheirSlot()
    {
        using var c = _fx.Connect();
        c.Call("SET", "foo", "1");
        c.Call("RPUSH", "{foo}list", "a", "b");
        c.Call("HSET", "{foo}hash", "f", "v");
        c.Call("SADD", "{foo}set", "m");
        c.Call("ZADD", "{foo}zset", "1", "m");
        c.Call("XADD", "{foo}stream", "*", "f", "v");
        c.Call("SET", "bar", "1");
        Assert.Equal(6, CountInSlot(12182));
        Assert.Equal(["foo", "{foo}hash", "{foo}list", "{foo}set", "{foo}stream", "{foo}zset"], KeysInSlot(12182));
        Assert.Equal(1, CountInSlot(Slot("bar")));
        Assert.Equal(0, CountInSlot(0));
        AssertIndexMatchesDict("after adds");
    }

    [Fact]
    public void GetKeysInSlotReturnsAtMostCountKeysAsPlainKeys()
    {
        using var c = _fx.Connect();
        for (int i = 0; i < 10; i++) c.Call("SET", "{t}" + i, "a value longer than the key " + i);
        c.Call("RPUSH", "{t}list", "x");
        int slot = Slot("t");
        Assert.Equal(3, KeysInSlot(slot, count: 3).Length);
        Assert.Empty(KeysInSlot(slot, count: 0));
        var all = KeysInSlot(slot);
        Assert.Equal(11, all.Length);
        Assert.All(all, k => Assert.StartsWith("{t}", k)); // a string's array holds its value too: only the key comes back
        Assert.Equal(Enumerable.Range(0, 10).Select(i => "{t}" + i).Append("{t}list").Order(), all.Order());
    }

    [Fact]
    public void DeletedKeysLeaveTheirSlot()
    {
        using var c = _fx.Connect();
        c.Call("SET", "foo", "1");
        c.Call("SET", "{foo}2", "1");
        c.Call("RPUSH", "{foo}list", "a");
        c.Call("DEL", "foo");
        c.Call("UNLINK", "{foo}2");
        c.Call("LPOP", "{foo}list"); // an emptied container goes too
        Assert.Equal(0, CountInSlot(12182));
        Assert.Empty(OnLoop(() => _fx.Server.Databases[0].NonEmptySlots().ToArray()));
        AssertIndexMatchesDict("after deletes");
    }

    [Fact]
    public void OverwritesKeepOneEntryPerKey()
    {
        using var c = _fx.Connect();
        c.Call("SET", "foo", "1");
        c.Call("SET", "foo", "2");
        c.Call("SET", "foo", "a much longer value that is no longer an embedded string at all");
        c.Call("APPEND", "foo", "grown in place of its old array");
        c.Call("SETRANGE", "foo", "200", "x");
        c.Call("SET", "foo", "10");
        c.Call("INCR", "foo");
        c.Call("GETSET", "foo", "v");
        c.Call("PEXPIRE", "foo", "100000");
        c.Call("SET", "foo", "w", "KEEPTTL");
        c.Call("RPUSH", "{foo}l", "a");
        c.Call("SET", "{foo}l", "a string now");
        c.Call("SADD", "{foo}s1", "a");
        c.Call("SADD", "{foo}s2", "b");
        c.Call("SUNIONSTORE", "{foo}s1", "{foo}s1", "{foo}s2"); // a set replaced by a set
        c.Call("SUNIONSTORE", "{foo}l", "{foo}s1");              // a string replaced by a set
        c.Call("COPY", "{foo}s2", "{foo}s1", "REPLACE");
        c.Call("SET", "{foo}n", "1");
        c.Call("INCRBYFLOAT", "{foo}n", "1.5");
        c.Call("SETBIT", "{foo}n", "100", "1");
        c.Call("PFADD", "{foo}h", "a", "b");
        Assert.Equal(6, CountInSlot(12182));
        AssertIndexMatchesDict("after overwrites");
    }

    [Fact]
    public void RenameReplacesTheKeyInItsSlot()
    {
        // Cluster mode refuses a RENAME across slots (CROSSSLOT); SlotToKeysDatabaseTests moves a key between slots.
        using var c = _fx.Connect();
        int slot = Slot("r");
        c.Call("SET", "{r}a", "1");
        c.Call("RPUSH", "{r}list", "a");
        c.Call("SET", "{r}zap", "old");
        Assert.Equal("+OK", c.CallS("RENAME", "{r}a", "{r}b"));
        Assert.Equal(["{r}b", "{r}list", "{r}zap"], KeysInSlot(slot));
        Assert.Equal("+OK", c.CallS("RENAME", "{r}list", "{r}zap")); // over an existing key of another type
        Assert.Equal(["{r}b", "{r}zap"], KeysInSlot(slot));
        Assert.Equal(":1", c.CallS("RENAMENX", "{r}b", "{r}c"));
        Assert.Equal(["{r}c", "{r}zap"], KeysInSlot(slot));
        AssertIndexMatchesDict("after renames");
    }

    [Fact]
    public void FlushesEmptyTheIndex()
    {
        using var c = _fx.Connect();
        for (int i = 0; i < 100; i++) c.Call("SET", "k" + i, "v");
        c.Call("FLUSHDB");
        Assert.Equal(0, OnLoop(() => _fx.Server.Databases[0].SlotsIndexMemory));
        c.Call("SET", "foo", "1");
        AssertIndexMatchesDict("after FLUSHDB");
        for (int i = 0; i < 100; i++) c.Call("SET", "k" + i, "v");
        c.Call("FLUSHDB", "ASYNC");
        Assert.Equal(0, CountInSlot(12182));
        AssertIndexMatchesDict("after FLUSHDB ASYNC");
        for (int i = 0; i < 100; i++) c.Call("SET", "k" + i, "v");
        c.Call("FLUSHALL", "ASYNC");
        Assert.Empty(OnLoop(() => _fx.Server.Databases.SelectMany(db => db.NonEmptySlots()).ToArray()));
        Assert.Equal(0, OnLoop(() => _fx.Server.Databases.Sum(db => db.SlotsIndexMemory)));
        c.Call("SET", "foo", "again");
        Assert.Equal(["foo"], KeysInSlot(12182));
        AssertIndexMatchesDict("after FLUSHALL ASYNC");
        c.Call("FLUSHALL", "SYNC");
        AssertIndexMatchesDict("after FLUSHALL SYNC");
    }

    [Fact]
    public void ExpiredKeysLeaveTheIndexLazilyAndActively()
    {
        using var c = _fx.Connect();
        c.Call("SET", "foo", "1", "PX", "1");
        Thread.Sleep(20);
        Assert.True(c.Call("GET", "foo").IsNull); // lazy expiry
        Assert.Equal(0, CountInSlot(12182));
        for (int i = 0; i < 50; i++) c.Call("SET", "vol" + i, "v", "PX", "5");
        c.Call("SET", "persistent", "v");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (c.Call("DBSIZE").Integer > 1 && sw.ElapsedMilliseconds < 10_000) Thread.Sleep(20);
        Assert.Equal(1, c.Call("DBSIZE").Integer); // the active cycle deleted them without any access
        Assert.Equal(["persistent"], OnLoop(() => _fx.Server.Databases[0].NonEmptySlots().SelectMany(s => _fx.Server.Databases[0].GetKeysInSlot(s, 10)).Select(k => Encoding.Latin1.GetString(k)).ToArray()));
        AssertIndexMatchesDict("after expiry");
    }

    [Fact]
    public void RestoreAndDebugReloadIndexTheirKeys()
    {
        using var c = _fx.Connect();
        c.Call("RPUSH", "foo", "a", "b");
        c.Call("SET", "{foo}s", "string");
        c.Call("SET", "bar", "1", "PX", "100000");
        var dump = c.Call("DUMP", "foo").Text!;
        c.Call("DEL", "foo");
        Assert.Equal("+OK", c.CallS("RESTORE", "foo", "0", dump));
        Assert.Equal("+OK", c.CallS("RESTORE", "{foo}s", "0", dump, "REPLACE")); // a string replaced by a list
        Assert.Equal(2, CountInSlot(12182));
        AssertIndexMatchesDict("after RESTORE");
        Assert.Equal("+OK", c.CallS("DEBUG", "RELOAD"));
        Assert.Equal(["foo", "{foo}s"], KeysInSlot(12182));
        Assert.Equal(["bar"], KeysInSlot(Slot("bar")));
        AssertIndexMatchesDict("after DEBUG RELOAD");
    }

    [Fact]
    public void EvictedKeysLeaveTheIndex()
    {
        using var c = _fx.Connect();
        for (int i = 0; i < 2000; i++) c.Call("SET", "ev" + i, new string('x', 100));
        long used = OnLoop(() => _fx.Server.UsedMemory);
        c.Call("CONFIG", "SET", "maxmemory-policy", "allkeys-random");
        c.Call("CONFIG", "SET", "maxmemory", (used - 100_000).ToString());
        c.Call("SET", "trigger", "1");
        c.Call("CONFIG", "SET", "maxmemory", "0");
        c.Call("CONFIG", "SET", "maxmemory-policy", "noeviction");
        Assert.True(c.Call("DBSIZE").Integer < 2000);
        AssertIndexMatchesDict("after eviction");
    }

    [Fact]
    public void DeleteKeysInSlotDeletesOnlyThatSlot()
    {
        using var c = _fx.Connect();
        for (int i = 0; i < 100; i++) c.Call("SET", "{a}" + i, "v");
        c.Call("RPUSH", "{a}list", "x");
        c.Call("SET", "foo", "1");
        long dirty = Info(c, "rdb_changes_since_last_save");
        int slot = Slot("a");
        Assert.Equal(101, OnLoop(() => _fx.Server.Databases[0].DeleteKeysInSlot(slot)));
        Assert.Equal(0, CountInSlot(slot));
        Assert.Equal(1, c.Call("DBSIZE").Integer);
        Assert.Equal(":1", c.CallS("EXISTS", "foo"));
        Assert.Equal(dirty + 101, Info(c, "rdb_changes_since_last_save"));
        Assert.Equal(0, OnLoop(() => _fx.Server.Databases[0].DeleteKeysInSlot(slot)));
        AssertIndexMatchesDict("after DeleteKeysInSlot");
    }

    static long Info(RespClient c, string field)
    {
        var line = c.Call("INFO").Text!.Split("\r\n").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line[(field.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public void DeleteKeysInSlotTouchesWatchersAndSendsNoPubSubEvent()
    {
        using var c = _fx.Connect();
        using var watcher = _fx.Connect();
        var events = new ConcurrentQueue<string>();
        var publish = _fx.Server.Events.Publish;
        Assert.Equal("+OK", c.CallS("CONFIG", "SET", "notify-keyspace-events", "KEA"));
        try
        {
            _fx.Server.Events.Publish = (channel, message) => events.Enqueue(Encoding.ASCII.GetString(channel));
            c.Call("SET", "foo", "1");
            watcher.Call("WATCH", "foo");
            Assert.NotEmpty(events); // notifications are on
            events.Clear();
            Assert.Equal(1, OnLoop(() => _fx.Server.Databases[0].DeleteKeysInSlot(12182)));
            watcher.Call("MULTI");
            watcher.Call("SET", "{foo}x", "1");
            Assert.True(watcher.Call("EXEC").IsNull); // signalModifiedKey touched the watched key
            Assert.Empty(events); // Redis tells modules only: the key moved, it was not deleted by a client
        }
        finally
        {
            _fx.Server.Events.Publish = publish;
            c.Call("CONFIG", "SET", "notify-keyspace-events", "");
        }
    }

    [Fact]
    public void DeleteKeysInSlotPropagatesEachKeyAsDel()
    {
        using var tap = new ReplicaStreamTap(_fx);
        tap.Client.Call("SET", "{p}1", "a");
        tap.Client.Call("RPUSH", "{p}2", "b");
        Assert.Equal("SET {p}1 a", tap.Next());
        Assert.Equal("RPUSH {p}2 b", tap.Next());
        Assert.Equal(2, OnLoop(() => _fx.Server.Databases[0].DeleteKeysInSlot(Slot("p"))));
        Assert.Equal(["DEL {p}1", "DEL {p}2"], new[] { tap.Next(), tap.Next() }.Order());
        tap.Client.Call("SET", "after", "1"); // each DEL left on its own, bare: nothing else is pending
        Assert.Equal("SET after 1", tap.Next());
    }

    [Fact]
    public void DeleteKeysInSlotPropagatesUnlinkUnderLazyfreeLazyServerDel()
    {
        using var tap = new ReplicaStreamTap(_fx);
        Assert.Equal("+OK", tap.Client.CallS("CONFIG", "SET", "lazyfree-lazy-server-del", "yes"));
        try
        {
            tap.Client.Call("SET", "foo", "a");
            Assert.Equal("SET foo a", tap.Next());
            Assert.Equal(1, OnLoop(() => _fx.Server.Databases[0].DeleteKeysInSlot(12182)));
            Assert.Equal("UNLINK foo", tap.Next());
        }
        finally
        {
            tap.Client.Call("CONFIG", "SET", "lazyfree-lazy-server-del", "no");
        }
    }

    [Fact]
    public void IndexMemoryIsCountedInUsedMemoryAndMemoryStats()
    {
        using var c = _fx.Connect();
        long before = OnLoop(() => _fx.Server.UsedMemory);
        for (int i = 0; i < 1000; i++) c.Call("SET", "m" + i, "v");
        long index = OnLoop(() => _fx.Server.Databases[0].SlotsIndexMemory);
        Assert.True(index >= 1000 * SlotToKeys.EntryCost + KeyHashSlot.Slots * 8, $"index {index}");
        Assert.True(OnLoop(() => _fx.Server.UsedMemory) - before > index);
        var stats = c.Call("MEMORY", "STATS");
        var db0 = stats.Items![stats.Items.FindIndex(i => i.Text == "db.0") + 1];
        Assert.Equal(index, db0.Items![db0.Items.FindIndex(i => i.Text == "overhead.hashtable.slot-to-keys") + 1].Integer);
        AssertIndexMatchesDict("after 1000 keys");
        c.Call("FLUSHALL");
        Assert.Equal(0, OnLoop(() => _fx.Server.Databases[0].SlotsIndexMemory));
        AssertIndexMatchesDict("after FLUSHALL");
    }
}
