// Command dispatch (Redis's processCommand + call): resolves argv against the command table,
// runs the checks in Redis's order (unknown command, arity, protected commands, auth, MULTI
// restrictions, OOM, read-only replica, Pub/Sub context, loading, MULTI queueing), then calls
// the handler, timing it for commandstats and the slowlog, and fans out post-call effects.
using System.Diagnostics;
using System.Text;
using Cinnabar.Networking;

namespace Cinnabar.Commands;

public sealed class Dispatcher
{
    readonly CinnabarServer _server;

    /// <summary>Hooks other mechanisms install: MULTI queueing, post-call fan-out (MONITOR, slowlog, propagation).</summary>
    public Func<Client, bool>? QueueInMulti;   // returns true when it queued the command
    public Action<Client, CommandDef, long>? AfterCall; // (client, command, duration µs)
    public Action<Client, string>? ExecAbort;        // a rejected EXEC discards the transaction (execCommandAbort)
    public Action<Client, CommandDef?>? Rejected;    // a command refused before call() (resetClient still runs in Redis)

    /// <summary>server.current_client: the client whose command runs in the outermost call() (EXEC and scripts keep it).</summary>
    public Client? CurrentClient { get; private set; }

    /// <summary>server.execution_nesting: call()s on the stack; AfterCall sees 0 at the end of a top-level command.</summary>
    public int ExecutionNesting { get; private set; }

    public Dispatcher(CinnabarServer server) => _server = server;

    /// <summary>processCommand: checks in Redis's order, then call() or MULTI queueing.</summary>
    public void ProcessCommand(Client c)
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
        if (cmd.Has(CommandFlags.Protected) || (cmd.Parent?.Has(CommandFlags.Protected) ?? false))
        {
            if (!_server.Config.ProtectedCommandAllowed(cmd.Parent?.Name ?? cmd.Name, c))
            {
                Reject(c, cmd, $"{(cmd.Parent ?? cmd).Name.ToUpperInvariant()} command not allowed. If the {ProtectedConfigName(cmd)} option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.");
                return;
            }
        }
        if (!c.Authenticated && _server.AuthRequired(c) && !cmd.Has(CommandFlags.NoAuth))
        {
            Reject(c, cmd, "-NOAUTH Authentication required.");
            return;
        }
        if (c.HasFlag(ClientFlags.Multi) && cmd.Has(CommandFlags.NoMulti))
        {
            Reject(c, cmd, "Command not allowed inside a transaction");
            return;
        }
        if (_server.Config.MaxMemory > 0)
        {
            // As Redis: evict before every command, not only denyoom ones, so memory returns under
            // the limit even under a read-only load; only a command that may grow memory is refused.
            bool outOfMemory = _server.PerformEvictions() == Keyspace.EvictResult.Fail;
            bool rejectOnOom = cmd.Has(CommandFlags.DenyOom) || (IsExec(cmd) && TransactionDenyOom(c));
            // Queueing inside MULTI may itself take unbounded memory: refuse all but the commands that end it.
            if (c.HasFlag(ClientFlags.Multi) && !(cmd.Parent == null && cmd.Name is "exec" or "discard" or "quit" or "reset"))
                rejectOnOom = true;
            if (outOfMemory && rejectOnOom)
            {
                Reject(c, cmd, "-OOM command not allowed when used memory > 'maxmemory'.");
                return;
            }
        }
        if (_server.IsReplica && _server.Config.ReplicaReadOnly && !c.HasFlag(ClientFlags.Master) && cmd.Has(CommandFlags.Write))
        {
            Reject(c, cmd, "-READONLY You can't write against a read only replica.");
            return;
        }
        if (c.HasFlag(ClientFlags.PubSub) && c.Reply.Protocol == 2 && !IsAllowedInPubSubContext(cmd))
        {
            Reject(c, cmd, $"Can't execute '{cmd.FullName}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context");
            return;
        }
        if (_server.Loading && !cmd.Has(CommandFlags.Loading))
        {
            Reject(c, cmd, "-LOADING Redis is loading the dataset in memory");
            return;
        }
        if (c.HasFlag(ClientFlags.Multi) && !IsTransactionControl(cmd) && QueueInMulti != null && QueueInMulti(c))
            return;
        Call(c, cmd);
    }

    static string ProtectedConfigName(CommandDef cmd) => (cmd.Parent ?? cmd).Name switch
    {
        "debug" => "enable-debug-command",
        "module" => "enable-module-command",
        _ => "enable-protected-configs",
    };

    static bool IsExec(CommandDef cmd) => cmd.Parent == null && cmd.Name == "exec";

    /// <summary>EXEC is denyoom when any queued command is (Redis's c->mstate.cmd_flags).</summary>
    static bool TransactionDenyOom(Client c) =>
        c.Extensions.TryGetValue(typeof(Transactions.MultiState), out var s)
        && ((Transactions.MultiState)s).Commands.Exists(q => q.Cmd.Has(CommandFlags.DenyOom));

    static bool IsTransactionControl(CommandDef cmd) =>
        cmd.Parent == null && cmd.Name is "exec" or "discard" or "multi" or "watch" or "quit" or "reset";

    static bool IsAllowedInPubSubContext(CommandDef cmd) =>
        cmd.Parent == null && cmd.Name is "ping" or "subscribe" or "ssubscribe" or "unsubscribe" or "sunsubscribe"
            or "psubscribe" or "punsubscribe" or "quit" or "reset";

    // Clock reads cost as much as parsing a small command (about 50 ns in a VM), so commands of
    // one pipeline share them: the end timestamp of a top-level command is the start of the
    // next one of the same client in the same read (its duration then also covers the previous
    // command's AfterCall hooks and its own parsing: well under a microsecond when idle). Any
    // other top-level call in between (a served blocked client), or a new read, breaks the chain.
    Client? _chainClient;
    long _chainTimestamp;

    /// <summary>Starts or ends a client's pipeline: the next command reads the clock itself.</summary>
    internal void BreakTimestampChain() => _chainClient = null;

    /// <summary>call(): runs the handler with timing and stats.</summary>
    public void Call(Client c, CommandDef cmd)
    {
        long start = ExecutionNesting == 0 && ReferenceEquals(_chainClient, c) ? _chainTimestamp : Stopwatch.GetTimestamp();
        _server.Clock.UpdateCachedTime(start);
        int errorsBefore = c.Reply.ErrorsWritten;
        var previousClient = CurrentClient;
        if (ExecutionNesting == 0) CurrentClient = c;
        ExecutionNesting++;
        try
        {
            cmd.Handler!(c);
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
        cmd.Calls++;
        cmd.MicrosecondsTotal += durationUs;
        if (c.Reply.ErrorsWritten != errorsBefore) cmd.FailedCalls++;
        _server.Stats.NumCommands++;
        AfterCall?.Invoke(c, cmd, durationUs);
        CurrentClient = previousClient;
    }

    void Reject(Client c, CommandDef? cmd, string error, bool rawBytes = false)
    {
        if (cmd != null) cmd.RejectedCalls++;
        _server.Stats.RejectedCalls++;
        if (c.HasFlag(ClientFlags.Multi)) c.Flags |= ClientFlags.DirtyExec; // flagTransaction
        if (cmd != null && cmd.Parent == null && cmd.Name == "exec" && ExecAbort != null) ExecAbort(c, error);
        else if (rawBytes) c.Reply.ErrorWithRawBytes(error);
        else c.Reply.Error(error);
        Rejected?.Invoke(c, cmd);
    }

    static string Truncate(string s, int max) => s.Length > max ? s[..max] : s;

    /// <summary>An argument as one char per byte, so truncation counts bytes and the reply echoes them exactly.</summary>
    static string Latin1(Protocol.CommandArgs args, int i) => Encoding.Latin1.GetString(args[i]);

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
