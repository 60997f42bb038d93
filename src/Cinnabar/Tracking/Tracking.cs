// Client-side caching (Redis's tracking.c): per-client CLIENT TRACKING state and the
// invalidation messages. Default mode remembers, in one server-wide tracking table (key ->
// client ids, shared by all databases as in Redis), the keys each tracking client read; a
// modification sends those clients an invalidation and forgets the key. BCAST mode instead
// matches modified keys against a prefix table and sends each prefix's batch in beforeSleep.
// Messages are RESP3 pushes, or __redis__:invalidate Pub/Sub messages to a RESP2 redirect target.
using System.Buffers.Binary;
using System.Text;
using Cinnabar.Commands;
using Cinnabar.Keyspace;
using Cinnabar.Networking;

namespace Cinnabar.Tracking;

/// <summary>The CLIENT_TRACKING_* modifiers (CLIENT_TRACKING itself is ClientFlags.Tracking).</summary>
[Flags]
public enum TrackingFlags
{
    None = 0,
    Bcast = 1 << 0,
    OptIn = 1 << 1,
    OptOut = 1 << 2,
    Caching = 1 << 3,
    NoLoop = 1 << 4,
    BrokenRedir = 1 << 5,
}

/// <summary>A client's tracking state: modifiers, client_tracking_redirection and, in BCAST mode, its prefixes.</summary>
public sealed class ClientTracking
{
    public TrackingFlags Flags;
    public long Redirect;
    public SortedSet<byte[]>? Prefixes;

    public bool Has(TrackingFlags f) => (Flags & f) != 0;
}

/// <summary>Lexicographic byte order, the order Redis's radix trees iterate in.</summary>
sealed class ByteOrder : IComparer<byte[]>
{
    public static readonly ByteOrder Instance = new();
    public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
}

/// <summary>bcastState: keys modified in this event loop cycle (with their last modifier, for NOLOOP) and the subscribed clients.</summary>
sealed class BcastState
{
    public SortedDictionary<byte[], Client?> Keys = new(ByteOrder.Instance);
    public readonly List<Client> Clients = new();
}

public sealed class Tracking
{
    static readonly byte[] InvalidateBulk = "invalidate"u8.ToArray(), RedirBrokenBulk = "tracking-redir-broken"u8.ToArray();
    static readonly byte[] MessageBulk = "message"u8.ToArray(), ChannelName = "__redis__:invalidate"u8.ToArray();

    const TrackingFlags ModeFlags = TrackingFlags.OptIn | TrackingFlags.OptOut | TrackingFlags.NoLoop;

    readonly CinnabarServer _server;
    readonly TrackingTable _table = new();
    readonly GetKeysResult _keys = new(); // RememberKeys' reusable key positions
    readonly SortedDictionary<byte[], BcastState> _prefixTable = new(ByteOrder.Instance);

    // tracking_pending_keys: invalidations for the client whose command is running wait until its
    // reply is written; a null key is a flush ("invalidate everything").
    readonly List<(Client Target, byte[]? Key)> _pendingKeys = new();

    int _limitTimeoutCounter;

    /// <summary>server.tracking_clients.</summary>
    public int TrackingClients { get; private set; }
    public long TotalKeys => _table.Count;
    public long TotalItems => _table.TotalItems;
    public long TotalPrefixes => _prefixTable.Count;

    public Tracking(CinnabarServer server) => _server = server;

    /// <summary>CLIENT LIST redir=: the redirection target; -1 when tracking is off or not redirected.</summary>
    public static long RedirectOf(Client c) => c.HasFlag(ClientFlags.Tracking) ? c.TrackingState!.Redirect : -1;

    /// <summary>CLIENT LIST flags= letters after 't' ("R" broken redirect, "B" broadcast), in Redis's order.</summary>
    public static string FlagLetters(Client c)
    {
        var st = c.TrackingState;
        if (st == null) return "";
        return (st.Has(TrackingFlags.BrokenRedir) ? "R" : "") + (st.Has(TrackingFlags.Bcast) ? "B" : "");
    }

    /// <summary>freeClient: tracking is disabled and invalidations still pending for the client dropped.</summary>
    public void FreeClient(Client c)
    {
        DisableTracking(c);
        if (_pendingKeys.Count > 0) _pendingKeys.RemoveAll(p => p.Target == c);
    }

    /// <summary>signalModifiedKey's half: the key's readers are told; expiry and eviction modify as the server (no client).</summary>
    public void OnKeyModified(Client? modifier, ReadOnlySpan<byte> key) => InvalidateKey(modifier, key, bcast: true);

    public static ClientTracking StateOf(Client c) => c.TrackingState ??= new ClientTracking();

    // ------------------------------------------------------------ enable / disable

    /// <summary>enableTracking: the CACHING flag survives, every other modifier is replaced by the new options.</summary>
    public void EnableTracking(Client c, long redirectTo, TrackingFlags options, List<byte[]> prefixes)
    {
        var st = StateOf(c);
        if (!c.HasFlag(ClientFlags.Tracking)) TrackingClients++;
        c.Flags |= ClientFlags.Tracking;
        st.Flags &= ~(TrackingFlags.BrokenRedir | TrackingFlags.Bcast | ModeFlags);
        st.Redirect = redirectTo;
        if ((options & TrackingFlags.Bcast) != 0)
        {
            st.Flags |= TrackingFlags.Bcast;
            if (prefixes.Count == 0) EnableBcastTrackingForPrefix(c, st, []);
            foreach (var p in prefixes) EnableBcastTrackingForPrefix(c, st, p);
        }
        st.Flags |= options & ModeFlags;
    }

    void EnableBcastTrackingForPrefix(Client c, ClientTracking st, byte[] prefix)
    {
        if (!_prefixTable.TryGetValue(prefix, out var bs)) _prefixTable[prefix] = bs = new BcastState();
        if (bs.Clients.Contains(c)) return;
        bs.Clients.Add(c);
        (st.Prefixes ??= new SortedSet<byte[]>(ByteOrder.Instance)).Add(prefix);
    }

    /// <summary>disableTracking: the tracking table keeps the client's id and drops it lazily, as Redis does.</summary>
    public void DisableTracking(Client c)
    {
        var st = c.TrackingState;
        if (st == null) return;
        if (st.Has(TrackingFlags.Bcast) && st.Prefixes != null)
        {
            foreach (var prefix in st.Prefixes)
            {
                var bs = _prefixTable[prefix];
                bs.Clients.Remove(c);
                if (bs.Clients.Count == 0) _prefixTable.Remove(prefix);
            }
            st.Prefixes = null;
        }
        if (c.HasFlag(ClientFlags.Tracking))
        {
            TrackingClients--;
            c.Flags &= ~ClientFlags.Tracking;
            st.Flags = TrackingFlags.None;
        }
    }

    /// <summary>
    /// checkPrefixCollisionsOrReply: 1 when no prefix overlaps. Like Redis 7.0 it returns the
    /// index of a self-overlapping prefix (non-zero after the error is written) when that index
    /// is past the first, so such a command replies with the error and then enables tracking.
    /// </summary>
    public static int CheckPrefixCollisionsOrReply(Client c, List<byte[]> prefixes)
    {
        var existing = c.TrackingState?.Prefixes;
        for (int i = 0; i < prefixes.Count; i++)
        {
            if (existing != null)
            {
                foreach (var p in existing)
                {
                    if (!Overlap(p, prefixes[i])) continue;
                    c.Reply.Error($"Prefix '{Text(prefixes[i])}' overlaps with an existing prefix '{Text(p)}'. Prefixes for a single client must not overlap.");
                    return 0;
                }
            }
            for (int j = i + 1; j < prefixes.Count; j++)
            {
                if (!Overlap(prefixes[i], prefixes[j])) continue;
                c.Reply.Error($"Prefix '{Text(prefixes[i])}' overlaps with another provided prefix '{Text(prefixes[j])}'. Prefixes for a single client must not overlap.");
                return i;
            }
        }
        return 1;
    }

    // stringCheckPrefix: one is a prefix of the other.
    static bool Overlap(byte[] a, byte[] b) => a.AsSpan(0, Math.Min(a.Length, b.Length)).SequenceEqual(b.AsSpan(0, Math.Min(a.Length, b.Length)));

    // %s stops at the first NUL, as the C format does.
    static string Text(byte[] s)
    {
        int nul = Array.IndexOf(s, (byte)0);
        return Encoding.UTF8.GetString(nul < 0 ? s : s.AsSpan(0, nul));
    }

    // ------------------------------------------------------------ remembering keys

    /// <summary>call()'s trackingRememberKeys: a read command's keys are remembered for the client that issued it.</summary>
    public void AfterCall(Client c, CommandDef cmd)
    {
        var current = _server.Dispatcher.CurrentClient;
        // The tracking mode is the issuing client's. Read-only scripts are not tracked themselves:
        // when a script runs a read-only command, the keys the script declared (EVAL's KEYS) are
        // remembered for its caller, as Redis 7.0 does.
        if (cmd.Has(CommandFlags.ReadOnly) && !IsReadOnlyScript(cmd)
            && current != null && current.HasFlag(ClientFlags.Tracking) && !StateOf(current).Has(TrackingFlags.Bcast))
        {
            if (c.HasFlag(ClientFlags.Script) && current.Cmd != null) RememberKeys(current, current, current.Cmd);
            else RememberKeys(current, c, cmd);
        }
    }

    /// <summary>afterCommand's part, at the end of the outermost call(): pending invalidations go out after the reply.</summary>
    public void AfterCommand(Client c, CommandDef cmd)
    {
        HandlePendingKeyInvalidations();
        ResetCaching(c, cmd);
    }

    /// <summary>
    /// resetClient: CLIENT CACHING lasts for the next command only (rejected ones included), or
    /// for the whole transaction; any CLIENT subcommand (they share clientCommand in Redis) keeps it.
    /// </summary>
    public static void ResetCaching(Client c, CommandDef? cmd)
    {
        if (c.HasFlag(ClientFlags.Multi) || (cmd != null && (cmd.Parent ?? cmd).Name == "client")) return;
        if (c.TrackingState != null) c.TrackingState.Flags &= ~TrackingFlags.Caching;
    }

    static bool IsReadOnlyScript(CommandDef cmd) => cmd.Parent == null && cmd.Name is "eval_ro" or "evalsha_ro" or "fcall_ro";

    /// <summary>trackingRememberKeys: the keys 'executing' read go into the table under the tracking client's id.</summary>
    void RememberKeys(Client tracking, Client executing, CommandDef cmd)
    {
        // Shard channels are declared as keys but are not cached data.
        if (cmd.Has(CommandFlags.PubSub)) return;
        var st = StateOf(tracking);
        bool optin = st.Has(TrackingFlags.OptIn), optout = st.Has(TrackingFlags.OptOut), caching = st.Has(TrackingFlags.Caching);
        if ((optin && !caching) || (optout && caching)) return;
        var args = executing.Args;
        if (KeySpecs.GetKeys(cmd, args, _keys) <= 0) return;
        foreach (var k in _keys.Keys) _table.Add(args[k.Pos], tracking.Id);
    }

    // ------------------------------------------------------------ invalidation

    /// <summary>
    /// trackingInvalidateKey: tell every client that may cache the key, then forget it. 'modifier'
    /// is the client that changed it (null for expiry and table eviction), used for BCAST NOLOOP.
    /// </summary>
    public void InvalidateKey(Client? modifier, ReadOnlySpan<byte> key, bool bcast)
    {
        if (bcast && _prefixTable.Count > 0) RememberKeyToBroadcast(modifier, key);
        if (_table.Count == 0 || !_table.TryRemove(key, out var ids, out var keyBytes)) return;
        var current = _server.Dispatcher.CurrentClient;
        foreach (long id in OrderedIds(ids))
        {
            if (!_server.Clients.TryGet(id, out var target) || !target.HasFlag(ClientFlags.Tracking)) continue;
            var st = StateOf(target);
            // A client that switched to BCAST after reading keys gets no default-mode invalidations.
            if (st.Has(TrackingFlags.Bcast)) continue;
            if (st.Has(TrackingFlags.NoLoop) && target == current) continue;
            // The running command's reply must come before its own invalidations.
            if (target == current && _server.Dispatcher.ExecutionNesting > 0) _pendingKeys.Add((target, keyBytes));
            else SendTrackingMessage(target, keyBytes, proto: false);
        }
    }

    /// <summary>Redis keeps ids in a radix tree of their in-memory (little-endian) bytes: that is the send order.</summary>
    static IEnumerable<long> OrderedIds(HashSet<long> ids) =>
        ids.Count == 1 ? ids : ids.OrderBy(id => BinaryPrimitives.ReverseEndianness((ulong)id));

    void HandlePendingKeyInvalidations()
    {
        if (_pendingKeys.Count == 0) return;
        var pending = _pendingKeys.ToArray();
        _pendingKeys.Clear();
        foreach (var (target, key) in pending)
        {
            if (!_server.Clients.Contains(target.Id)) continue;
            if (key != null) SendTrackingMessage(target, key, proto: false);
            else SendTrackingMessage(target, NullProto(target), proto: true);
        }
    }

    static byte[] NullProto(Client c) => c.Reply.Resp3 ? "_\r\n"u8.ToArray() : "$-1\r\n"u8.ToArray();

    /// <summary>
    /// trackingInvalidateKeysOnFlush: FLUSHDB/FLUSHALL send every tracking client a null
    /// ("everything is invalid") instead of one message per key, and empty the table.
    /// </summary>
    public void InvalidateKeysOnFlush()
    {
        if (TrackingClients > 0)
        {
            var current = _server.Dispatcher.CurrentClient;
            foreach (var c in _server.Clients.All.OrderBy(x => x.Id).ToArray())
            {
                if (!c.HasFlag(ClientFlags.Tracking)) continue;
                if (c == current) _pendingKeys.Add((c, null));
                else SendTrackingMessage(c, NullProto(c), proto: true);
            }
        }
        _table.Clear();
    }

    /// <summary>
    /// sendTrackingMessage: an invalidation for 'c', to its redirect target if it has one.
    /// 'proto' means 'payload' is already RESP (a BCAST key array or a flush null); otherwise
    /// it is one key name, sent as a one-element array.
    /// </summary>
    void SendTrackingMessage(Client c, ReadOnlySpan<byte> payload, bool proto)
    {
        var st = StateOf(c);
        bool usingRedirection = false;
        if (st.Redirect != 0)
        {
            if (!_server.Clients.TryGet(st.Redirect, out var redir))
            {
                st.Flags |= TrackingFlags.BrokenRedir;
                // Only a RESP3 client can be told, in band, that its invalidations are lost.
                if (c.Reply.Resp3 && CanWrite(c))
                {
                    Push(c, (w, id) =>
                    {
                        w.PushLen(2);
                        w.Bulk(RedirBrokenBulk);
                        w.Integer(id);
                    }, st.Redirect);
                }
                return;
            }
            c = redir;
            usingRedirection = true;
        }
        if (!CanWrite(c)) return;
        // RESP2 has no push type: only a redirect target in Pub/Sub mode can receive the message.
        if (!c.Reply.Resp3 && !(usingRedirection && c.HasFlag(ClientFlags.PubSub))) return;
        var r = c.Reply;
        bool enabled = r.BeginPush();
        if (r.Resp3)
        {
            r.PushLen(2);
            r.Bulk(InvalidateBulk);
        }
        else
        {
            r.ArrayLen(3);
            r.Bulk(MessageBulk);
            r.Bulk(ChannelName);
        }
        if (proto) r.Protocol_(payload);
        else
        {
            r.ArrayLen(1);
            r.Bulk(payload);
        }
        r.EndPush(enabled);
        AfterWrite(c);
    }

    void Push(Client c, Action<Protocol.ReplyWriter, long> write, long arg)
    {
        bool enabled = c.Reply.BeginPush();
        write(c.Reply, arg);
        c.Reply.EndPush(enabled);
        AfterWrite(c);
    }

    // A client already scheduled to close gets nothing more (prepareClientToWrite refuses it).
    static bool CanWrite(Client c) => c.Socket != null && !c.HasFlag(ClientFlags.CloseAsap);

    void AfterWrite(Client c)
    {
        _server.Clients.CheckOutputBufferLimitsAsync(c);
        _server.ClientEviction.Update(c); // the message may make the receiver evictable
        _server.Clients.QueueReplyWrite(c);
    }

    // ------------------------------------------------------------ broadcast mode

    /// <summary>trackingRememberKeyToBroadcast: the key joins the batch of every prefix it starts with.</summary>
    void RememberKeyToBroadcast(Client? modifier, ReadOnlySpan<byte> key)
    {
        byte[]? keyBytes = null;
        foreach (var (prefix, bs) in _prefixTable)
        {
            if (prefix.Length > key.Length || !key.StartsWith(prefix)) continue;
            bs.Keys[keyBytes ??= key.ToArray()] = modifier;
        }
    }

    /// <summary>trackingBroadcastInvalidationMessages (beforeSleep): one array of keys per prefix to its clients.</summary>
    public void BroadcastInvalidationMessages()
    {
        if (TrackingClients == 0) return;
        foreach (var bs in _prefixTable.Values)
        {
            if (bs.Keys.Count > 0)
            {
                var proto = BuildBroadcastReply(null, bs.Keys)!;
                foreach (var c in bs.Clients.ToArray())
                {
                    if (StateOf(c).Has(TrackingFlags.NoLoop))
                    {
                        // Leave out the keys this client changed last.
                        var adhoc = BuildBroadcastReply(c, bs.Keys);
                        if (adhoc != null) SendTrackingMessage(c, adhoc, proto: true);
                    }
                    else SendTrackingMessage(c, proto, proto: true);
                }
            }
            bs.Keys = new SortedDictionary<byte[], Client?>(ByteOrder.Instance);
        }
    }

    /// <summary>trackingBuildBroadcastReply: a RESP array of the keys, without those 'c' modified last; null if that is empty.</summary>
    static byte[]? BuildBroadcastReply(Client? c, SortedDictionary<byte[], Client?> keys)
    {
        int count = c == null ? keys.Count : keys.Count(kv => kv.Value != c);
        if (c != null && count == 0) return null;
        var sb = new MemoryStream();
        WriteAscii(sb, $"*{count}\r\n");
        foreach (var (key, modifier) in keys)
        {
            if (c != null && modifier == c) continue;
            WriteAscii(sb, $"${key.Length}\r\n");
            sb.Write(key);
            WriteAscii(sb, "\r\n");
        }
        return sb.ToArray();
    }

    static void WriteAscii(MemoryStream s, string text) => s.Write(Encoding.ASCII.GetBytes(text));

    // ------------------------------------------------------------ table size limit

    /// <summary>
    /// trackingLimitUsedSlots: over tracking-table-max-keys, evict random keys (their clients are
    /// told, as if the keys changed), with an effort that grows while the table stays over.
    /// </summary>
    /// <summary>
    /// Before each command and from serverCron (so an idle server trims too, right after CONFIG
    /// SET tracking-table-max-keys), as Redis calls trackingLimitUsedSlots; no client is the
    /// modifier, so even a NOLOOP client hears of its own keys going.
    /// </summary>
    public void LimitUsedSlotsIfTracking()
    {
        if (TrackingClients > 0) LimitUsedSlots();
    }

    void LimitUsedSlots()
    {
        long maxKeys = _server.Config.GetLong("tracking-table-max-keys");
        if (maxKeys == 0) return;
        if (_table.Count <= maxKeys)
        {
            _limitTimeoutCounter = 0;
            return;
        }
        int effort = 100 * (_limitTimeoutCounter + 1);
        while (effort-- > 0 && _table.Count > 0)
        {
            InvalidateKey(null, _table.RandomKey(), bcast: false);
            if (_table.Count <= maxKeys)
            {
                _limitTimeoutCounter = 0;
                return;
            }
        }
        _limitTimeoutCounter++;
    }
}

/// <summary>
/// The tracking table: key -> ids of clients that may cache it, with the item count Redis reports
/// and O(1) random key selection for eviction (a dense key list, swap-removed).
/// </summary>
sealed class TrackingTable
{
    sealed class Entry(int index)
    {
        public readonly HashSet<long> Ids = new();
        public int Index = index;
    }

    readonly Dictionary<byte[], Entry> _map = new(ByteKeyComparer.Instance);
    readonly List<byte[]> _keys = new();

    public int Count => _map.Count;
    public long TotalItems { get; private set; }

    /// <summary>Remembers that client id may cache key; the key is copied only when it is new to the table.</summary>
    public void Add(ReadOnlySpan<byte> key, long id)
    {
        var lookup = _map.GetAlternateLookup<ReadOnlySpan<byte>>();
        if (!lookup.TryGetValue(key, out var e))
        {
            var owned = key.ToArray();
            _map[owned] = e = new Entry(_keys.Count);
            _keys.Add(owned);
        }
        if (e.Ids.Add(id)) TotalItems++;
    }

    public bool TryRemove(ReadOnlySpan<byte> key, out HashSet<long> ids, out byte[] keyBytes)
    {
        var lookup = _map.GetAlternateLookup<ReadOnlySpan<byte>>();
        if (!lookup.TryGetValue(key, out var stored, out var e))
        {
            ids = null!;
            keyBytes = null!;
            return false;
        }
        _map.Remove(stored);
        var last = _keys[^1];
        if (!ReferenceEquals(last, stored))
        {
            _keys[e.Index] = last;
            _map[last].Index = e.Index;
        }
        _keys.RemoveAt(_keys.Count - 1);
        TotalItems -= e.Ids.Count;
        ids = e.Ids;
        keyBytes = stored;
        return true;
    }

    public byte[] RandomKey() => _keys[Random.Shared.Next(_keys.Count)];

    public void Clear()
    {
        _map.Clear();
        _keys.Clear();
        TotalItems = 0;
    }
}
