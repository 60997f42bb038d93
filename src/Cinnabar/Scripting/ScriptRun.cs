// One script invocation (Redis's scriptRunCtx, script.c), shared by EVAL and FCALL: the checks a
// script's declared flags impose before it starts (scriptPrepareForRun), the checks every
// redis.call passes (scriptCall: noscript, stale, read-only scripts and replicas, disk errors,
// OOM before the first write), the command run through the dispatcher's call() with the
// script's client, and the timeout: after busy-reply-threshold the loop serves other clients
// (-BUSY for all but SCRIPT/FUNCTION KILL, SHUTDOWN NOSAVE and a few more) until the script ends
// or is killed. At most one runs at a time; the loop thread's current run is a thread-static so
// the Lua callbacks find it.
using System.Diagnostics;
using Cinnabar.Commands;
using Cinnabar.Networking;
using Cinnabar.Server;

namespace Cinnabar.Scripting;

/// <summary>Flags of a script (the shebang's flags=, a function's flags) as Redis's SCRIPT_FLAG_*.</summary>
[Flags]
public enum ScriptFlags
{
    None = 0,
    NoWrites = 1 << 0,
    AllowOom = 1 << 1,
    AllowStale = 1 << 2,
    NoCluster = 1 << 3,
    EvalCompatMode = 1 << 4, // an EVAL script without a shebang: 6.x semantics
    AllowCrossSlot = 1 << 5,
}

public sealed class ScriptRun
{
    [ThreadStatic] static ScriptRun? _current;

    /// <summary>The run in progress on this thread (curr_run_ctx), or null.</summary>
    public static ScriptRun? Current => _current;

    readonly CinnabarServer _server;

    public Client ScriptClient { get; private set; } = null!;
    public Client Caller { get; private set; } = null!;
    public string FunctionName { get; private set; } = "";
    public bool EvalMode { get; private set; }
    public LuaEngine Engine { get; private set; } = null!;

    public bool ReadOnly { get; private set; }
    public bool AllowOom { get; private set; }
    /// <summary>SCRIPT_ALLOW_CROSS_SLOT: an EVAL without shebang, or a script flagged allow-cross-slot-keys.</summary>
    public bool AllowCrossSlot { get; private set; }
    public bool WriteDirty { get; private set; }
    public bool TimedOut { get; private set; }
    public bool Killed { get; private set; }
    public PropagationTargets ReplTargets { get; set; } = PropagationTargets.All;

    long _start;

    /// <summary>One per server, reused by every run (a script runs at a time): a run allocates nothing.</summary>
    internal ScriptRun(CinnabarServer server) => _server = server;

    void Begin(LuaEngine engine, Client scriptClient, Client caller, string functionName, bool evalMode)
    {
        Engine = engine;
        ScriptClient = scriptClient;
        Caller = caller;
        scriptClient.User = caller.User; // the script's commands are checked as the caller's
        FunctionName = functionName;
        EvalMode = evalMode;
        ReadOnly = AllowOom = WriteDirty = TimedOut = Killed = false;
        ReplTargets = PropagationTargets.All;
        _start = Stopwatch.GetTimestamp();
    }

    public long ElapsedMs => (long)Stopwatch.GetElapsedTime(_start).TotalMilliseconds;

    /// <summary>
    /// scriptPrepareForRun: refuses a script its flags forbid here (replying to the caller), or
    /// starts the run: the script client takes the caller's db, RESP2, MULTI when the caller is in one.
    /// </summary>
    public static ScriptRun? Prepare(CinnabarServer server, LuaEngine engine, Client scriptClient, Client caller, string functionName, ScriptFlags flags, bool ro, bool evalMode)
    {
        bool runningStale = server.IsReplica && server.ReplicaSide.State != Replication.ReplState.Connected && !server.Config.GetBool("replica-serve-stale-data");
        if ((flags & ScriptFlags.EvalCompatMode) == 0)
        {
            if ((flags & ScriptFlags.NoCluster) != 0 && server.Config.GetBool("cluster-enabled"))
            {
                caller.Reply.Error("Can not run script on cluster, 'no-cluster' flag is set.");
                return null;
            }
            // no-writes implies allow-oom: a script that cannot write cannot grow the dataset.
            if ((flags & (ScriptFlags.AllowOom | ScriptFlags.NoWrites)) == 0 && server.Lua.ScriptOom && server.Config.MaxMemory > 0)
            {
                caller.Reply.Error("-OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'");
                return null;
            }
            if (runningStale && (flags & ScriptFlags.AllowStale) == 0)
            {
                caller.Reply.Error("-MASTERDOWN Link with MASTER is down, replica-serve-stale-data is set to 'no' and 'allow-stale' flag is not set on the script.");
                return null;
            }
            if ((flags & ScriptFlags.NoWrites) == 0)
            {
                if (server.IsReplica && server.Config.ReplicaReadOnly && !caller.HasFlag(ClientFlags.Master) && !IsAofClient(caller))
                {
                    caller.Reply.Error("Can not run script with write flag on readonly replica");
                    return null;
                }
                if (server.BackgroundSave.DiskError != null && !server.IsReplica)
                {
                    caller.Reply.Error("-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts.");
                    return null;
                }
                if (server.Aof.WriteDeniedError is { } aofError && !server.IsReplica)
                {
                    caller.Reply.Error("-MISCONF Redis is configured to persist data to AOF, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts. AOF error: " + aofError[(aofError.IndexOf(": ", StringComparison.Ordinal) + 2)..]);
                    return null;
                }
                if (ro)
                {
                    caller.Reply.Error("Can not execute a script with write flag using *_ro command.");
                    return null;
                }
            }
        }
        else if (runningStale)
        {
            caller.Reply.Error("-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.");
            return null;
        }

        var run = server.Lua.RunContext;
        run.Begin(engine, scriptClient, caller, functionName, evalMode);
        scriptClient.Db = caller.Db;
        scriptClient.Reply.Protocol = 2;
        if (caller.HasFlag(ClientFlags.Multi)) scriptClient.Flags |= ClientFlags.Multi;
        if (ro || ((flags & ScriptFlags.EvalCompatMode) == 0 && (flags & ScriptFlags.NoWrites) != 0)) run.ReadOnly = true;
        if ((flags & ScriptFlags.EvalCompatMode) == 0 && (flags & ScriptFlags.AllowOom) != 0) run.AllowOom = true;
        run.AllowCrossSlot = (flags & (ScriptFlags.EvalCompatMode | ScriptFlags.AllowCrossSlot)) != 0;
        _current = run;
        server.Lua.Running = run;
        return run;
    }

    static bool IsAofClient(Client c) => c.HasFlag(ClientFlags.Fake) && !c.HasFlag(ClientFlags.Script);

    /// <summary>EVAL's and FCALL's numkeys against the arguments given; false after replying the error.</summary>
    public static bool CheckNumKeys(Client c, long numkeys)
    {
        if (numkeys > c.Args.Count - 3)
        {
            c.Reply.Error("Number of keys can't be greater than number of args");
            return false;
        }
        if (numkeys < 0)
        {
            c.Reply.Error("Number of keys can't be negative");
            return false;
        }
        return true;
    }

    /// <summary>scriptResetRun: the script client leaves MULTI, the busy state ends, the caller's command (EVAL, FCALL) is not propagated itself.</summary>
    public void Reset()
    {
        ScriptClient.Flags &= ~ClientFlags.Multi;
        if (TimedOut)
        {
            TimedOut = false;
            _server.Lua.Busy = false;
            // A primary's stream that waited for the script goes on now.
            if (_server.ReplicaSide.Master is { } master) _server.Blocking.QueueClientForReprocessing(master);
        }
        _server.Propagation.PreventCommandPropagation();
        _current = null;
        _server.Lua.Running = null;
    }

    /// <summary>
    /// scriptInterrupt, called from the Lua hook every 100,000 instructions: past
    /// busy-reply-threshold the server enters the busy state and serves other clients. True when
    /// the script must stop (SCRIPT KILL / FUNCTION KILL).
    /// </summary>
    public bool Interrupt()
    {
        if (TimedOut)
        {
            _server.ProcessEventsWhileBlocked();
            return Killed;
        }
        long elapsed = ElapsedMs;
        if (elapsed < _server.Config.BusyReplyThreshold) return false;
        _server.Log.Warning($"Slow script detected: still in execution after {elapsed} milliseconds. You can try killing the script using the {(EvalMode ? "SCRIPT KILL" : "FUNCTION KILL")} command. Script name is: {FunctionName}.");
        TimedOut = true;
        _server.Lua.Busy = true;
        Caller.DetachFromSharedQueryBuffer();
        _server.ProcessEventsWhileBlocked();
        return Killed;
    }

    /// <summary>SHUTDOWN NOSAVE during a busy script: it stops whatever it wrote (the server exits without saving).</summary>
    internal void KillForShutdown() => Killed = true;

    /// <summary>The hook stops the script: Redis logs it.</summary>
    internal void ServerLogKilled() => _server.Log.Warning("Lua script killed by user with SCRIPT KILL.");

    /// <summary>scriptKill: SCRIPT KILL (isEval) or FUNCTION KILL.</summary>
    public static void Kill(CinnabarServer server, Client c, bool isEval)
    {
        var run = server.Lua.Running;
        if (run == null)
        {
            c.Reply.Error("-NOTBUSY No scripts in execution right now.");
            return;
        }
        if (run.Caller.HasFlag(ClientFlags.Master))
        {
            c.Reply.Error("-UNKILLABLE The busy script was sent by a master instance in the context of replication and cannot be killed.");
            return;
        }
        if (run.WriteDirty)
        {
            c.Reply.Error("-UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.");
            return;
        }
        if (isEval && !run.EvalMode)
        {
            c.Reply.Error(SlowScriptError);
            return;
        }
        if (!isEval && run.EvalMode)
        {
            c.Reply.Error(SlowEvalError);
            return;
        }
        run.Killed = true;
        c.Reply.Ok();
    }

    public const string SlowEvalError = "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
    public const string SlowScriptError = "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";

    /// <summary>
    /// scriptCall: the command in the script client's argv, checked as Redis checks a script's
    /// command, then run through call(). Returns the error that stopped it before running, or null.
    /// </summary>
    public string? Call()
    {
        var c = ScriptClient;
        var cmd = _server.Commands.Resolve(c.Args, out bool unknownSub);
        if (cmd == null || unknownSub) return Reject(null, "Unknown Redis command called from script");
        if (!cmd.ArityOk(c.Args.Count)) return Reject(cmd, "Wrong number of args calling Redis command from script");
        c.Cmd = c.LastCmd = cmd;
        string? rejection = CheckCall(cmd);
        if (rejection != null) return Reject(cmd, rejection);
        var propagation = _server.Propagation;
        var savedMask = propagation.TargetMask;
        propagation.TargetMask = ReplTargets;
        try
        {
            _server.Dispatcher.Call(c, cmd);
        }
        finally
        {
            propagation.TargetMask = savedMask;
        }
        return null;
    }

    /// <summary>
    /// scriptCall's error path: a command stopped before it ran counts as a rejected call (when it
    /// was found) and in errorstats, once: the script's own error reply that carries it is not
    /// counted again.
    /// </summary>
    string Reject(CommandDef? cmd, string error)
    {
        if (cmd != null) cmd.RejectedCalls++;
        _server.Stats.RejectedCalls++;
        _server.Stats.RecordError(error.StartsWith('-') ? Protocol.ReplyWriter.ErrorCode(error) : "ERR");
        return error;
    }

    /// <summary>scriptCall's checks after lookup and arity, in Redis's order.</summary>
    string? CheckCall(CommandDef cmd)
    {
        if (!_server.Lua.DisableDenyScripts && (cmd.Has(CommandFlags.NoScript) || (cmd.Parent?.Has(CommandFlags.NoScript) ?? false)))
            return "This Redis command is not allowed from script";
        // scriptVerifyAllowStale
        if (_server.IsReplica && _server.ReplicaSide.State != Replication.ReplState.Connected && !_server.Config.GetBool("replica-serve-stale-data") && !cmd.Has(CommandFlags.Stale))
            return "Can not execute the command on a stale replica";
        // scriptVerifyACL
        var denial = _server.Acl.Check(ScriptClient.User, cmd, ScriptClient.Args, out int pos);
        if (denial != Security.AclDenial.Ok)
        {
            _server.Acl.AddLogEntry(ScriptClient, denial, Security.AclLogContext.Lua, pos, null, null);
            return "The user executing the script " + Security.Acl.ErrorMessage(denial);
        }
        // scriptVerifyWriteCommandAllow: for a read-only script a may-replicate command (PUBLISH,
        // PFCOUNT) counts as a write, so read-only scripts run during CLIENT PAUSE WRITE.
        if (ReadOnly && cmd.Has(CommandFlags.Write | CommandFlags.MayReplicate)) return "Write commands are not allowed from read-only scripts.";
        if (cmd.Has(CommandFlags.Write))
        {
            if (_server.IsReplica && _server.Config.ReplicaReadOnly && !Caller.HasFlag(ClientFlags.Master) && !IsAofClient(Caller))
                return "-READONLY You can't write against a read only replica.";
            if ((_server.BackgroundSave.DiskError ?? _server.Aof.WriteDeniedError) is { } diskError) return diskError;
            if (_server.Config.MinReplicasToWrite > 0 && !Caller.HasFlag(ClientFlags.Master) && !_server.Replication.EnoughGoodReplicas())
                return "-NOREPLICAS Not enough good replicas to write.";
        }
        // scriptVerifyOOM: only before the script's first write, as measured when it started.
        if (!AllowOom && _server.Config.MaxMemory > 0 && !IsAofClient(Caller) && !_server.IsReplica && !WriteDirty
            && _server.Lua.ScriptOom && cmd.Has(CommandFlags.DenyOom))
            return "-OOM command not allowed when used memory > 'maxmemory'.";
        if (cmd.Has(CommandFlags.Write)) WriteDirty = true;
        // scriptVerifyClusterState
        if (_server.ClusterRouting is { } routing && routing.CheckScriptCall(ScriptClient, cmd, Caller, AllowCrossSlot) is { } clusterError)
            return clusterError;
        return null;
    }
}
