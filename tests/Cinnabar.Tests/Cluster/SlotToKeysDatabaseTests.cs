// The slot index at the Database level, with a test owner and no server: the primitives RENAME and
// MOVE are made of (Detach, then Add under another key or in another database, which cluster mode
// refuses across slots or databases), SWAPDB's SwapWith and FLUSHDB's Flush of one
// database move or reset exactly that database's index, overwrites index the new object,
// delKeysInSlot hands every deleted key to the owner, and the memory counter stays exact.
using System.Text;
using Cinnabar.Cluster;
using Cinnabar.Keyspace;

namespace Cinnabar.Tests.Cluster;

public class SlotToKeysDatabaseTests
{
    sealed class TestOwner : IKeyspaceOwner
    {
        public long NowMs => 1_000_000_000;
        public bool IsReplica => false;
        public bool ExpiryPaused => false;
        public readonly List<string> SlotDeleted = new();
        public void TouchObject(RedisObject o) { }
        public void InitObjectLru(RedisObject o) { }
        public void OnKeyspaceLookup(Database db, ReadOnlySpan<byte> key, bool hit, bool notify) { }
        public void OnKeyAdded(Database db, ReadOnlySpan<byte> key) { }
        public void OnKeyExpired(Database db, byte[] key) { }
        public void OnSlotKeyDeleted(Database db, RedisObject o) => SlotDeleted.Add($"{db.Id}:{Encoding.ASCII.GetString(o.KeySpan)}");
        public void OnValueFreed(RedisObject o) { }
        public void SignalModifiedKey(Database db, ReadOnlySpan<byte> key) { }
        public void NotifyKeyspaceEvent(Cinnabar.Server.NotifyClass type, string eventName, ReadOnlySpan<byte> key, int dbId) { }
        public void AddDirty(long changes) { }
    }

    readonly TestOwner _owner = new();
    readonly MemoryCounter _memory = new();
    readonly Database _db0, _db1;

    public SlotToKeysDatabaseTests()
    {
        _db0 = new Database(0, _owner, _memory, indexSlots: true);
        _db1 = new Database(1, _owner, _memory, indexSlots: true);
    }

    static byte[] K(string key) => Encoding.ASCII.GetBytes(key);

    static int Slot(string key) => KeyHashSlot.Of(K(key));

    static void AddString(Database db, string key) => db.Add(K(key), RedisObject.CreateString("v"u8));

    /// <summary>The counter equals both databases' data plus their overhead recounted (the index walked slot by slot).</summary>
    void AssertMemoryExact() =>
        Assert.Equal(_db0.ComputeUsedMemory() + ObjectSize.KeyspaceOverhead(_db0) + _db1.ComputeUsedMemory() + ObjectSize.KeyspaceOverhead(_db1), _memory.Bytes);

    [Fact]
    public void ADatabaseWithoutTheIndexSeesNoKeysInSlots()
    {
        var db = new Database(0, _owner);
        AddString(db, "foo");
        Assert.False(db.SlotsIndexed);
        Assert.Equal(0, db.CountKeysInSlot(12182));
        Assert.Empty(db.GetKeysInSlot(12182, 10));
        Assert.Empty(db.NonEmptySlots());
        Assert.Equal(0, db.DeleteKeysInSlot(12182));
        Assert.True(db.Exists(K("foo")));
    }

    [Fact]
    public void MoveLeavesOneIndexForTheOther()
    {
        AddString(_db0, "foo");
        var o = _db0.Detach(K("foo"))!;
        _db1.Add(K("foo"), o);
        Assert.Equal(0, _db0.CountKeysInSlot(12182));
        Assert.Equal(1, _db1.CountKeysInSlot(12182));
        Assert.Contains(o, _db1.SlotsToKeys!.InSlot(12182)!);
        AssertMemoryExact();
    }

    [Fact]
    public void ARenamedKeyMovesToItsNewSlot()
    {
        // RENAME's primitives: the value leaves under its old key and is added under the new one.
        AddString(_db0, "foo");
        var o = _db0.Detach(K("foo"))!;
        _db0.Add(K("bar"), o);
        Assert.Equal(0, _db0.CountKeysInSlot(12182));
        Assert.Equal(["bar"], _db0.GetKeysInSlot(Slot("bar"), 10).Select(k => Encoding.ASCII.GetString(k)));
        AssertMemoryExact();
    }

    [Fact]
    public void SwapWithExchangesTheIndexesWithTheDicts()
    {
        AddString(_db0, "foo");
        AddString(_db1, "bar");
        AddString(_db1, "{bar}2");
        _db0.SwapWith(_db1);
        Assert.Equal(0, _db0.CountKeysInSlot(12182));
        Assert.Equal(2, _db0.CountKeysInSlot(Slot("bar")));
        Assert.Equal([12182], _db1.NonEmptySlots());
        Assert.True(_db0.Delete(K("bar"))); // the index that came with the dict is the one that changes
        Assert.Equal(1, _db0.CountKeysInSlot(Slot("bar")));
        AssertMemoryExact();
    }

    [Fact]
    public void FlushResetsOnlyThatDatabasesIndex()
    {
        for (int i = 0; i < 100; i++) AddString(_db0, "k" + i);
        AddString(_db1, "foo");
        Assert.Equal(100, _db0.Flush());
        Assert.Empty(_db0.NonEmptySlots());
        Assert.Equal(0, _db0.SlotsIndexMemory);
        Assert.Equal(1, _db1.CountKeysInSlot(12182));
        AddString(_db0, "foo");
        Assert.Equal(1, _db0.CountKeysInSlot(12182));
        AssertMemoryExact();
    }

    [Fact]
    public void AnOverwriteIndexesTheNewObject()
    {
        var list = new RedisObject(ObjType.List, ObjEncoding.Listpack, null);
        _db0.Add(K("foo"), RedisObject.CreateString("1"u8));
        _db0.SetKey(K("foo"), list);
        Assert.Contains(list, _db0.SlotsToKeys!.InSlot(12182)!);
        Assert.Equal(1, _db0.CountKeysInSlot(12182));
        _db0.SetKey(K("foo"), RedisObject.CreateString("a longer string than the first one was"u8));
        Assert.True(_db0.Delete(K("foo")));
        Assert.Equal(0, _db0.CountKeysInSlot(12182));
        AssertMemoryExact();
    }

    [Fact]
    public void DeleteKeysInSlotHandsEveryDeletedKeyToTheOwner()
    {
        for (int i = 0; i < 5; i++) AddString(_db0, "{s}" + i);
        _db0.SetExpire(K("{s}0"), 2_000_000_000);
        AddString(_db0, "other");
        AddString(_db1, "{s}0");
        Assert.Equal(5, _db0.DeleteKeysInSlot(Slot("s")));
        Assert.Equal(Enumerable.Range(0, 5).Select(i => "0:{s}" + i), _owner.SlotDeleted.Order());
        Assert.Equal(1, _db0.Count);
        Assert.Equal(0, _db0.Expires.Count);
        Assert.Equal(1, _db1.CountKeysInSlot(Slot("s")));
        AssertMemoryExact();
    }

    [Fact]
    public void AnEmptiedSlotKeepsNoMemory()
    {
        for (int i = 0; i < 1000; i++) AddString(_db0, "{m}" + i);
        long withKeys = _db0.SlotsIndexMemory;
        for (int i = 0; i < 1000; i++) _db0.Delete(K("{m}" + i));
        Assert.True(_db0.SlotsIndexMemory < withKeys);
        Assert.Equal(KeyHashSlot.Slots * 8 + 24, _db0.SlotsIndexMemory); // the slot table alone
        Assert.Empty(_db0.NonEmptySlots());
        AssertMemoryExact();
    }
}
