// The server's scripting state (Redis's lctx plus the script fields of struct redisServer): EVAL's
// script cache and Lua state (EvalScripts), the script running now and whether it went past
// busy-reply-threshold (the dispatcher then answers -BUSY), whether memory was over maxmemory
// when it started (script_oom), and the buffers redis.call reuses so a call allocates nothing.
using Cinnabar.Commands;
using Cinnabar.Networking;
using Cinnabar.Protocol;

namespace Cinnabar.Scripting;

public sealed class LuaScripting
{
    public LuaScripting(CinnabarServer server)
    {
        Eval = new EvalScripts(server);
        Functions = new FunctionLibraries(server);
        RunContext = new ScriptRun(server);
    }

    /// <summary>A Lua state's client (lctx.lua_client): fake, flagged as a script's, its errors counted in errorstats.</summary>
    internal static Client CreateScriptClient(CinnabarServer server)
    {
        var c = server.Clients.CreateFakeClient();
        c.Flags |= ClientFlags.Script;
        c.Reply.OnError = server.Stats.RecordError;
        return c;
    }

    /// <summary>The run context every script reuses.</summary>
    internal ScriptRun RunContext { get; }

    public EvalScripts Eval { get; }

    public FunctionLibraries Functions { get; private set; }

    /// <summary>functionsLibCtxSwapWithCurrent (a replica's swapdb load): loaded becomes the libraries in use; the old ones are returned.</summary>
    public FunctionLibraries SwapFunctions(FunctionLibraries loaded)
    {
        var old = Functions;
        Functions = loaded;
        return old;
    }

    /// <summary>curr_run_ctx: the script running now, or null.</summary>
    public ScriptRun? Running { get; internal set; }

    /// <summary>scriptIsTimedout: the running script passed busy-reply-threshold; other clients get -BUSY.</summary>
    public bool Busy { get; internal set; }

    /// <summary>DEBUG SET-DISABLE-DENY-SCRIPTS: scripts may call commands flagged noscript (a test knob).</summary>
    public bool DisableDenyScripts { get; set; }

    /// <summary>server.script_oom: memory was over maxmemory when the running script started.</summary>
    public bool ScriptOom { get; internal set; }

    /// <summary>The FUNCTION library whose code is loading on this thread (redis.register_function adds to it).</summary>
    [ThreadStatic] internal static FunctionLibraries.LoadingLibrary? LoadingLibrary;

    internal readonly CommandArgs CallArgs = new();
    internal byte[] CallArena = new byte[1024];
    internal byte[] ReplyScratch = [];

    /// <summary>EVAL, EVALSHA, FCALL and their _RO forms: the flags processCommand checks depend on the script.</summary>
    public static bool IsScriptCommand(CommandDef cmd) => cmd.Parent == null && cmd.Name is "eval" or "evalsha" or "eval_ro" or "evalsha_ro" or "fcall" or "fcall_ro";

    /// <summary>getCommandFlags: a script command's flags as its script declares them.</summary>
    public CommandFlags CommandFlagsFor(Client c, CommandDef cmd) =>
        cmd.Name.StartsWith("eval", StringComparison.Ordinal) ? Eval.CommandFlagsFor(c, cmd) : Functions.CommandFlagsFor(c, cmd);

    /// <summary>The -BUSY error for the running script's kind.</summary>
    public string BusyError => Running?.EvalMode ?? true ? ScriptRun.SlowEvalError : ScriptRun.SlowScriptError;
}
