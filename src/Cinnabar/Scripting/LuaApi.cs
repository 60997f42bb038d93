// The C# half of the redis API a script sees (Redis's luaRedisGenericCommand, luaRedisSha1hex,
// luaSetResp, luaRedisSetReplCommand, luaLogCommand, luaRedisAclCheckCmdPermissionsCommand) and
// the timeout hook (luaMaskCountHook). Each is an [UnmanagedCallersOnly] function Lua calls
// directly. None raises a Lua error: a failure returns (error table, true) and prelude.lua's
// wrapper raises it. A managed exception never crosses back into Lua: it becomes an error table.
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Cinnabar.Server;

namespace Cinnabar.Scripting;

static unsafe class LuaApi
{
    /// <summary>Returns (error table, true): the wrapper raises it.</summary>
    static int Raise(IntPtr l, string error, bool ignoreStats = false)
    {
        LuaEngine.PushErrorTable(l, error, ignoreStats);
        LuaNative.PushBoolean(l, 1);
        return 2;
    }

    /// <summary>Runs a callback's body; a managed exception becomes an error table instead of crossing into Lua.</summary>
    static int Guard(IntPtr l, delegate*<IntPtr, int> body)
    {
        try
        {
            return body(l);
        }
        catch (Exception e)
        {
            LuaNative.SetTop(l, 0);
            return Raise(l, "internal error in the redis lib: " + e.GetType().Name);
        }
    }

    /// <summary>luaArgsToRedisArgv into the server's reusable argv; the error to raise, or null.</summary>
    static string? ReadArgv(IntPtr l, ScriptRun run, out Protocol.CommandArgs args)
    {
        var scripting = run.ScriptClient.Server.Lua;
        args = scripting.CallArgs;
        int argc = LuaNative.GetTop(l);
        string? error = argc == 0 ? "Please specify at least one argument for this redis lib call"
            : LuaReplies.ArgsToArgv(l, argc, args, ref scripting.CallArena) ? null
            : "Lua redis lib command arguments must be strings or integers";
        LuaNative.SetTop(l, 0);
        return error;
    }

    /// <summary>cjson, struct, cmsgpack or bit on first use (prelude.lua's global lookup): the library's table.</summary>
    [UnmanagedCallersOnly]
    public static int LoadLibrary(IntPtr l) => Guard(l, &LoadLibraryBody);

    static int LoadLibraryBody(IntPtr l)
    {
        if (LuaNative.GetTop(l) != 1 || !LuaNative.TryToSpan(l, 1, out var name) || !LuaEngine.IsLibrary(name))
            return Raise(l, "unknown library");
        string library = System.Text.Encoding.ASCII.GetString(name);
        LuaNative.SetTop(l, 0);
        LuaEngine.LoadLibrary(l, library);
        return 1;
    }

    /// <summary>redis.call / redis.pcall: argv from the Lua arguments, scriptCall, the reply converted to Lua.</summary>
    [UnmanagedCallersOnly]
    public static int Call(IntPtr l) => Guard(l, &CallBody);

    static int CallBody(IntPtr l)
    {
        var run = ScriptRun.Current;
        if (run == null) return Raise(l, "redis.call/pcall can only be called inside a script invocation");
        if (ReadArgv(l, run, out var args) is { } argvError) return Raise(l, argvError);
        var c = run.ScriptClient;
        c.Args = args;
        string? error = run.Call();
        c.Args = c.Parser.Args;
        if (error != null)
        {
            c.Output.Clear();
            return Raise(l, error, ignoreStats: true);
        }
        var reply = LuaReplies.TakeReply(c.Output, ref c.Server.Lua.ReplyScratch);
        bool isError = reply.Length > 0 && reply[0] == (byte)'-';
        int pos = 0;
        LuaReplies.PushReply(l, reply, ref pos);
        c.Output.Clear();
        if (!isError) return 1;
        LuaNative.PushBoolean(l, 1);
        return 2;
    }

    /// <summary>redis.sha1hex(string)</summary>
    [UnmanagedCallersOnly]
    public static int Sha1Hex(IntPtr l) => Guard(l, &Sha1HexBody);

    static int Sha1HexBody(IntPtr l)
    {
        if (LuaNative.GetTop(l) != 1) return Raise(l, "wrong number of arguments");
        LuaNative.TryToSpan(l, 1, out var s);
        Span<byte> hash = stackalloc byte[20];
        SHA1.HashData(s, hash);
        LuaNative.PushBytes(l, System.Text.Encoding.ASCII.GetBytes(Convert.ToHexStringLower(hash)));
        return 1;
    }

    /// <summary>redis.setresp(2|3): the protocol the script's commands reply in.</summary>
    [UnmanagedCallersOnly]
    public static int SetResp(IntPtr l) => Guard(l, &SetRespBody);

    static int SetRespBody(IntPtr l)
    {
        var run = ScriptRun.Current;
        if (run == null) return Raise(l, "redis.setresp can only be called inside a script invocation");
        if (LuaNative.GetTop(l) != 1) return Raise(l, "redis.setresp() requires one argument.");
        long resp = (long)LuaNative.ToNumber(l, 1);
        if (resp != 2 && resp != 3) return Raise(l, "RESP version must be 2 or 3.");
        run.ScriptClient.Reply.Protocol = (int)resp;
        return 0;
    }

    /// <summary>redis.set_repl(flags): where the script's writes propagate (REPL_AOF, REPL_REPLICA, REPL_ALL, REPL_NONE).</summary>
    [UnmanagedCallersOnly]
    public static int SetRepl(IntPtr l) => Guard(l, &SetReplBody);

    static int SetReplBody(IntPtr l)
    {
        var run = ScriptRun.Current;
        if (run == null) return Raise(l, "redis.set_repl can only be called inside a script invocation");
        if (LuaNative.GetTop(l) != 1) return Raise(l, "redis.set_repl() requires two arguments.");
        long flags = (long)LuaNative.ToNumber(l, -1);
        if ((flags & ~(long)PropagationTargets.All) != 0) return Raise(l, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.");
        run.ReplTargets = (PropagationTargets)flags;
        return 0;
    }

    /// <summary>redis.acl_check_cmd(cmd, ...): whether the caller's user may run it (keys and channels included).</summary>
    [UnmanagedCallersOnly]
    public static int AclCheckCmd(IntPtr l) => Guard(l, &AclCheckCmdBody);

    static int AclCheckCmdBody(IntPtr l)
    {
        var run = ScriptRun.Current;
        if (run == null) return Raise(l, "redis.acl_check_cmd can only be called inside a script invocation");
        if (ReadArgv(l, run, out var args) is { } argvError) return Raise(l, argvError);
        var cmd = run.ScriptClient.Server.Commands.Resolve(args, out bool unknownSub);
        if (cmd == null || unknownSub) return Raise(l, "Invalid command passed to redis.acl_check_cmd()");
        var server = run.ScriptClient.Server;
        bool allowed = server.Acl.Check(run.ScriptClient.User, cmd, args, out _) == Security.AclDenial.Ok;
        LuaNative.PushBoolean(l, allowed ? 1 : 0);
        return 1;
    }

    /// <summary>redis.log's last step (prelude.lua validated the level and joined the message).</summary>
    [UnmanagedCallersOnly]
    public static int Log(IntPtr l) => Guard(l, &LogBody);

    static int LogBody(IntPtr l)
    {
        var server = ScriptRun.Current?.ScriptClient.Server ?? LuaScripting.LoadingLibrary?.Server;
        if (server == null) return 0;
        int level = (int)LuaNative.ToInteger(l, 1);
        if (LuaNative.TryToSpan(l, 2, out var msg)) server.Log.Write(level, System.Text.Encoding.UTF8.GetString(msg));
        return 0;
    }

    /// <summary>redis.register_function's last step (prelude.lua validated the arguments): the function joins the library being loaded.</summary>
    [UnmanagedCallersOnly]
    public static int RegisterFunction(IntPtr l) => Guard(l, &RegisterFunctionBody);

    static int RegisterFunctionBody(IntPtr l)
    {
        var loading = LuaScripting.LoadingLibrary;
        if (loading == null) return Raise(l, "redis.register_function can only be called on FUNCTION LOAD command");
        string name = LuaNative.ToStringOrNull(l, 1) ?? "";
        var flags = (ScriptFlags)LuaNative.ToInteger(l, 3);
        string? description = LuaNative.Type(l, 4) == LuaNative.TString ? LuaNative.ToStringOrNull(l, 4) : null;
        string? error = loading.CheckNewFunction(name);
        if (error != null) return Raise(l, error);
        LuaNative.PushValue(l, 2);
        int reference = LuaNative.Ref(l, LuaNative.RegistryIndex);
        loading.Add(new FunctionLibraries.Function(name, reference, flags, description));
        return 0;
    }

    /// <summary>
    /// luaMaskCountHook: every 100,000 instructions, scriptInterrupt. A killed script yields its
    /// thread (when it may; else the hook tries again at the next instruction), which ends the run.
    /// </summary>
    [UnmanagedCallersOnly]
    public static void Hook(IntPtr l, IntPtr ar)
    {
        try
        {
            var run = ScriptRun.Current;
            LuaEngine engine;
            if (run != null)
            {
                if (!run.Interrupt()) return;
                if (run.Engine.KilledAt == null) run.ServerLogKilled();
                engine = run.Engine;
            }
            else
            {
                // luaEngineLoadHook: a library's code has FUNCTION LOAD's 500 ms to register its functions.
                var loading = LuaScripting.LoadingLibrary;
                if (loading == null || !loading.TimedOut) return;
                engine = loading.Engine;
            }
            engine.KilledAt ??= "";
            LuaNative.SetHook(l, &Hook, LuaNative.MaskCount, 1);
            if (LuaNative.IsYieldable(l) != 0) LuaNative.YieldK(l, 0, IntPtr.Zero, IntPtr.Zero);
        }
        catch (Exception)
        {
            // Nothing may unwind into Lua; the script goes on and the next hook tries again.
        }
    }
}
