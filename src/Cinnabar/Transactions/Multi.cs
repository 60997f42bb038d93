// Transactions (Redis's multi.c): MULTI queues a client's commands, EXEC runs the queue as one
// unit (atomic because the loop thread runs nothing else meanwhile), WATCH gives optimistic
// locking. A per-server registry maps (db, key) to the clients watching it, so a write touches
// only those clients (touchWatchedKey); each watched key carries Redis 7.0's "already expired
// at WATCH time" bit, so deleting such a key by expiry is not a change, while a key that expires
// after WATCH fails the EXEC even before it is deleted (isWatchedKeyExpired).
using Cinnabar.Commands;
using Cinnabar.Keyspace;
using Cinnabar.Networking;
using Cinnabar.Protocol;

namespace Cinnabar.Transactions;

/// <summary>One WATCHed key of a client (Redis's watchedKey).</summary>
public sealed class WatchedKey(Database db, byte[] key, bool expired)
{
    public readonly Database Db = db;
    public readonly byte[] Key = key;
    public bool Expired = expired;
}

/// <summary>A client's transaction state (Redis's multiState plus c->watched_keys).</summary>
public sealed class MultiState
{
    public readonly List<(CommandDef Cmd, CommandArgs Args)> Commands = new();
    public readonly List<WatchedKey> Watched = new();

    /// <summary>mstate.argv_len_sums: each queued command's argument bytes plus its argv array (CLIENT LIST multi-mem=).</summary>
    public long ArgvLenSums;

    /// <summary>mstate.alloc_count: queue slots Redis has reserved (2 at the first command, doubling when full).</summary>
    public int AllocCount;

    /// <summary>queueMultiCommand's bookkeeping for one more command.</summary>
    public void Queue(CommandDef cmd, CommandArgs args)
    {
        if (Commands.Count == 0) AllocCount = 2;
        else if (Commands.Count == AllocCount) AllocCount = AllocCount < int.MaxValue / 2 ? AllocCount * 2 : int.MaxValue;
        Commands.Add((cmd, args));
        ArgvLenSums += args.LengthSum + 8L * args.Count;
    }

    /// <summary>freeClientMultiState + initClientMultiState: the queue is empty again.</summary>
    public void ClearQueue()
    {
        Commands.Clear();
        ArgvLenSums = 0;
        AllocCount = 0;
    }

    public WatchedKey? Find(Database db, ReadOnlySpan<byte> key)
    {
        foreach (var wk in Watched)
            if (wk.Db == db && key.SequenceEqual(wk.Key)) return wk;
        return null;
    }
}

public sealed class Multi
{
    readonly CinnabarServer _server;

    // db->watched_keys: per database, key -> clients watching it, in WATCH order.
    readonly Dictionary<Database, Dictionary<byte[], List<Client>>> _watchedKeys = new();

    public Multi(CinnabarServer server) => _server = server;

    /// <summary>CLIENT LIST multi=: the commands queued by MULTI.</summary>
    public static int QueuedCount(Client c) => c.MultiState?.Commands.Count ?? 0;

    /// <summary>CLIENT LIST multi-mem=: mstate.argv_len_sums.</summary>
    public static long QueuedMemory(Client c) => c.MultiState?.ArgvLenSums ?? 0;

    /// <summary>Whether EXEC may write (CLIENT PAUSE WRITE holds it): any queued command is a write or may replicate.</summary>
    public static bool TransactionMayReplicate(Client c) =>
        c.MultiState != null && c.MultiState.Commands.Exists(q => q.Cmd.Has(CommandFlags.Write | CommandFlags.MayReplicate));

    /// <summary>EXEC counts as a write command when any queued command is one (c->mstate.cmd_flags &amp; CMD_WRITE).</summary>
    public static bool TransactionHasWrite(Client c) =>
        c.MultiState != null && c.MultiState.Commands.Exists(q => q.Cmd.Has(CommandFlags.Write));

    /// <summary>EXEC is refused on a stale replica when any queued command lacks the stale flag (c->mstate.cmd_inv_flags).</summary>
    public static bool TransactionDeniesStale(Client c) =>
        c.MultiState != null && c.MultiState.Commands.Exists(q => !q.Cmd.Has(CommandFlags.Stale));

    /// <summary>EXEC is denyoom when any queued command is (Redis's c->mstate.cmd_flags).</summary>
    public static bool TransactionDenyOom(Client c) =>
        c.MultiState != null && c.MultiState.Commands.Exists(q => q.Cmd.Has(CommandFlags.DenyOom));

    /// <summary>queueMultiCommand: remember a deep copy of the command; reply +QUEUED.</summary>
    public void QueueMultiCommand(Client c)
    {
        // An aborted transaction will not run: don't spend memory on it (Redis does the same).
        if (!c.HasFlag(ClientFlags.DirtyCas | ClientFlags.DirtyExec))
            (c.MultiState ??= new()).Queue(c.Cmd!, c.Args.Clone());
        c.Reply.Queued();
    }

    /// <summary>execCommandAbort: EXEC itself was rejected (arity, auth, ...): discard and say why, with the error's code kept.</summary>
    public void ExecCommandAbort(Client c, string error)
    {
        DiscardTransaction(c);
        c.Reply.Error("-EXECABORT Transaction discarded because of: " + (error.StartsWith('-') ? error[1..] : error));
    }

    /// <summary>freeClientMultiState (freeClient, RESET): the queue and every WATCH go.</summary>
    public void FreeClientMultiState(Client c)
    {
        if (c.MultiState == null) return;
        DiscardTransaction(c);
    }

    /// <summary>discardTransaction: drop the queue, leave MULTI, forget every WATCH.</summary>
    public void DiscardTransaction(Client c)
    {
        c.MultiState?.ClearQueue();
        c.Flags &= ~(ClientFlags.Multi | ClientFlags.DirtyCas | ClientFlags.DirtyExec);
        UnwatchAllKeys(c);
    }

    /// <summary>execCommand after the MULTI check: abort on a dirty state, else run the queue replying an array.</summary>
    public void Exec(Client c)
    {
        var state = c.MultiState ??= new();
        if (IsWatchedKeyExpired(c)) c.Flags |= ClientFlags.DirtyCas;
        if (c.HasFlag(ClientFlags.DirtyCas | ClientFlags.DirtyExec))
        {
            if (c.HasFlag(ClientFlags.DirtyExec)) c.Reply.Error("-EXECABORT Transaction discarded because of previous errors.");
            else c.Reply.NullArray();
            DiscardTransaction(c);
            return;
        }
        // Unwatch first: the transaction's own writes must not dirty it, and it saves the work.
        UnwatchAllKeys(c);
        var origArgs = c.Args;
        var origCmd = c.Cmd;
        // The queue stays until the end, as mstate does: CLIENT LIST inside EXEC shows multi=N.
        var queued = state.Commands.ToArray();
        c.Reply.ArrayLen(queued.Length);
        // CLIENT_MULTI stays set while the queue runs: blocking commands see it and don't block.
        foreach (var (cmd, args) in queued)
        {
            c.Args = args;
            c.Cmd = cmd;
            // The rules may have changed since the command was queued: they are checked again.
            var denial = _server.Acl.Check(c.User, cmd, args, out int pos);
            if (denial != Security.AclDenial.Ok)
            {
                _server.Acl.AddLogEntry(c, denial, Security.AclLogContext.Multi, pos, null, null);
                c.Reply.Error("-NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: " + denial switch
                {
                    Security.AclDenial.Command => "no permission to execute the command or subcommand",
                    Security.AclDenial.Key => "no permission to touch the specified keys",
                    Security.AclDenial.Channel => "no permission to access one of the channels used as arguments",
                    _ => "no permission",
                });
                continue;
            }
            _server.Dispatcher.Call(c, cmd);
        }
        c.Args = origArgs;
        c.Cmd = origCmd;
        DiscardTransaction(c);
    }

    /// <summary>watchForKey: register once per (db, key), recording whether it is already logically expired.</summary>
    public void WatchForKey(Client c, ReadOnlySpan<byte> key)
    {
        var state = c.MultiState ??= new();
        if (state.Find(c.Db, key) != null) return;
        if (!_watchedKeys.TryGetValue(c.Db, out var keys))
            _watchedKeys[c.Db] = keys = new Dictionary<byte[], List<Client>>(ByteKeyComparer.Instance);
        var k = key.ToArray();
        if (!keys.TryGetValue(k, out var clients)) keys[k] = clients = new List<Client>(1);
        clients.Add(c);
        state.Watched.Add(new WatchedKey(c.Db, k, KeyIsExpired(c.Db, key)));
    }

    /// <summary>unwatchAllKeys: remove the client from every registry entry it is in.</summary>
    public void UnwatchAllKeys(Client c)
    {
        var state = c.MultiState;
        if (state == null) return;
        foreach (var wk in state.Watched)
        {
            var keys = _watchedKeys[wk.Db];
            var clients = keys[wk.Key];
            clients.Remove(c);
            if (clients.Count == 0) keys.Remove(wk.Key);
        }
        state.Watched.Clear();
    }

    bool KeyIsExpired(Database db, ReadOnlySpan<byte> key)
    {
        long when = db.GetExpire(key);
        return when >= 0 && _server.NowMs > when; // keyIsExpired: expired only once now is past the deadline
    }

    /// <summary>isWatchedKeyExpired: a key that expired since WATCH (deleted or not) fails EXEC.</summary>
    bool IsWatchedKeyExpired(Client c)
    {
        if (c.MultiState == null) return false;
        foreach (var wk in c.MultiState.Watched)
            if (!wk.Expired && KeyIsExpired(wk.Db, wk.Key)) return true;
        return false;
    }

    /// <summary>touchWatchedKey: every client watching the key gets DIRTY_CAS, except for the deletion of a key already expired at WATCH time.</summary>
    public void TouchWatchedKey(Database db, ReadOnlySpan<byte> key)
    {
        if (!_watchedKeys.TryGetValue(db, out var keys) || keys.Count == 0) return;
        if (!keys.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(key, out var clients)) return;
        // UnwatchAllKeys below edits this list: iterate a copy.
        foreach (var c in clients.ToArray())
        {
            var wk = c.MultiState!.Find(db, key);
            if (wk != null && wk.Expired && db.Main.Find(key) == null)
            {
                wk.Expired = false; // the expired key is gone: logically nothing changed
                continue;
            }
            c.Flags |= ClientFlags.DirtyCas;
            UnwatchAllKeys(c); // dirty already: no point in tracking its keys any longer
        }
    }

    /// <summary>
    /// touchAllWatchedKeysInDb: FLUSHDB/FLUSHALL (replacedWith null) and SWAPDB (both directions) call
    /// this BEFORE the contents change. A watched key that exists now, or will exist after the swap, is touched.
    /// </summary>
    public void TouchAllWatchedKeysInDb(Database emptied, Database? replacedWith)
    {
        if (!_watchedKeys.TryGetValue(emptied, out var keys) || keys.Count == 0) return;
        foreach (var (key, clients) in keys)
        {
            bool existsInEmptied = emptied.Main.Find(key) != null;
            bool existsInReplaced = replacedWith != null && replacedWith.Main.Find(key) != null;
            if (!existsInEmptied && !existsInReplaced) continue;
            foreach (var c in clients)
            {
                var wk = c.MultiState!.Find(emptied, key)!;
                if (wk.Expired)
                {
                    if (!existsInReplaced)
                    {
                        wk.Expired = false; // an expired key now deleted: no logical change
                        continue;
                    }
                    if (KeyIsExpired(replacedWith!, key)) continue; // expired stays expired
                }
                else if (!existsInEmptied && KeyIsExpired(replacedWith!, key))
                {
                    wk.Expired = true; // a missing key replaced by an expired one
                    continue;
                }
                // Unwatching here would edit the dictionary being iterated; EXEC discards later.
                c.Flags |= ClientFlags.DirtyCas;
            }
        }
    }
}
