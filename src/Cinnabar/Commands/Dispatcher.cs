// Command dispatch (Redis's processCommand + call): resolves argv against the command table,
// runs the checks in Redis's order (unknown command, arity, protected commands, auth, MULTI
// restrictions, ACL, OOM, read-only replica, Pub/Sub context, loading, busy script, MULTI queueing), then calls
// the handler. call() measures the command (commandstats, latency monitor and histogram, the
// dirty delta) and runs the post-call steps in Redis's order: slowlog, MONITOR, propagation of
// what changed, tracking; at the end of the outermost call the unit's commands leave
// (propagatePendingCommands) and pending invalidations go out; then clients unblocked by the
// command are served, each through call() too, so a served BLPOP is counted, logged and
// propagated like any command.
using System.Diagnostics;
using System.Text;
using Cinnabar.Networking;

namespace Cinnabar.Commands;

/// <summary>Who is about to run a command: a client's request (processCommand) or a script's redis.call (scriptCall).</summary>
public enum CommandCaller
{
    Client,
    Script,
}

public sealed class Dispatcher
{
    readonly CinnabarServer _server;

    /// <summary>server.current_client: the client whose command runs in the outermost call() (EXEC and scripts keep it).</summary>
    public Client? CurrentClient { get; private set; }

    /// <summary>server.execution_nesting: call()s on the stack; the post-call steps see 0 at the end of a top-level command.</summary>
    public int ExecutionNesting { get; private set; }

    public Dispatcher(CinnabarServer server) => _server = server;

    /// <summary>processCommand: checks in Redis's order, then call() or MULTI queueing.</summary>
    public void ProcessCommand(Client c)
    {
        if (c.HasFlag(ClientFlags.Replica | ClientFlags.Master)) ProcessReplicationLinkCommand(c);
        else ProcessClientCommand(c);
    }

    /// <summary>
    /// A command on a replication link. An error either way is logged as Redis's afterErrorReply
    /// logs it; a replica's link carries the stream only, so a command of the replica that
    /// generates a reply (anything but REPLCONF) disconnects it, as _addReplyToBufferOrList does.
    /// </summary>
    void ProcessReplicationLinkCommand(Client c)
    {
        bool replica = c.HasFlag(ClientFlags.Replica) && !c.HasFlag(ClientFlags.Monitor);
        long mark = c.Output.Mark;
        int errors = c.Reply.ErrorsWritten;
        ProcessClientCommand(c);
        if (c.Reply.ErrorsWritten != errors && c.HasFlag(ClientFlags.Replica | ClientFlags.Master))
        {
            var (from, to) = c.HasFlag(ClientFlags.Master) ? ("replica", "master") : ("master", "replica");
            _server.Log.Warning($"== CRITICAL == This {from} is sending an error to its {to}: '{c.Reply.LastError}' after processing the command '{c.LastCmd?.FullName ?? "<unknown>"}'");
        }
        if (replica && c.Output.Mark != mark && !c.HasFlag(ClientFlags.CloseAsap))
        {
            _server.Log.Warning($"Replica generated a reply to command '{c.LastCmd?.FullName ?? "<unknown>"}', disconnecting it: {ClientCommands.InfoString(c)}");
            _server.Clients.FreeClientAsync(c);
        }
    }

    void ProcessClientCommand(Client c)
    {
        var args = c.Args;
        var table = _server.Commands;
        var cmd = table.Resolve(args, out bool unknownSub);
        c.Cmd = cmd;
        if (cmd == null)
        {
            Reject(c, null, UnknownCommandError(args), rawBytes: true);
            return;
        }
        if (unknownSub)
        {
            Reject(c, null, $"unknown subcommand '{Truncate(Latin1(args, 1), 128)}'. Try {cmd.Name.ToUpperInvariant()} HELP.", rawBytes: true);
            return;
        }
        c.LastCmd = cmd;
        if (!cmd.ArityOk(args.Count))
        {
            Reject(c, cmd, $"wrong number of arguments for '{cmd.FullName}' command");
            return;
        }
        _server.Tracking.LimitUsedSlotsIfTracking();
        var rejection = CheckCommand(c, cmd, CommandCaller.Client);
        if (c.Freed) return; // evicted by evictClients: nothing runs, nothing is replied
        if (rejection != null)
        {
            Reject(c, cmd, rejection);
            return;
        }
        if (c.HasFlag(ClientFlags.Multi) && !IsTransactionControl(cmd))
        {
            _server.Transactions.QueueMultiCommand(c);
            return;
        }
        Call(c, cmd);
        ResetAsking(c, cmd);
        // Clients blocked on keys this command fed are served now (inside EXEC, after the whole unit);
        // not while a timed-out script lets allowed commands in (isInsideYieldingLongCommand): the
        // keys its writes made ready are served after it, when its writes are complete.
        if (_server.Blocking.HasReadyKeys && !c.HasFlag(ClientFlags.Multi) && !_server.Lua.Busy) _server.Blocking.HandleClientsBlockedOnKeys();
    }

    /// <summary>
    /// processCommand's checks after lookup and arity, in Redis's order, as one function:
    /// protected commands, authentication, MULTI's no_multi, the ACL, cluster redirection, OOM (evicting first), -MISCONF after
    /// a failed save, min-replicas, the read-only replica, RESP2's Pub/Sub context, a stale
    /// replica, loading, a busy script; EVAL/FCALL are checked with their script's declared flags.
    /// With CommandCaller.Script only the noscript flag applies here (a running script's
    /// redis.call is checked by ScriptRun.Call, Redis's scriptCall). Returns the error to reply (a
    /// leading '-' carries its own code), or null when the command may run.
    /// </summary>
    public string? CheckCommand(Client c, CommandDef cmd, CommandCaller caller)
    {
        bool fromClient = caller == CommandCaller.Client;
        // getCommandFlags: a script declares its own flags (write, denyoom, stale) in its shebang.
        var flags = cmd.Flags;
        if ((flags & CommandFlags.ScriptDeclaredFlags) != 0) flags = _server.Lua.CommandFlagsFor(c, cmd);
        if (!fromClient && (cmd.Has(CommandFlags.NoScript) || (cmd.Parent?.Has(CommandFlags.NoScript) ?? false)))
            return "This Redis command is not allowed from script";
        if (fromClient && (cmd.Has(CommandFlags.Protected) || (cmd.Parent?.Has(CommandFlags.Protected) ?? false))
            && !_server.Config.ProtectedCommandAllowed(cmd.Parent?.Name ?? cmd.Name, c))
            return $"{(cmd.Parent ?? cmd).Name.ToUpperInvariant()} command not allowed. If the {ProtectedConfigName(cmd)} option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";
        if (fromClient && !c.Authenticated && _server.AuthRequired(c) && !cmd.Has(CommandFlags.NoAuth))
            return "-NOAUTH Authentication required.";
        if (fromClient && c.HasFlag(ClientFlags.Multi) && cmd.Has(CommandFlags.NoMulti))
            return "Command not allowed inside a transaction";
        // ACLCheckAllPerm: the command, its keys and channels against the client's user.
        if (fromClient && c.User is { Unrestricted: false } && _server.Acl.CheckClientCommand(c, cmd) is { } denied)
            return denied;
        // Cluster redirection (getNodeByQuery): -MOVED / -ASK / -CROSSSLOT / -TRYAGAIN / -CLUSTERDOWN.
        if (fromClient && _server.ClusterRouting is { } routing && routing.Check(c, cmd, flags) is { } redirect)
        {
            _redirected = true;
            return redirect;
        }
        // evictClients: before key eviction, after the last command consumed output buffer memory.
        // A client that evicts itself runs nothing (the caller sees it freed).
        if (fromClient && _server.Config.MaxMemoryClients != 0)
        {
            _server.ClientEviction.EvictClients();
            if (c.Freed) return null;
        }
        bool busy = _server.Lua.Busy;
        if (_server.Config.MaxMemory > 0 && !busy)
        {
            // As Redis: evict before every client command, not only denyoom ones, so memory returns
            // under the limit even under a read-only load; only a command that may grow memory is
            // refused. A script's commands don't evict: the script is one atomic unit.
            bool outOfMemory = fromClient ? _server.PerformEvictions() == Keyspace.EvictResult.Fail : !_server.Evictor.MemoryWithinLimit(out _);
            bool rejectOnOom = (flags & CommandFlags.DenyOom) != 0 || (IsExec(cmd) && TransactionDenyOom(c));
            // Queueing inside MULTI may itself take unbounded memory: refuse all but the commands that end it.
            if (fromClient && c.HasFlag(ClientFlags.Multi) && !(cmd.Parent == null && cmd.Name is "exec" or "discard" or "quit" or "reset"))
                rejectOnOom = true;
            if (outOfMemory && rejectOnOom) return "-OOM command not allowed when used memory > 'maxmemory'.";
            // script_oom: the state at the script's start decides its first write (scriptVerifyOOM).
            if ((flags & CommandFlags.ScriptDeclaredFlags) != 0) _server.Lua.ScriptOom = outOfMemory;
        }
        bool isWrite = (flags & CommandFlags.Write) != 0 || (IsExec(cmd) && Transactions.Multi.TransactionHasWrite(c));
        // writeCommandsDeniedByDiskError: after a failed save (with save points) or while the AOF
        // cannot be written, writes, EXEC of a transaction with writes, and PING are refused,
        // except from the primary.
        if ((_server.BackgroundSave.DiskError ?? _server.Aof.WriteDeniedError) is { } diskError && !c.HasFlag(ClientFlags.Master)
            && (isWrite || (cmd.Parent == null && cmd.Name == "ping")))
            return diskError;
        if (_server.Config.MinReplicasToWrite > 0 && isWrite && !_server.Replication.EnoughGoodReplicas())
            return "-NOREPLICAS Not enough good replicas to write.";
        if (_server.IsReplica && _server.Config.ReplicaReadOnly && !c.HasFlag(ClientFlags.Master) && isWrite)
            return "-READONLY You can't write against a read only replica.";
        // A replica's link is for REPLCONF and the like, never the keyspace.
        if (fromClient && c.HasFlag(ClientFlags.Replica) && (flags & (CommandFlags.MayReplicate | CommandFlags.Write | CommandFlags.ReadOnly)) != 0)
            return "Replica can't interact with the keyspace";
        if (fromClient && c.HasFlag(ClientFlags.PubSub) && c.Reply.Protocol == 2 && !IsAllowedInPubSubContext(cmd))
            return $"Can't execute '{cmd.FullName}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context";
        // replica-serve-stale-data no: with the link to the primary down, only commands flagged stale run.
        if (_server.IsReplica && _server.ReplicaSide.State != Replication.ReplState.Connected && !_server.Config.GetBool("replica-serve-stale-data")
            && ((flags & CommandFlags.Stale) == 0 || (IsExec(cmd) && Transactions.Multi.TransactionDeniesStale(c))))
            return "-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";
        // A load refuses what is not flagged loading; a replica's async (swapdb) load only what is flagged no-async-loading.
        if (fromClient && _server.Loading && (_server.LoadingProgress.Async ? cmd.Has(CommandFlags.NoAsyncLoading) : !cmd.Has(CommandFlags.Loading)))
            return "-LOADING Redis is loading the dataset in memory";
        // A script past busy-reply-threshold: only the few commands flagged allow-busy run meanwhile.
        if (fromClient && busy && !cmd.Has(CommandFlags.AllowBusy))
            return _server.Lua.BusyError;
        return null;
    }

    static string ProtectedConfigName(CommandDef cmd) => (cmd.Parent ?? cmd).Name switch
    {
        "debug" => "enable-debug-command",
        "module" => "enable-module-command",
        _ => "enable-protected-configs",
    };

    static bool IsExec(CommandDef cmd) => cmd.Parent == null && cmd.Name == "exec";

    static bool TransactionDenyOom(Client c) => Transactions.Multi.TransactionDenyOom(c);

    static bool IsTransactionControl(CommandDef cmd) =>
        cmd.Parent == null && cmd.Name is "exec" or "discard" or "multi" or "watch" or "quit" or "reset";

    static bool IsAllowedInPubSubContext(CommandDef cmd) =>
        cmd.Parent == null && cmd.Name is "ping" or "subscribe" or "ssubscribe" or "unsubscribe" or "sunsubscribe"
            or "psubscribe" or "punsubscribe" or "quit" or "reset";

    // Clock reads cost as much as parsing a small command (about 50 ns in a VM), so commands of
    // one pipeline share them: the end timestamp of a top-level command is the start of the
    // next one of the same client in the same read (its duration then also covers the previous
    // command's post-call steps and its own parsing: well under a microsecond when idle). Any
    // other top-level call in between (a served blocked client), or a new read, breaks the chain.
    Client? _chainClient;
    long _chainTimestamp;

    /// <summary>Starts or ends a client's pipeline: the next command reads the clock itself.</summary>
    internal void BreakTimestampChain() => _chainClient = null;

    /// <summary>call(): runs the handler, then the post-call steps.</summary>
    public void Call(Client c, CommandDef cmd) => Call(c, cmd, null, null, null);

    /// <summary>
    /// Serves a client blocked on keys through call() (its command's serve callback in place of
    /// the handler): the stats and slowlog it skipped when it blocked, and its propagation (the
    /// callback rewrites the argv to the non-blocking form). False when the key cannot serve it.
    /// </summary>
    public bool CallBlocked(Client c, Keyspace.BlockState st, Keyspace.Database db, byte[] key)
    {
        var saved = c.Db;
        c.Db = db;
        c.Args = st.Argv!;
        c.Cmd = st.Cmd;
        try
        {
            return Call(c, st.Cmd!, st.Serve, db, key);
        }
        finally
        {
            c.Db = saved;
            c.Args = c.Parser.Args;
        }
    }

    /// <summary>
    /// updateStatsOnUnblock: a blocked client answered without being served (timeout, CLIENT
    /// UNBLOCK, a redirection) is counted now; failed when its answer is an error.
    /// </summary>
    public void CountUnblocked(Client c, Keyspace.BlockState st, bool failed = false)
    {
        if (st.Cmd == null) return;
        var args = c.Args;
        c.Args = st.Argv!;
        RecordCall(c, st.Cmd, st.DurationUs, failed);
        c.Args = args;
    }

    /// <summary>
    /// commandstats, the command's latency histogram, the server's command count and the
    /// slowlog, for a command that ran (or was answered after blocking).
    /// </summary>
    void RecordCall(Client c, CommandDef cmd, long durationUs, bool failed)
    {
        cmd.Calls++;
        cmd.MicrosecondsTotal += durationUs;
        if (failed) cmd.FailedCalls++;
        c.Reply.ErrorsAccounted = c.Reply.ErrorsWritten;
        // updateCommandLatencyHistogram records nanoseconds; the counters exist from the first call.
        if (_server.Config.LatencyTracking) (cmd.LatencyHistogram ??= new()).Record(durationUs * 1000);
        _server.Stats.NumCommands++;
        _server.SlowLog.AfterCall(c, cmd, durationUs);
    }

    bool Call(Client c, CommandDef cmd, Func<Client, Keyspace.Database, byte[], bool>? serve, Keyspace.Database? db, byte[]? key)
    {
        long start = ExecutionNesting == 0 && ReferenceEquals(_chainClient, c) ? _chainTimestamp : Stopwatch.GetTimestamp();
        // A script's commands all see the time the script started (keys don't expire midway).
        if (_server.Lua.Running == null) _server.Clock.UpdateCachedTime(start);
        int errorsBefore = c.Reply.ErrorsWritten;
        long dirtyBefore = _server.Stats.Dirty;
        long replOffsetBefore = _server.Replication.MasterReplOffset;
        var propagation = _server.Propagation.BeginCall();
        var previousClient = CurrentClient;
        if (ExecutionNesting == 0) CurrentClient = c;
        ExecutionNesting++;
        bool served = true;
        try
        {
            if (serve == null) cmd.Handler!(c);
            else served = serve(c, db!, key!);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Redis would crash here; a server that keeps serving is more useful. Log loudly.
            _server.Log.Warning($"Unexpected error executing '{cmd.FullName}': {e}");
            c.Reply.Error("internal error executing command: " + e.GetType().Name);
            // The handler may have written part of a reply: the stream can't be trusted any more.
            c.Flags |= ClientFlags.CloseAfterReply;
        }
        finally
        {
            ExecutionNesting--;
        }
        long end = Stopwatch.GetTimestamp();
        if (ExecutionNesting == 0)
        {
            _chainClient = c;
            _chainTimestamp = end;
        }
        long durationUs = (long)Stopwatch.GetElapsedTime(start, end).TotalMicroseconds;
        // latencyAddSampleIfNeeded: every call reports, a blocking one with its part so far; a
        // served client's serving is "command-unblocking", as updateStatsOnUnblock reports it.
        long latencyThreshold = _server.Config.LatencyMonitorThreshold;
        if (latencyThreshold != 0 && durationUs / 1000 >= latencyThreshold && served)
        {
            string latencyEvent = serve != null ? Server.LatencyMonitor.CommandUnblocking
                : cmd.Has(CommandFlags.Fast) ? Server.LatencyMonitor.FastCommand : Server.LatencyMonitor.Command;
            _server.Latency.AddSample(latencyEvent, durationUs / 1000);
        }
        bool blocked = c.HasFlag(ClientFlags.Blocked) && serve == null;
        if (blocked)
        {
            // The command blocked: it is counted and logged when it is served or times out.
            var st = c.BlockState!;
            st.Cmd = cmd;
            st.Argv = c.Args.Clone();
            st.DurationUs = durationUs;
        }
        else if (served)
        {
            if (serve != null) durationUs += c.BlockState!.DurationUs;
            // Failed when it wrote an error no nested call counted (prev_err_count).
            RecordCall(c, cmd, durationUs, failed: c.Reply.ErrorsWritten > Math.Max(errorsBefore, c.Reply.ErrorsAccounted));
        }
        // A served client's command was shown when it first ran.
        if (serve == null) _server.Monitors.AfterCall(c, cmd);
        _server.Propagation.EndCall(propagation, c, _server.Stats.Dirty - dirtyBefore, IsExec(cmd));
        _server.Tracking.AfterCall(c, cmd);
        if (ExecutionNesting == 0)
        {
            // afterCommand: the unit's commands leave, then the invalidations that waited for the reply.
            _server.Propagation.PropagatePendingCommands(transaction: !cmd.Has(CommandFlags.TouchesArbitraryKeys));
            _server.Tracking.AfterCommand(c, cmd);
            // c->woff: the stream offset this client's writes reached, what its WAIT waits for.
            if (_server.Replication.MasterReplOffset != replOffsetBefore) c.WriteOffset = _server.Replication.MasterReplOffset;
        }
        CurrentClient = previousClient;
        return served;
    }

    /// <summary>The last CheckCommand refusal was a cluster redirection: EXEC is discarded, not aborted, and the redirection replied as is.</summary>
    bool _redirected;

    void Reject(Client c, CommandDef? cmd, string error, bool rawBytes = false)
    {
        if (cmd != null) cmd.RejectedCalls++;
        _server.Stats.RejectedCalls++;
        bool redirected = _redirected;
        _redirected = false;
        if (redirected && cmd != null && IsExec(cmd))
        {
            _server.Transactions.DiscardTransaction(c);
            c.Reply.Error(error);
            ResetAsking(c, cmd);
            return;
        }
        if (c.HasFlag(ClientFlags.Multi)) c.Flags |= ClientFlags.DirtyExec; // flagTransaction
        ResetAsking(c, cmd);
        if (cmd != null && IsExec(cmd)) _server.Transactions.ExecCommandAbort(c, error);
        else if (rawBytes) c.Reply.ErrorWithRawBytes(error);
        else c.Reply.Error(error);
        // resetClient runs for a rejected command too: CLIENT CACHING lasts one command.
        Tracking.Tracking.ResetCaching(c, cmd);
    }

    /// <summary>resetClient: ASKING lasts one command (the whole transaction inside MULTI).</summary>
    static void ResetAsking(Client c, CommandDef? cmd)
    {
        if (c.Asking && !c.HasFlag(ClientFlags.Multi) && !(cmd is { Parent: null, Name: "asking" })) c.Asking = false;
    }

    static string Truncate(string s, int max) => s.Length > max ? s[..max] : s;

    /// <summary>
    /// An argument as one char per byte, so truncation counts bytes and the reply echoes them
    /// exactly; it ends at a NUL, as Redis's printf("%s") of it does.
    /// </summary>
    static string Latin1(Protocol.CommandArgs args, int i) => Arguments.CStr(args[i]);

    /// <summary>"unknown command 'x', with args beginning with: 'a' 'b' " exactly as Redis builds it.</summary>
    static string UnknownCommandError(Protocol.CommandArgs args)
    {
        var sb = new StringBuilder();
        for (int i = 1; i < args.Count && sb.Length < 128; i++)
        {
            string a = Latin1(args, i);
            int room = 128 - sb.Length;
            sb.Append('\'').Append(a.Length > room ? a[..room] : a).Append("' ");
        }
        return $"unknown command '{Truncate(Latin1(args, 0), 128)}', with args beginning with: {sb}";
    }
}
