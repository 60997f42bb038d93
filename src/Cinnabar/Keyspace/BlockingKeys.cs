// Blocking operations on keys (Redis's blocked.c): BLPOP and friends, later BZPOPMIN and
// XREAD BLOCK. A client that must wait is flagged Blocked (its input is not processed) and
// queued FIFO per (db, key); it never holds the loop. Writes that create or feed a key call
// SignalKeyAsReady; after each command and in beforeSleep the ready keys are walked and each
// waiter's Serve callback (the command's own semantics, captured when it blocked) is offered
// the key in order, through call() (Dispatcher.CallBlocked), until one declines. Timeouts are absolute; a one-shot timer is armed at the
// nearest deadline (cron double-checks), and the timeout reply is the null array, as in 7.0.
using Cinnabar.Networking;

namespace Cinnabar.Keyspace;

public enum BlockType { None, List, ZSet, Stream, Wait, Shutdown }

/// <summary>Per-client blocking state (the bpop part of Redis's client struct).</summary>
public sealed class BlockState
{
    public BlockType Type;
    public Database? Db;
    public readonly List<byte[]> Keys = new();

    /// <summary>Absolute unix-ms deadline, 0 = wait forever.</summary>
    public long TimeoutMs;

    /// <summary>Tries to serve the client from the ready key: replies and returns true, or returns false to keep waiting.</summary>
    public Func<Client, Database, byte[], bool>? Serve;

    /// <summary>The blocked command and a copy of its argv (the query buffer moves on): call() serves it with them.</summary>
    public Commands.CommandDef? Cmd;
    public Protocol.CommandArgs? Argv;

    /// <summary>The time the command took when it blocked; counted with the serve, as updateStatsOnUnblock does.</summary>
    public long DurationUs;

    /// <summary>BLOCKED_WAIT: the replication offset the client's writes reached and the replicas it waits for.</summary>
    public long ReplOffset;
    public long NumReplicas;
}

public sealed class BlockingKeys
{
    readonly CinnabarServer _server;
    readonly Dictionary<Database, Dictionary<byte[], LinkedList<Client>>> _blocking = new();
    readonly HashSet<Client> _blocked = new();
    readonly List<(Database Db, byte[] Key)> _readyKeys = new();
    readonly HashSet<(Database, byte[])> _readySet = new(new ReadyKeyComparer());
    readonly List<Client> _unblocked = new();
    long _timerId = -1, _timerWhenMs;

    public BlockingKeys(CinnabarServer server) => _server = server;

    /// <summary>freeClient: a blocked client leaves its key queues and the unblocked list.</summary>
    public void FreeClient(Client c)
    {
        if (c.HasFlag(ClientFlags.Blocked)) UnblockClient(c, requeue: false);
        _unblocked.Remove(c);
    }

    /// <summary>Whether any key became ready during the command (processCommand serves them after call()).</summary>
    public bool HasReadyKeys => _readyKeys.Count > 0;

    /// <summary>Clients currently blocked (INFO blocked_clients).</summary>
    public int BlockedClients => _blocked.Count;

    /// <summary>Whether a blocking command must answer as its non-blocking form (CLIENT_DENY_BLOCKING: MULTI, scripts).</summary>
    public static bool DenyBlocking(Client c) => c.HasFlag(ClientFlags.Multi | ClientFlags.Script | ClientFlags.Fake);

    /// <summary>blockForKeys: parks the client on the keys until served, timed out or unblocked.</summary>
    public static void BlockForKeys(Client c, BlockType type, IEnumerable<byte[]> keys, long timeoutMs, Func<Client, Database, byte[], bool> serve) =>
        c.Server.Blocking.Block(c, type, keys, timeoutMs, serve);

    void Block(Client c, BlockType type, IEnumerable<byte[]> keys, long timeoutMs, Func<Client, Database, byte[], bool> serve)
    {
        var st = c.BlockState ??= new();
        st.Type = type;
        st.Db = c.Db;
        st.TimeoutMs = timeoutMs;
        st.Serve = serve;
        st.Keys.Clear();
        if (!_blocking.TryGetValue(c.Db, out var byKey)) _blocking[c.Db] = byKey = new(KeyComparer.Instance);
        foreach (var k in keys)
        {
            if (st.Keys.Exists(x => x.AsSpan().SequenceEqual(k))) continue; // BLPOP a a: wait once
            st.Keys.Add(k);
            if (!byKey.TryGetValue(k, out var q)) byKey[k] = q = new LinkedList<Client>();
            q.AddLast(c);
        }
        c.Flags |= ClientFlags.Blocked;
        _blocked.Add(c);
        if (timeoutMs > 0) ArmTimer(timeoutMs);
    }

    /// <summary>blockClient(BLOCKED_WAIT): WAIT parks the client until enough replicas acknowledged offset (Replication/WaitForReplicas.cs answers it).</summary>
    public void BlockForReplicas(Client c, long offset, long numReplicas, long timeoutMs)
    {
        var st = c.BlockState ??= new();
        st.Type = BlockType.Wait;
        st.ReplOffset = offset;
        st.NumReplicas = numReplicas;
        st.TimeoutMs = timeoutMs;
        c.Flags |= ClientFlags.Blocked;
        _blocked.Add(c);
        if (timeoutMs > 0) ArmTimer(timeoutMs);
    }

    /// <summary>blockClient(BLOCKED_SHUTDOWN): a SHUTDOWN waiting for replicas; answered only if it fails (Server/ShutdownSequence.cs).</summary>
    public void BlockForShutdown(Client c)
    {
        var st = c.BlockState ??= new();
        st.Type = BlockType.Shutdown;
        st.TimeoutMs = 0;
        c.Flags |= ClientFlags.Blocked;
        _blocked.Add(c);
    }

    /// <summary>A WAIT that was answered (enough acknowledgements) or a SHUTDOWN that failed: the client resumes its input.</summary>
    public void UnblockWaitingClient(Client c)
    {
        _server.Dispatcher.CountUnblocked(c, c.BlockState!);
        UnblockClient(c, requeue: true);
        _server.Clients.QueueReplyWrite(c);
    }

    /// <summary>
    /// disconnectAllBlockedClients (a primary turned replica): clients blocked on keys would wait
    /// for writes that can no longer happen here; they get -UNBLOCKED and are closed.
    /// </summary>
    public void DisconnectAllBlockedClients()
    {
        foreach (var c in _blocked.ToArray())
        {
            if (c.BlockState!.Type is BlockType.Wait or BlockType.Shutdown) continue;
            c.Reply.Error("-UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)");
            UnblockClient(c, requeue: false);
            c.Flags |= ClientFlags.CloseAfterReply;
            _server.Clients.QueueReplyWrite(c);
        }
    }

    /// <summary>
    /// clusterRedirectBlockedClientIfNeeded for every client blocked on keys: one whose key's slot
    /// is no longer served here (or a cluster that went down) gets the redirection and is unblocked.
    /// </summary>
    public void RedirectBlockedClients(Func<Client, byte[], string?> redirect)
    {
        foreach (var c in _blocked.ToArray())
        {
            var st = c.BlockState!;
            if (st.Type is not (BlockType.List or BlockType.ZSet or BlockType.Stream) || st.Keys.Count == 0) continue;
            if (redirect(c, st.Keys[0]) is not { } error) continue;
            c.Reply.Error(error);
            _server.Dispatcher.CountUnblocked(c, st, failed: true);
            UnblockClient(c, requeue: true);
            _server.Clients.QueueReplyWrite(c);
        }
    }

    /// <summary>signalKeyAsReady: a key in the client's db that others may wait on received data; served after the command.</summary>
    public static void SignalKeyAsReady(Client c, ReadOnlySpan<byte> key) => c.Server.Blocking.Signal(c.Db, key);

    /// <summary>dbAdd's signal: only a value that can serve a waiter (list, sorted set, stream) makes the key ready.</summary>
    public void OnKeyAdded(Database db, ReadOnlySpan<byte> key)
    {
        if (!_blocking.TryGetValue(db, out var byKey) || byKey.Count == 0) return;
        if (db.Main.Find(key)?.Type is ObjType.List or ObjType.ZSet or ObjType.Stream) Signal(db, key);
    }

    /// <summary>
    /// scanDatabaseForReadyKeys and scanDatabaseForDeletedStreams (SWAPDB, FLUSHALL): every
    /// waited key of the db that now holds a servable value is ready, and so is every key a
    /// stream reader waits on (a group reader whose stream went away is answered with an error).
    /// </summary>
    public void ScanDatabaseForReadyKeys(Database db)
    {
        if (!_blocking.TryGetValue(db, out var byKey) || byKey.Count == 0) return;
        foreach (var (key, q) in byKey.ToList())
        {
            if (db.Main.Find(key)?.Type is ObjType.List or ObjType.ZSet or ObjType.Stream) Signal(db, key);
            else if (q.Any(c => c.BlockState!.Type == BlockType.Stream)) Signal(db, key);
        }
    }

    /// <summary>signalDeletedKeyAsReady: a stream left the keyspace (deleted, overwritten, renamed away); its group readers must learn it.</summary>
    public void OnStreamRemoved(Database db, ReadOnlySpan<byte> key) => Signal(db, key);

    public void Signal(Database db, ReadOnlySpan<byte> key)
    {
        if (!_blocking.TryGetValue(db, out var byKey) || byKey.Count == 0) return;
        var k = key.ToArray();
        if (!byKey.ContainsKey(k)) return;
        if (_readySet.Add((db, k))) _readyKeys.Add((db, k));
    }

    /// <summary>handleClientsBlockedOnKeys: serves waiters of every ready key, FIFO, until the key runs dry.</summary>
    public void HandleClientsBlockedOnKeys()
    {
        // Serving may make more keys ready (BLMOVE pushes), so loop until no key is left.
        while (_readyKeys.Count > 0)
        {
            var batch = _readyKeys.ToArray();
            _readyKeys.Clear();
            _readySet.Clear();
            foreach (var (db, key) in batch)
            {
                if (!_blocking.TryGetValue(db, out var byKey) || !byKey.TryGetValue(key, out var q)) continue;
                // Only clients waiting when the key became ready are considered in this pass, in
                // FIFO order; a waiter for another type (BLPOP on a key that became a sorted set)
                // is skipped, as Redis serves a ready key only to clients blocked for its type.
                foreach (var c in q.ToArray())
                {
                    var st = c.BlockState!;
                    if (st.Serve == null) continue; // unblocked meanwhile (served through another key)
                    var value = db.Main.Find(key);
                    if (st.Type == BlockType.Stream)
                    {
                        // Readers do not consume: each decides alone, and a group reader also
                        // answers a key that went away or changed type (serveClientsBlockedOnStreamKey,
                        // unblockDeletedStreamReadgroupClients).
                        if (!_server.Dispatcher.CallBlocked(c, st, db, key)) continue;
                    }
                    else
                    {
                        if (value == null) break; // the key ran dry
                        if (!Serves(st.Type, value.Type)) continue;
                        if (!_server.Dispatcher.CallBlocked(c, st, db, key)) break;
                    }
                    UnblockClient(c, requeue: true);
                    _server.Clients.QueueReplyWrite(c);
                }
            }
        }
    }

    static bool Serves(BlockType wait, ObjType type) => wait switch
    {
        BlockType.List => type == ObjType.List,
        BlockType.ZSet => type == ObjType.ZSet,
        BlockType.Stream => type == ObjType.Stream,
        _ => false,
    };

    /// <summary>unblockClient: leaves every key queue; with requeue the client's pending input is processed in beforeSleep.</summary>
    void UnblockClient(Client c, bool requeue)
    {
        var st = c.BlockState!;
        if (st.Db != null && _blocking.TryGetValue(st.Db, out var byKey))
        {
            foreach (var k in st.Keys)
            {
                if (!byKey.TryGetValue(k, out var q)) continue;
                q.Remove(c);
                if (q.Count == 0) byKey.Remove(k);
            }
        }
        st.Keys.Clear();
        st.Serve = null;
        st.Type = BlockType.None;
        st.Db = null;
        st.Cmd = null;
        st.Argv = null;
        c.Flags &= ~ClientFlags.Blocked;
        _blocked.Remove(c);
        if (requeue)
        {
            c.Flags |= ClientFlags.Unblocked;
            _unblocked.Add(c);
        }
    }

    /// <summary>CLIENT UNBLOCK: answers as a timeout (null array) or with -UNBLOCKED. False if the client is not blocked on keys.</summary>
    public bool Unblock(Client c, bool error)
    {
        // CLIENT UNBLOCK releases key and WAIT blocks, not a SHUTDOWN (clientUnblock's list).
        if (!c.HasFlag(ClientFlags.Blocked) || !_blocked.Contains(c) || c.BlockState!.Type == BlockType.Shutdown) return false;
        if (error) c.Reply.Error("-UNBLOCKED client unblocked via CLIENT UNBLOCK");
        else ReplyToTimedOut(c);
        _server.Dispatcher.CountUnblocked(c, c.BlockState!, failed: error);
        UnblockClient(c, requeue: true);
        _server.Clients.QueueReplyWrite(c);
        return true;
    }

    /// <summary>beforeSleep's part: ready keys, timeouts, then the input of clients unblocked meanwhile.</summary>
    public void BeforeSleep()
    {
        HandleClientsBlockedOnKeys();
        HandleBlockedClientsTimeout();
        ProcessUnblockedClients();
    }

    /// <summary>queueClientForReprocessing: the client's pending input is parsed again in beforeSleep (the primary's stream after a busy script).</summary>
    public void QueueClientForReprocessing(Client c)
    {
        if (c.HasFlag(ClientFlags.Unblocked)) return;
        c.Flags |= ClientFlags.Unblocked;
        _unblocked.Add(c);
    }

    /// <summary>processUnblockedClients: resume parsing what the client sent while it was blocked.</summary>
    void ProcessUnblockedClients()
    {
        while (_unblocked.Count > 0)
        {
            var c = _unblocked[0];
            _unblocked.RemoveAt(0);
            c.Flags &= ~ClientFlags.Unblocked;
            if (c.Socket != null && !c.HasFlag(ClientFlags.Blocked)) c.ProcessInputBuffer();
            _server.Clients.QueueReplyWrite(c);
        }
    }

    /// <summary>Answers every client whose deadline passed with the timeout reply; returns ms to the next deadline or -1.</summary>
    public long HandleBlockedClientsTimeout()
    {
        if (_blocked.Count == 0) return -1;
        _server.Clock.UpdateCachedTime();
        long now = _server.NowMs, nearest = long.MaxValue;
        List<Client>? expired = null;
        foreach (var c in _blocked)
        {
            long t = c.BlockState!.TimeoutMs;
            if (t == 0) continue;
            if (t <= now) (expired ??= new()).Add(c);
            else nearest = Math.Min(nearest, t);
        }
        if (expired != null)
        {
            foreach (var c in expired)
            {
                ReplyToTimedOut(c);
                _server.Dispatcher.CountUnblocked(c, c.BlockState!);
                UnblockClient(c, requeue: true);
                _server.Clients.QueueReplyWrite(c);
            }
        }
        return nearest == long.MaxValue ? -1 : nearest - now;
    }

    /// <summary>replyToBlockedClientTimedOut: a null array for keys, the replicas that did acknowledge for WAIT.</summary>
    void ReplyToTimedOut(Client c)
    {
        if (c.BlockState!.Type == BlockType.Wait) c.Reply.Integer(_server.Replication.CountAcksByOffset(c.BlockState.ReplOffset));
        else c.Reply.NullArray();
    }

    /// <summary>Clients blocked in WAIT (processClientsWaitingReplicas walks them).</summary>
    public IEnumerable<Client> WaitingForReplicas
    {
        get
        {
            foreach (var c in _blocked)
                if (c.BlockState!.Type == BlockType.Wait) yield return c;
        }
    }

    /// <summary>Arms the one-shot timer at the nearest deadline so a timeout fires on time, not at the next cron tick.</summary>
    void ArmTimer(long deadlineMs)
    {
        if (_timerId >= 0 && _timerWhenMs <= deadlineMs) return;
        if (_timerId >= 0) _server.Loop.DeleteTimeEvent(_timerId);
        _timerWhenMs = deadlineMs;
        _timerId = _server.Loop.AddTimeEvent(Math.Max(1, deadlineMs - _server.NowMs), () =>
        {
            long next = HandleBlockedClientsTimeout();
            ProcessUnblockedClients();
            if (next < 0)
            {
                _timerId = -1;
                return -1;
            }
            _timerWhenMs = _server.NowMs + next;
            return Math.Max(1, next);
        });
    }

    sealed class KeyComparer : IEqualityComparer<byte[]>
    {
        public static readonly KeyComparer Instance = new();
        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj)
        {
            var h = new HashCode();
            h.AddBytes(obj);
            return h.ToHashCode();
        }
    }

    sealed class ReadyKeyComparer : IEqualityComparer<(Database, byte[])>
    {
        public bool Equals((Database, byte[]) x, (Database, byte[]) y) => x.Item1 == y.Item1 && KeyComparer.Instance.Equals(x.Item2, y.Item2);
        public int GetHashCode((Database, byte[]) obj) => HashCode.Combine(obj.Item1.Id, KeyComparer.Instance.GetHashCode(obj.Item2));
    }
}
