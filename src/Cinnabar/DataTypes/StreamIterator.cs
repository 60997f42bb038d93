// streamIterator (t_stream.c): walks a stream's entries between two IDs, forwards or backwards,
// node by node through the rax and entry by entry through each listpack (backwards by the
// lp-count field every entry ends with). Deleted entries are skipped unless SkipTombstones is
// off. GetId positions on an entry; GetField then yields its field/value pairs in order.
namespace Cinnabar.DataTypes;

public sealed class StreamIterator : IDisposable
{
    RedisStream _s = null!;
    readonly Rax<byte[]>.Iterator _ri = new(null);
    StreamId _start, _end;
    StreamId? _startArg, _endArg;
    bool _rev;
    StreamId _masterId;
    Listpack _lp;
    bool _inNode, _resume;
    int _ele, _flagsAt, _lpCountAt, _masterFieldsStart, _masterFieldsPtr;
    long _masterFieldsCount, _entryFlags, _unread;
    readonly byte[] _fieldBuf = new byte[24], _valueBuf = new byte[24];

    // The first entry found since the seek, so Restart resumes there instead of walking the node again.
    readonly byte[] _markKey = new byte[StreamId.EncodedSize];
    int _markEle;
    bool _marked;

    /// <summary>Whether deleted entries are skipped (the default); XINFO and edge lookups may see them.</summary>
    public bool SkipTombstones = true;

    [ThreadStatic] static StreamIterator? t_spare;

    StreamIterator() { }

    /// <summary>
    /// streamIteratorStart: null bounds mean the stream's start and end. The iterator is the
    /// thread's spare one when it is free (a command's walks allocate nothing); Dispose gives it back.
    /// </summary>
    public static StreamIterator Start(RedisStream s, StreamId? start, StreamId? end, bool rev)
    {
        var it = t_spare ?? new StreamIterator();
        t_spare = null;
        it._s = s;
        it._ri.Attach(s.Nodes);
        it._rev = rev;
        it._startArg = start;
        it._endArg = end;
        it.SkipTombstones = true;
        it.Seek(start, end);
        return it;
    }

    /// <summary>streamIteratorStop: the iterator may be reused by the next Start on this thread.</summary>
    public void Dispose()
    {
        _s = null!;
        _lp = default;
        _ri.Attach(null);
        t_spare ??= this;
    }

    /// <summary>Back to the first entry of the range (a reply counts its entries, then writes them).</summary>
    public void Restart()
    {
        if (!_marked)
        {
            Seek(_startArg, _endArg);
            return;
        }
        _ri.Seek(RaxSeek.Equal, _markKey);
        _ri.Next();
        EnterNode();
        _ele = _markEle;
        _resume = true;
    }

    void Seek(StreamId? start, StreamId? end)
    {
        _start = start ?? StreamId.Min;
        _end = end ?? StreamId.Max;
        _inNode = _resume = _marked = false;
        Span<byte> key = stackalloc byte[StreamId.EncodedSize];
        if (!_rev)
        {
            if (start is { IsZero: false } st)
            {
                st.Encode(key);
                // The node holding start may begin before it: the last master ID <= start.
                if (!_ri.Seek(RaxSeek.LessOrEqual, key)) _ri.Seek(RaxSeek.First);
            }
            else _ri.Seek(RaxSeek.First);
        }
        else
        {
            if (end is { IsZero: false } en)
            {
                en.Encode(key);
                if (!_ri.Seek(RaxSeek.LessOrEqual, key)) _ri.Seek(RaxSeek.Last);
            }
            else _ri.Seek(RaxSeek.Last);
        }
    }

    /// <summary>streamIteratorGetID: the next entry in range (its ID and field count), or false at the end.</summary>
    public bool GetId(out StreamId id, out long numFields)
    {
        while (true)
        {
            if (_resume) _resume = false; // Restart put _ele where the first entry's walk begins
            else if (!_inNode)
            {
                if (!(_rev ? _ri.Prev() : _ri.Next()))
                {
                    id = default;
                    numFields = 0;
                    return false;
                }
                EnterNode();
                if (!_rev)
                {
                    // Skip the master fields: _ele ends on the master terminator.
                    for (long i = 0; i < _masterFieldsCount; i++) _ele = _lp.Next(_ele);
                }
                else _ele = _lp.Last(); // the last entry's lp-count
            }
            else if (_rev) _ele = _lp.Prev(_flagsAt); // before the entry just emitted: the previous one's lp-count
            else
            {
                // Past what the caller did not read of the entry just emitted, onto its lp-count.
                while (_unread-- > 0) _ele = _lp.Next(_ele);
            }

            while (true)
            {
                if (!_rev)
                {
                    // Step over the previous entry's lp-count (or the master terminator).
                    _ele = _lp.Next(_ele);
                    if (_ele < 0) break;
                }
                else
                {
                    _lpCountAt = _ele;
                    long lpCount = RedisStream.GetInteger(_lp, _ele);
                    if (lpCount == 0) break; // the master entry's terminator: this node is done
                    while (lpCount-- > 0) _ele = _lp.Prev(_ele);
                }

                _flagsAt = _ele;
                long flags = RedisStream.GetInteger(_lp, _ele);
                _ele = _lp.Next(_ele);
                ulong ms = _masterId.Ms + (ulong)RedisStream.GetInteger(_lp, _ele);
                _ele = _lp.Next(_ele);
                ulong seq = _masterId.Seq + (ulong)RedisStream.GetInteger(_lp, _ele);
                _ele = _lp.Next(_ele);
                id = new StreamId(ms, seq);
                if ((flags & RedisStream.FlagSameFields) != 0) numFields = _masterFieldsCount;
                else
                {
                    numFields = RedisStream.GetInteger(_lp, _ele);
                    _ele = _lp.Next(_ele);
                }

                bool live = !SkipTombstones || (flags & RedisStream.FlagDeleted) == 0;
                if (!_rev)
                {
                    if (id >= _start && live)
                    {
                        if (id > _end) return false;
                        Emit(flags, numFields);
                        return true;
                    }
                    long skip = (flags & RedisStream.FlagSameFields) != 0 ? numFields : numFields * 2;
                    for (long i = 0; i < skip; i++) _ele = _lp.Next(_ele);
                }
                else
                {
                    if (id <= _end && live)
                    {
                        if (id < _start) return false;
                        Emit(flags, numFields);
                        return true;
                    }
                    _ele = _lp.Prev(_flagsAt); // the previous entry's lp-count
                }
            }
            _inNode = false;
        }
    }

    /// <summary>Reads the current rax node's master entry: _ele ends on its first field.</summary>
    void EnterNode()
    {
        _masterId = StreamId.Decode(_ri.Key);
        _lp = new Listpack(_ri.Value);
        _ele = _lp.First();           // count
        _ele = _lp.Next(_ele);        // deleted
        _ele = _lp.Next(_ele);        // master num-fields
        _masterFieldsCount = RedisStream.GetInteger(_lp, _ele);
        _ele = _lp.Next(_ele);        // first master field
        _masterFieldsStart = _ele;
        _inNode = true;
        _unread = 0;
    }

    void Emit(long flags, long numFields)
    {
        if (!_marked)
        {
            _marked = true;
            _ri.Key.CopyTo(_markKey);
            // Where GetId's walk starts for this entry: the element before its flags going
            // forwards, its lp-count going backwards.
            _markEle = _rev ? _lpCountAt : _lp.Prev(_flagsAt);
        }
        _entryFlags = flags;
        _masterFieldsPtr = _masterFieldsStart;
        _unread = (flags & RedisStream.FlagSameFields) != 0 ? numFields : numFields * 2;
    }

    /// <summary>
    /// streamIteratorGetField: the next field/value of the current entry. The spans point into
    /// the listpack (or this iterator's buffers for integers) until the iterator moves.
    /// </summary>
    public void GetField(out ReadOnlySpan<byte> field, out ReadOnlySpan<byte> value)
    {
        if ((_entryFlags & RedisStream.FlagSameFields) != 0)
        {
            field = Render(_masterFieldsPtr, _fieldBuf);
            _masterFieldsPtr = _lp.Next(_masterFieldsPtr);
        }
        else
        {
            field = Render(_ele, _fieldBuf);
            _ele = _lp.Next(_ele);
        }
        value = Render(_ele, _valueBuf);
        _ele = _lp.Next(_ele);
        _unread -= (_entryFlags & RedisStream.FlagSameFields) != 0 ? 1 : 2;
    }

    ReadOnlySpan<byte> Render(int p, byte[] buf)
    {
        if (_lp.Get(p, out var s, out long v)) return s;
        System.Buffers.Text.Utf8Formatter.TryFormat(v, buf, out int w);
        return buf.AsSpan(0, w);
    }

    /// <summary>The current entry's flags (XINFO STREAM FULL shows nothing of them, but RDB debugging might).</summary>
    public bool CurrentIsDeleted => (_entryFlags & RedisStream.FlagDeleted) != 0;

    /// <summary>
    /// streamIteratorRemoveEntry: flags the current entry deleted, updates the node's counters (or
    /// drops the node with its last live entry) and the stream's length, then re-seeks from current.
    /// </summary>
    public void RemoveEntry(StreamId current)
    {
        Span<byte> key = stackalloc byte[StreamId.EncodedSize];
        _ri.Key.CopyTo(key);
        var lp = _lp;
        var oldArray = lp.Buf;
        int at = _flagsAt;
        long flags = RedisStream.GetInteger(lp, at);
        lp.InsertInteger(flags | RedisStream.FlagDeleted, at, Listpack.Where.Replace);
        int p = lp.First();
        long live = RedisStream.GetInteger(lp, p);
        if (live == 1) _s.RemoveNode(key); // its last live entry: the whole node goes
        else
        {
            p = lp.InsertInteger(live - 1, p, Listpack.Where.Replace);
            p = lp.Next(p);
            long dead = RedisStream.GetInteger(lp, p);
            lp.InsertInteger(dead + 1, p, Listpack.Where.Replace);
            if (!ReferenceEquals(lp.Buf, oldArray)) _s.SetNode(key, lp.Buf, oldArray);
        }
        _s.Length--;
        if (_rev) Seek(_start, current);
        else Seek(current, _end);
    }
}
