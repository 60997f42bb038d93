// The write path's one door (DESIGN.md §3): a handler that changes a key opens a WriteScope
// on it (Database.BeginWrite), changes the value, and ends the scope. Opening calls the
// database's pre-write hook, where a snapshot in progress serializes the old value before it
// changes (copy-on-write); ending applies the memory delta, re-points the key's TTL entry when
// a write moved the key's array (a listpack hash or zset carries its key in front), and does
// what Redis's handlers end with by hand: signalModifiedKey, notifyKeyspaceEvent (then "del"
// when a container emptied and its key went) and server.dirty. A ref struct: a scope lives on
// the handler's stack only.
using Cinnabar.Server;

namespace Cinnabar.Keyspace;

/// <summary>
/// The copy-on-write point of a snapshot in progress (Database.PreWriteHook). The keyspace calls
/// it before a linked value changes, so the snapshot can serialize what it has not reached yet.
/// </summary>
public interface IPreWriteHook
{
    /// <summary>o, linked in db, is about to change in place, be overwritten, change its TTL, or leave (delete, expire, evict, RENAME, MOVE).</summary>
    void BeforeWrite(Database db, RedisObject o);

    /// <summary>All of db's keys are about to leave it at once: FLUSHDB, FLUSHALL, SWAPDB.</summary>
    void BeforeFlush(Database db);
}

public ref struct WriteScope
{
    readonly Database _db;
    readonly ReadOnlySpan<byte> _key;
    RedisObject? _o;
    long _before;
    byte[]? _keyBuf;

    internal WriteScope(Database db, ReadOnlySpan<byte> key, RedisObject? o)
    {
        _db = db;
        _key = key;
        _o = o;
        _before = o == null ? 0 : ObjectSize.OfKey(o);
        _keyBuf = o?.KeyBuf;
    }

    /// <summary>The key's value as the scope tracks it: null when the key does not exist (yet, or any more).</summary>
    public readonly RedisObject? Value => _o;

    /// <summary>dbAdd: creates the missing key with o (the "new" event); later changes to o are measured from here.</summary>
    public void Add(RedisObject o)
    {
        _db.Add(_key, o);
        Track(o);
    }

    /// <summary>setKey without its signal (End signals): adds or overwrites, the TTL removed unless keepTtl.</summary>
    public void Set(RedisObject o, bool keepTtl = false)
    {
        ApplyDelta(); // the replaced value may have changed first (SPOP moving its survivors out)
        _db.SetKeyGeneric(_key, o, keepTtl, signal: false, preWrite: false);
        Track(o);
    }

    /// <summary>dbDelete: removes the key and its TTL; false when it does not exist.</summary>
    public bool Delete()
    {
        ApplyDelta();
        _o = null;
        return _db.DeleteGeneric(_key, preWrite: false);
    }

    /// <summary>Removes the key without freeing its value, which moves to another key or db (RENAME, MOVE).</summary>
    public RedisObject? Detach()
    {
        ApplyDelta();
        _o = null;
        return _db.DetachGeneric(_key, preWrite: false);
    }

    /// <summary>Sets the key's absolute deadline in unix ms.</summary>
    public readonly void SetExpire(long whenMs) => _db.SetExpireGeneric(_key, whenMs, preWrite: false);

    /// <summary>PERSIST: removes the key's TTL; false when it had none.</summary>
    public readonly bool RemoveExpire() => _db.RemoveExpireGeneric(_key, preWrite: false);

    /// <summary>
    /// The value changed: applies the memory delta, deletes the key when emptied (a container
    /// left with no elements), signals the modified key, sends eventName (none when null) and
    /// then "del" for a deleted key, and adds dirty to the server's dirty count.
    /// </summary>
    public void End(NotifyClass type, string? eventName, long dirty = 1, bool emptied = false)
    {
        bool deleted = emptied && Delete();
        ApplyDelta();
        var owner = _db.Owner;
        owner.SignalModifiedKey(_db, _key);
        if (eventName != null) owner.NotifyKeyspaceEvent(type, eventName, _key, _db.Id);
        if (deleted) owner.NotifyKeyspaceEvent(NotifyClass.Generic, "del", _key, _db.Id);
        owner.AddDirty(dirty);
    }

    /// <summary>
    /// A change Redis makes without signalModifiedKey (XREADGROUP's deliveries and consumer
    /// creation): the memory delta and the dirty count, no signal and no event.
    /// </summary>
    public void EndWithoutSignal(long dirty)
    {
        ApplyDelta();
        _db.Owner.AddDirty(dirty);
    }

    /// <summary>notifyKeyspaceEvent on the key for an event besides End's (SET's "expire", LMOVE's push onto its own source).</summary>
    public readonly void Notify(NotifyClass type, string eventName) => _db.Owner.NotifyKeyspaceEvent(type, eventName, _key, _db.Id);

    /// <summary>Nothing changed after all (SADD of present members, LREM that matched nothing): no signal, event or dirty.</summary>
    public void EndUnchanged() => ApplyDelta();

    void Track(RedisObject o)
    {
        _o = o;
        _before = ObjectSize.OfKey(o);
        _keyBuf = o.KeyBuf;
    }

    /// <summary>Accounts for what the tracked value grew or shrank since the last measure.</summary>
    void ApplyDelta()
    {
        if (_o == null) return;
        long now = ObjectSize.OfKey(_o);
        _db.UsedMemory += now - _before;
        _before = now;
        if (!ReferenceEquals(_o.KeyBuf, _keyBuf))
        {
            _db.KeyBufMoved(_keyBuf!, _o);
            _keyBuf = _o.KeyBuf;
        }
    }
}
