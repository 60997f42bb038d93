// One of the numbered databases (Redis's redisDb): the main dict of keys to objects, the
// expires dict of keys to absolute unix-ms deadlines, and the lookup functions that apply
// passive expiry and touch the LRU/LFU field on every access, so an expired key is never
// observable. Writes go through a WriteScope (BeginWrite); every primitive that changes or
// removes a linked value calls the pre-write hook first. With cluster-enabled, the keys of each
// hash slot are indexed too (SlotToKeys), kept where the main dict links and unlinks. All calls
// happen on the loop thread.
namespace Cinnabar.Keyspace;

public sealed class Database
{
    public readonly int Id;
    /// <summary>Keys to objects: each RedisObject is its own chain node (no separate entry).</summary>
    public EntryDict<RedisObject> Main { get; private set; } = new();

    /// <summary>Keys to deadlines; an entry shares its key array with the key's object, as Redis shares the sds.</summary>
    public EntryDict<ExpireEntry> Expires { get; private set; } = new();
    readonly IKeyspaceOwner _owner;

    /// <summary>db->slots_to_keys: the keys of each hash slot, with cluster-enabled only (null otherwise).</summary>
    SlotToKeys? _slots;

    /// <summary>
    /// Set while a snapshot is in progress: called before any linked value changes or leaves.
    /// Null otherwise, so the write path pays one null check for it.
    /// </summary>
    public IPreWriteHook? PreWriteHook;

    /// <summary>
    /// The mark a key linked now gets (RedisObject.SnapshotMark): the last snapshot's epoch bit,
    /// the same in every database of a server, so a running snapshot skips keys created after it began.
    /// </summary>
    public bool SnapshotMark;

    /// <summary>Running estimate of the bytes held by this database's keys and values; every change also goes to the server's total.</summary>
    public long UsedMemory
    {
        get => _usedMemory;
        set
        {
            _memory.Bytes += value - _usedMemory;
            _usedMemory = value;
        }
    }
    long _usedMemory;

    /// <summary>The server's keyspace total: this database's data plus its dicts' tables and expires entries.</summary>
    readonly MemoryCounter _memory;

    /// <summary>Average TTL of sampled keys (ms), reported in INFO keyspace.</summary>
    public long AvgTtl;

    /// <summary>Where the active expire cycle resumes scanning this db (expires_cursor).</summary>
    public ulong ExpiresCursor;

    /// <param name="indexSlots">cluster-enabled: keep the keys of each hash slot (fixed for the database's life).</param>
    public Database(int id, IKeyspaceOwner owner, MemoryCounter? memory = null, bool indexSlots = false)
    {
        Id = id;
        _owner = owner;
        _memory = memory ?? new MemoryCounter();
        if (indexSlots) _slots = new SlotToKeys();
        AttachDictMemory();
    }

    /// <summary>The dicts' buckets and expires entries, and the slot index, count toward used memory (ObjectSize.KeyspaceOverhead).</summary>
    void AttachDictMemory()
    {
        Main.AttachMemory(_memory, 0);
        Expires.AttachMemory(_memory, ObjectSize.DictEntryOverhead);
        Main.ExpandPolicy = Expires.ExpandPolicy = _owner.DictExpandPolicy;
        _slots?.AttachMemory(_memory);
    }

    public long Count => Main.Count;

    internal IKeyspaceOwner Owner => _owner;

    /// <summary>
    /// Opens a write on key, whose current value o the caller looked up (null when missing):
    /// the pre-write hook sees o before the caller changes it.
    /// </summary>
    public WriteScope BeginWrite(ReadOnlySpan<byte> key, RedisObject? o)
    {
        if (o != null) PreWriteHook?.BeforeWrite(this, o);
        return new WriteScope(this, key, o);
    }

    /// <summary>Opens a write on a key the caller replaces or deletes without reading it (a *STORE destination).</summary>
    public WriteScope BeginWrite(ReadOnlySpan<byte> key) => BeginWrite(key, Lookup(key, touch: false));

    /// <summary>
    /// Removes the key if its TTL has passed (expireIfNeeded). Returns true if the key is (now)
    /// logically expired. On a replica the primary's commands still see the key (its DEL will
    /// come), other reads see it missing but leave it, and a write (forceDelete, a writable
    /// replica's client) deletes it, as Redis's EXPIRE_FORCE_DELETE_EXPIRED.
    /// </summary>
    public bool ExpireIfNeeded(ReadOnlySpan<byte> key, bool forceDelete = false)
    {
        if (Expires.Count == 0) return false;
        var e = Expires.Find(key);
        if (e == null) return false;
        // keyIsExpired: a key is expired once now > when (a deadline equal to now still lives).
        if (!IsExpiredAt(e.When, _owner.NowMs) || _owner.Loading) return false;
        if (_owner.IsReplica)
        {
            if (_owner.ExecutingMasterCommand) return false;
            if (!forceDelete) return true;
        }
        if (_owner.ExpiryPaused) return true;
        DeleteExpired(e.KeySpan.ToArray());
        return true;
    }

    public static bool IsExpiredAt(long whenMs, long nowMs) => nowMs > whenMs;

    /// <summary>keyIsExpired without deleting: for KEYS and other iterations that must not mutate the dict.</summary>
    public bool IsKeyExpired(ReadOnlySpan<byte> key)
    {
        long when = GetExpire(key);
        return when != -1 && IsExpiredAt(when, _owner.NowMs);
    }

    /// <summary>Deletes an expired key and fans out the side effects (stats, notification, propagation).</summary>
    public void DeleteExpired(byte[] key)
    {
        Delete(key);
        _owner.OnKeyExpired(this, key);
    }

    /// <summary>lookupKeyRead: passive expiry, LRU touch, keyspace hit/miss stats, "keymiss" event on a miss.</summary>
    public RedisObject? LookupRead(ReadOnlySpan<byte> key) => LookupRead(key, touch: true);

    /// <summary>
    /// lookupKeyReadWithFlags: with touch false (LOOKUP_NOTOUCH) the LRU/LFU field is left alone;
    /// with notify false (LOOKUP_NONOTIFY, OBJECT) a miss sends no "keymiss" event.
    /// </summary>
    public RedisObject? LookupRead(ReadOnlySpan<byte> key, bool touch, bool notify = true)
    {
        var o = Lookup(key, touch);
        _owner.OnKeyspaceLookup(this, key, o != null, notify);
        return o;
    }

    /// <summary>lookupKeyWrite: passive expiry (deleting even on a writable replica) and LRU touch, no hit/miss stats.</summary>
    public RedisObject? LookupWrite(ReadOnlySpan<byte> key) => Lookup(key, touch: true, forceDeleteExpired: true);

    /// <summary>Lookup without stats; touches the LRU unless the caller says not to.</summary>
    public RedisObject? Lookup(ReadOnlySpan<byte> key, bool touch = true, bool forceDeleteExpired = false)
    {
        if (ExpireIfNeeded(key, forceDeleteExpired)) return null;
        var o = Main.Find(key);
        if (o == null) return null;
        if (touch) _owner.TouchObject(o);
        return o;
    }

    public bool Exists(ReadOnlySpan<byte> key) => Lookup(key, touch: false) != null;

    /// <summary>Adds a key that does not exist (dbAdd): sends the "new" event.</summary>
    public void Add(ReadOnlySpan<byte> key, RedisObject value)
    {
        ulong hash = EntryDict<RedisObject>.HashKey(key);
        if (Main.Find(key, hash) != null) throw new InvalidOperationException("dbAdd: the key already exists");
        AddNew(key, value, hash);
    }

    /// <summary>
    /// dbAddRDBLoad: adds a key read from an RDB file, without the "new" event or KeyAdded (nobody
    /// observes a load). The value already carries its key; hashed once for the look-up and the
    /// link; false (nothing changed) when the key exists.
    /// </summary>
    public bool TryAddForLoad(RedisObject value)
    {
        var key = value.KeySpan;
        ulong hash = EntryDict<RedisObject>.HashKey(key);
        if (Main.Find(key, hash) != null) return false;
        _owner.InitObjectLru(value);
        value.SnapshotMark = SnapshotMark;
        Main.Link(value, hash);
        _slots?.Add(value);
        UsedMemory += ObjectSize.OfKey(value);
        return true;
    }

    void AddNew(ReadOnlySpan<byte> key, RedisObject value, ulong hash)
    {
        _owner.InitObjectLru(value);
        value.SnapshotMark = SnapshotMark; // linked after a running snapshot began: not in it
        AttachKey(value, key);
        Main.Link(value, hash);
        _slots?.Add(value);
        UsedMemory += ObjectSize.OfKey(value);
        _owner.OnKeyAdded(this, value.KeySpan);
    }

    static void AttachKey(RedisObject o, ReadOnlySpan<byte> key) => o.AttachKey(key);

    /// <summary>
    /// setKey: adds or overwrites. The TTL is removed unless keepTtl (SET KEEPTTL).
    /// Signals the modification (WATCH, tracking) but leaves notifications to the caller.
    /// An overwrite links the new object in the old one's place in its chain (dbSetValue).
    /// </summary>
    public void SetKey(ReadOnlySpan<byte> key, RedisObject value, bool keepTtl = false) =>
        SetKeyGeneric(key, value, keepTtl, signal: true, preWrite: true);

    internal void SetKeyGeneric(ReadOnlySpan<byte> key, RedisObject value, bool keepTtl, bool signal, bool preWrite)
    {
        ExpireIfNeeded(key, forceDelete: true); // a stale key is reclaimed (and counted, notified) before being replaced
        ulong hash = EntryDict<RedisObject>.HashKey(key); // hashed once for the lookup and, for a new key, the insert
        var old = Main.Find(key, hash);
        if (old == null)
        {
            AddNew(key, value, hash);
        }
        else
        {
            if (preWrite) PreWriteHook?.BeforeWrite(this, old);
            // An overwrite keeps the LFU counter (dbSetValue): a hot key stays hot after SET.
            if (!ReferenceEquals(old, value))
            {
                if (_owner.LfuPolicy) value.Lru = old.Lru;
                else _owner.InitObjectLru(value);
                value.SnapshotMark = SnapshotMark;
                // Between containers the new object takes over the old one's key array, which a
                // TTL entry may share. A string's or listpack hash/zset's array also holds its
                // value, so it is never shared that way: the new object gets its own and a kept
                // TTL entry follows it.
                if (!value.KeyBufHoldsValue && !old.KeyBufHoldsValue)
                {
                    value.KeyBuf = old.KeyBuf;
                    value.KeyLen = old.KeyLen;
                }
                else
                {
                    AttachKey(value, key);
                    if (keepTtl && Expires.Count > 0) RetargetExpire(old.KeyBuf, value);
                }
                Main.Replace(old, value, hash);
                _slots?.Replace(old, value);
                UsedMemory += ObjectSize.OfKey(value) - ObjectSize.OfKey(old);
                if (old.Type == ObjType.Stream) _owner.OnStreamRemoved(this, key);
            }
            if (!keepTtl && Expires.Count > 0) Expires.Remove(key);
        }
        if (signal) _owner.SignalModifiedKey(this, key);
    }

    /// <summary>
    /// Gives a string a [key][value] array its caller built (the key already in front), so a value
    /// grown in place of its old array (an HLL promoted to dense) is not copied again.
    /// </summary>
    public void AdoptStringBuffer(RedisObject o, byte[] keyAndValue) => ReplaceStringBuffer(o, keyAndValue);

    /// <summary>
    /// Resizes a string's value area to length bytes (zero-padded growth, truncation on
    /// shrink), keeping the bytes that fit; nothing happens when the size is unchanged. Called
    /// inside a WriteScope on the key, which accounts for the new size.
    /// </summary>
    public void ResizeStringValue(RedisObject o, long length)
    {
        if (o.ValueArea.Length == length) return;
        var buf = new byte[o.KeyLen + length];
        var area = o.ValueArea;
        o.KeyBuf.AsSpan(0, o.KeyLen + (int)Math.Min(area.Length, length)).CopyTo(buf);
        ReplaceStringBuffer(o, buf);
    }

    /// <summary>
    /// Swaps a linked string's array (sdsMakeRoomFor's realloc), inside the caller's WriteScope,
    /// which accounts for the size change. The key's TTL entry shares the array (as Redis's
    /// expires dict shares the key sds), so it follows; otherwise it would keep the old value alive.
    /// </summary>
    void ReplaceStringBuffer(RedisObject o, byte[] buf)
    {
        var old = o.KeyBuf;
        o.KeyBuf = buf;
        if (Expires.Count > 0) RetargetExpire(old, o);
    }

    /// <summary>
    /// A write inside a WriteScope gave o a new key array (a listpack hash or zset that grew or
    /// converted): the TTL entry sharing the old one follows, or it would keep the old array alive.
    /// </summary>
    internal void KeyBufMoved(byte[] oldBuf, RedisObject o)
    {
        if (Expires.Count > 0) RetargetExpire(oldBuf, o);
    }

    /// <summary>Points the TTL entry that shares oldBuf (if any) at o's array.</summary>
    void RetargetExpire(byte[] oldBuf, RedisObject o)
    {
        var x = Expires.Find(o.KeySpan);
        if (x == null || !ReferenceEquals(x.KeyBuf, oldBuf)) return;
        x.KeyBuf = o.KeyBuf;
        x.KeyLen = o.KeyLen;
    }

    /// <summary>Deletes a key and its TTL (dbDelete). Does not signal: callers do, as in Redis.</summary>
    public bool Delete(ReadOnlySpan<byte> key) => DeleteGeneric(key, preWrite: true);

    internal bool DeleteGeneric(ReadOnlySpan<byte> key, bool preWrite)
    {
        if (preWrite) CallPreWriteHook(key);
        var o = Main.Unlink(key);
        if (o == null) return false;
        _slots?.Remove(o);
        if (Expires.Count > 0) Expires.Remove(key);
        UsedMemory -= ObjectSize.OfKey(o);
        _owner.OnValueFreed(o);
        if (o.Type == ObjType.Stream) _owner.OnStreamRemoved(this, key);
        return true;
    }

    /// <summary>
    /// Removes a key and its TTL without freeing the value, which lives on under another name or
    /// in another db (RENAME, MOVE): the freed-value hook must not see it.
    /// </summary>
    public RedisObject? Detach(ReadOnlySpan<byte> key) => DetachGeneric(key, preWrite: true);

    internal RedisObject? DetachGeneric(ReadOnlySpan<byte> key, bool preWrite)
    {
        if (preWrite) CallPreWriteHook(key);
        var o = Main.Unlink(key);
        if (o == null) return null;
        _slots?.Remove(o);
        if (Expires.Count > 0) Expires.Remove(key);
        UsedMemory -= ObjectSize.OfKey(o);
        if (o.Type == ObjType.Stream) _owner.OnStreamRemoved(this, key);
        return o;
    }

    /// <summary>The pre-write hook for the value at key, if the hook is set and the key exists.</summary>
    void CallPreWriteHook(ReadOnlySpan<byte> key)
    {
        if (PreWriteHook != null && Main.Find(key) is { } o) PreWriteHook.BeforeWrite(this, o);
    }

    /// <summary>
    /// Recomputes what UsedMemory should be by walking the keyspace: O(keys), for tests and
    /// debugging the running total (a difference means a write bypassed its WriteScope).
    /// </summary>
    public long ComputeUsedMemory()
    {
        long sum = 0;
        foreach (var o in Main.Entries()) sum += ObjectSize.OfKey(o);
        return sum;
    }

    public void SetExpire(ReadOnlySpan<byte> key, long whenMs) => SetExpireGeneric(key, whenMs, preWrite: true);

    internal void SetExpireGeneric(ReadOnlySpan<byte> key, long whenMs, bool preWrite)
    {
        var o = Main.Find(key);
        if (o == null) return;
        if (preWrite) PreWriteHook?.BeforeWrite(this, o);
        var x = Expires.Find(key);
        if (x != null) x.When = whenMs;
        else Expires.TryLink(new ExpireEntry(o.KeyBuf, o.KeyLen, whenMs)); // shares the key bytes with the object, as Redis does
        // A TTL a client set on a writable replica: nobody else will expire that key (rememberSlaveKeyWithExpire).
        if (_owner.IsReplica && !_owner.ExecutingMasterCommand && !_owner.Loading) _owner.RememberReplicaKeyWithExpire(this, key);
    }

    /// <summary>The absolute expire time in unix ms, or -1.</summary>
    public long GetExpire(ReadOnlySpan<byte> key)
    {
        if (Expires.Count == 0) return -1;
        var e = Expires.Find(key);
        return e == null ? -1 : e.When;
    }

    public bool RemoveExpire(ReadOnlySpan<byte> key) => RemoveExpireGeneric(key, preWrite: true);

    internal bool RemoveExpireGeneric(ReadOnlySpan<byte> key, bool preWrite)
    {
        if (Expires.Count == 0) return false;
        if (preWrite && PreWriteHook != null && Expires.Find(key) != null) CallPreWriteHook(key);
        return Expires.Remove(key);
    }

    /// <summary>Empties the database; returns the number of keys removed.</summary>
    public long Flush()
    {
        PreWriteHook?.BeforeFlush(this);
        long n = Main.Count;
        Main.DetachMemory();
        Expires.DetachMemory();
        Main = new EntryDict<RedisObject>();
        Expires = new EntryDict<ExpireEntry>();
        if (_slots != null)
        {
            _slots.DetachMemory(); // slotToKeyFlush: the index goes with the dict it indexes
            _slots = new SlotToKeys();
        }
        AttachDictMemory();
        UsedMemory = 0;
        AvgTtl = 0;
        ExpiresCursor = 0;
        return n;
    }

    /// <summary>Exchanges contents with another database (SWAPDB).</summary>
    public void SwapWith(Database other)
    {
        PreWriteHook?.BeforeFlush(this);
        other.PreWriteHook?.BeforeFlush(other);
        (Main, other.Main) = (other.Main, Main);
        (Expires, other.Expires) = (other.Expires, Expires);
        (_slots, other._slots) = (other._slots, _slots); // the index moves with the dict it indexes
        AttachDictMemory(); // each database's counter takes its new dicts (the same one between a server's databases)
        other.AttachDictMemory();
        (UsedMemory, other.UsedMemory) = (other.UsedMemory, UsedMemory);
        (AvgTtl, other.AvgTtl) = (other.AvgTtl, AvgTtl);
        (ExpiresCursor, other.ExpiresCursor) = (other.ExpiresCursor, ExpiresCursor);
    }

    // ---------------------------------------------------------------- the Slot to Key API (cluster-enabled)

    /// <summary>The keys of each hash slot are indexed (cluster-enabled); without it the calls below see no keys.</summary>
    public bool SlotsIndexed => _slots != null;

    /// <summary>The index itself (tests check it against the main dict, object by object).</summary>
    internal SlotToKeys? SlotsToKeys => _slots;

    /// <summary>The slot index's share of used memory (MEMORY STATS' overhead.hashtable.slot-to-keys).</summary>
    public long SlotsIndexMemory => _slots?.AccountedMemory ?? 0;

    /// <summary>SlotsIndexMemory recounted from the index (ObjectSize.KeyspaceOverhead, for ComputeUsedMemory).</summary>
    public long ComputeSlotsIndexMemory() => _slots?.ComputeMemory() ?? 0;

    /// <summary>countKeysInSlot: O(1); logically expired keys not yet deleted count, as in Redis.</summary>
    public long CountKeysInSlot(int slot) => _slots?.CountInSlot(slot) ?? 0;

    /// <summary>
    /// getKeysInSlot: up to count keys of slot, in no particular order (logically expired ones
    /// included, as in Redis). A key's array is the keyspace's own when it holds just the key
    /// (any non-string), else a copy; callers must not modify them.
    /// </summary>
    public List<byte[]> GetKeysInSlot(int slot, int count)
    {
        var keys = new List<byte[]>();
        var set = _slots?.InSlot(slot);
        if (set == null || count <= 0) return keys;
        foreach (var o in set)
        {
            keys.Add(o.KeyBuf.Length == o.KeyLen ? o.KeyBuf : o.KeySpan.ToArray());
            if (keys.Count == count) break;
        }
        return keys;
    }

    /// <summary>The slots holding at least one key, ascending: a walk of the 16384-entry table.</summary>
    public IEnumerable<int> NonEmptySlots() => _slots?.NonEmptySlots() ?? [];

    /// <summary>
    /// delKeysInSlot: deletes every key of slot through dbDelete, each then fanned out as the
    /// server's own deletion (IKeyspaceOwner.OnSlotKeyDeleted: DEL propagated at once, WATCH and
    /// tracking signalled, dirty). Returns the number of keys deleted.
    /// </summary>
    public int DeleteKeysInSlot(int slot)
    {
        var set = _slots?.InSlot(slot);
        if (set == null) return 0;
        var victims = set.ToArray(); // each delete changes the set
        int deleted = 0;
        foreach (var o in victims)
        {
            if (!Delete(o.KeySpan)) continue; // the key array outlives the unlink: no copy needed
            _owner.OnSlotKeyDeleted(this, o);
            deleted++;
        }
        return deleted;
    }

    /// <summary>A random key that is not expired (dbRandomKey), or null.</summary>
    public byte[]? RandomKey()
    {
        int maxTries = 100;
        bool allVolatile = Main.Count == Expires.Count;
        while (true)
        {
            var o = Main.FairRandomEntry(); // dbRandomKey uses dictGetFairRandomKey
            if (o == null) return null;
            if (Expires.Count > 0 && Expires.Find(o.KeySpan) is { } x && IsExpiredAt(x.When, _owner.NowMs))
            {
                if (allVolatile && _owner.IsReplica && --maxTries == 0) return o.KeySpan.ToArray();
                if (ExpireIfNeeded(o.KeySpan) && !_owner.IsReplica) continue;
                if (_owner.IsReplica) continue;
            }
            return o.KeySpan.ToArray();
        }
    }
}

/// <summary>An expires entry: the key (shared with the key's object) and its absolute deadline in unix ms.</summary>
public sealed class ExpireEntry : DictEntry
{
    public long When;

    public ExpireEntry(byte[] keyBuf, int keyLen, long when) : base(keyBuf, keyLen) => When = when;
}

/// <summary>What the keyspace needs from the server: the clock, role, and the side-effect fan-out.</summary>
public interface IKeyspaceOwner
{
    long NowMs { get; }
    bool IsReplica { get; }
    bool ExpiryPaused { get; }

    /// <summary>server.current_client == server.master: the primary's stream is being applied.</summary>
    bool ExecutingMasterCommand => false;

    /// <summary>A writable replica's client set a TTL: the replica expires that key itself (expireSlaveKeys).</summary>
    void RememberReplicaKeyWithExpire(Database db, ReadOnlySpan<byte> key) { }

    /// <summary>Loading the dataset: nothing expires meanwhile (keyIsExpired returns 0 while server.loading).</summary>
    bool Loading => false;

    /// <summary>What the keyspace's dicts ask before their tables grow (null: always).</summary>
    IDictExpandPolicy? DictExpandPolicy => null;

    /// <summary>maxmemory-policy is an LFU one (the LRU field holds the LFU counter).</summary>
    bool LfuPolicy => false;
    void TouchObject(RedisObject o);

    /// <summary>Sets a new object's LRU clock, or under LFU the minutes stamp with LFU_INIT_VAL.</summary>
    void InitObjectLru(RedisObject o);
    /// <summary>After a read lookup: hit/miss stats and, when notify, the "keymiss" event.</summary>
    void OnKeyspaceLookup(Database db, ReadOnlySpan<byte> key, bool hit, bool notify);

    /// <summary>After a key is added (dbAdd): the "new" event.</summary>
    void OnKeyAdded(Database db, ReadOnlySpan<byte> key);

    /// <summary>A stream left key (deleted, overwritten, detached): readers blocked on it are told (signalDeletedKeyAsReady).</summary>
    void OnStreamRemoved(Database db, ReadOnlySpan<byte> key) { }
    void OnKeyExpired(Database db, byte[] key);

    /// <summary>delKeysInSlot deleted o (unlinked, still carrying its key): propagation, WATCH/tracking signal, dirty.</summary>
    void OnSlotKeyDeleted(Database db, RedisObject o) { }
    void OnValueFreed(RedisObject o);
    void SignalModifiedKey(Database db, ReadOnlySpan<byte> key);

    /// <summary>notifyKeyspaceEvent, for a WriteScope's end.</summary>
    void NotifyKeyspaceEvent(Cinnabar.Server.NotifyClass type, string eventName, ReadOnlySpan<byte> key, int dbId);

    /// <summary>server.dirty += changes: the count INFO's rdb_changes_since_last_save and propagation read.</summary>
    void AddDirty(long changes);

}
