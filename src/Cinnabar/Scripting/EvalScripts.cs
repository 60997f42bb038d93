// EVAL and its script cache (Redis's eval.c): a script is compiled once into the EVAL Lua state
// and kept by the SHA1 of its body (SCRIPT LOAD, EVAL, EVALSHA, SCRIPT EXISTS), with the flags
// of its shebang; SCRIPT FLUSH drops the cache and the Lua state with it. evalGenericCommand
// checks numkeys, finds or compiles the script, prepares the run (ScriptRun.Prepare), sets KEYS
// and ARGV, runs it and replies with its value converted (or its error with "script: <sha>, on
// <source>:<line>."). What the script's commands changed propagates as those commands (effects
// replication); EVAL itself never does.
using System.Security.Cryptography;
using System.Text;
using Cinnabar.Commands;
using Cinnabar.Networking;

namespace Cinnabar.Scripting;

public sealed class EvalScripts
{
    sealed class Script(string sha, byte[] body, ScriptFlags flags, int reference)
    {
        public readonly string Sha = sha;
        public readonly byte[] Body = body;
        public readonly ScriptFlags Flags = flags;
        public readonly int Reference = reference;
    }

    readonly CinnabarServer _server;
    readonly Dictionary<string, Script> _scripts = new(StringComparer.OrdinalIgnoreCase);
    readonly Dictionary<string, Script>.AlternateLookup<ReadOnlySpan<char>> _bySha;
    LuaEngine? _engine;
    Client? _client;
    long _scriptsMemory;

    public EvalScripts(CinnabarServer server)
    {
        _server = server;
        _bySha = _scripts.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The cached script of a SHA1 given as bytes (any case), found without allocating.</summary>
    Script? Find(ReadOnlySpan<byte> sha)
    {
        if (sha.Length != 40) return null;
        Span<char> chars = stackalloc char[40];
        for (int i = 0; i < 40; i++) chars[i] = (char)sha[i];
        return _bySha.TryGetValue(chars, out var s) ? s : null;
    }

    /// <summary>number_of_cached_scripts</summary>
    public int Count => _scripts.Count;

    /// <summary>used_memory_scripts_eval: the cached bodies and their keys, as Redis counts them.</summary>
    public long ScriptsMemory => _scriptsMemory;

    /// <summary>used_memory_lua / used_memory_vm_eval (an empty Lua state's size before the first script).</summary>
    public long LuaMemory => _engine?.UsedMemory ?? EmptyStateMemory;

    public const long EmptyStateMemory = 31744;

    /// <summary>The EVAL Lua state (lctx.lua), created on first use.</summary>
    LuaEngine Engine => _engine ??= new LuaEngine(CinnabarServer.RedisVersion, CinnabarServer.RedisVersionNum);

    /// <summary>lctx.lua_client: the client the scripts' commands run as.</summary>
    Client ScriptClient
    {
        get => _client ??= LuaScripting.CreateScriptClient(_server);
    }

    public static string Sha1Hex(ReadOnlySpan<byte> body) => Convert.ToHexStringLower(SHA1.HashData(body));

    // EVAL sends the whole body each time: the last body seen is remembered, so the same script
    // again costs a comparison instead of a SHA1 (Redis hashes it twice per call).
    Script? _lastByBody;

    /// <summary>The cached script with this body, or null.</summary>
    Script? FindByBody(ReadOnlySpan<byte> body)
    {
        if (_lastByBody != null && body.SequenceEqual(_lastByBody.Body)) return _lastByBody;
        Span<byte> hash = stackalloc byte[20];
        SHA1.HashData(body, hash);
        Span<byte> hex = stackalloc byte[40];
        Convert.TryToHexStringLower(hash, hex, out _);
        var s = Find(hex);
        if (s != null) _lastByBody = s;
        return s;
    }

    /// <summary>
    /// luaCreateFunction: the SHA1 of a cached or newly compiled body, or null after replying the
    /// shebang's or the compiler's error to c.
    /// </summary>
    public string? CreateFunction(Client c, ReadOnlySpan<byte> body)
    {
        string sha = Sha1Hex(body);
        if (_scripts.ContainsKey(sha)) return sha;
        if (!ScriptShebang.TryExtract(body, out var flags, out int shebangLength, out var error))
        {
            c.Reply.Error(error!);
            return null;
        }
        int reference = Engine.Compile(body[shebangLength..], "@user_script", out var compileError);
        if (reference < 0)
        {
            c.Reply.ErrorWithRawBytes("Error compiling script (new function): " + compileError);
            return null;
        }
        _scripts[sha] = new Script(sha, body.ToArray(), flags, reference);
        _scriptsMemory += body.Length + 40 + 64;
        return sha;
    }

    public bool Exists(ReadOnlySpan<byte> sha) => Find(sha) != null;

    /// <summary>SCRIPT FLUSH (scriptingReset): the cache and the Lua state go; the next script starts a fresh one.</summary>
    public void Flush()
    {
        _scripts.Clear();
        _lastByBody = null;
        _scriptsMemory = 0;
        _engine?.Dispose();
        _engine = null;
    }

    /// <summary>evalGetCommandFlags: the flags processCommand checks for EVAL of this script (its shebang's, when it has one).</summary>
    public CommandFlags CommandFlagsFor(Client c, CommandDef cmd)
    {
        bool evalsha = cmd.Name is "evalsha" or "evalsha_ro";
        if (c.Args.Count < 2) return cmd.Flags;
        var arg = c.Args[1];
        if (evalsha && arg.Length > 40) return cmd.Flags;
        ScriptFlags flags;
        if ((evalsha ? Find(arg) : FindByBody(arg)) is { } script) flags = script.Flags;
        else if (evalsha || !ScriptShebang.TryExtract(arg, out flags, out _, out _)) return cmd.Flags;
        return ScriptShebang.ToCommandFlags(cmd.Flags, flags);
    }

    /// <summary>evalGenericCommand: EVAL, EVALSHA and their _RO forms.</summary>
    public void Eval(Client c, bool evalsha, bool ro)
    {
        var args = c.Args;
        if (!Arguments.TryGetLong(c, 2, out long numkeys) || !ScriptRun.CheckNumKeys(c, numkeys)) return;
        _server.Monitors.BeforeScript(c);
        Script? script;
        if (evalsha)
        {
            script = Find(args[1]);
            if (script == null)
            {
                c.Reply.Error("-NOSCRIPT No matching script. Please use EVAL.");
                return;
            }
        }
        else
        {
            script = FindByBody(args[1]);
            if (script == null)
            {
                string? sha = CreateFunction(c, args[1]);
                if (sha == null) return;
                script = _scripts[sha];
            }
        }
        var engine = Engine;
        var run = ScriptRun.Prepare(_server, engine, ScriptClient, c, script.Sha, script.Flags, ro, evalMode: true);
        if (run == null) return;
        try
        {
            engine.SetKeysAndArgv(args, (int)numkeys);
            bool hook = _server.Config.BusyReplyThreshold > 0;
            var status = engine.Run(script.Reference, null, 0, 0, 0, 0, hook, out var thread);
            ReplyWithResult(c, run, status, thread);
            engine.EndRun();
        }
        finally
        {
            run.Reset();
        }
    }

    /// <summary>The end of luaCallFunction: the value or the error, as the caller's reply.</summary>
    internal static void ReplyWithResult(Client c, ScriptRun run, LuaRunStatus status, IntPtr thread)
    {
        if (status == LuaRunStatus.Killed)
        {
            c.Reply.Error("Script killed by user with " + (run.EvalMode ? "SCRIPT KILL..." : "FUNCTION KILL..."));
            return;
        }
        if (status == LuaRunStatus.Returned)
        {
            LuaReplies.WriteReply(thread, 2, c.Reply, run.ScriptClient.Reply.Protocol);
            return;
        }
        if (LuaNative.Type(thread, 2) != LuaNative.TTable)
        {
            string msg = LuaNative.ToStringOrNull(thread, 2) ?? "execution failure";
            c.Reply.ErrorWithRawBytes($"Error running script {run.FunctionName}, {(msg.Length > 100 ? msg[..100] : msg)}");
            return;
        }
        // luaExtractErrorInformation: err, source, line, ignore_error_stats_update.
        string err = FieldString(thread, 2, "err") ?? "";
        string? source = FieldString(thread, 2, "source");
        string? line = FieldString(thread, 2, "line");
        LuaNative.GetField(thread, 2, "ignore_error_stats_update");
        bool ignoreStats = LuaNative.Type(thread, -1) == LuaNative.TBoolean && LuaNative.ToBoolean(thread, -1) != 0;
        LuaNative.Pop(thread, 1);
        string final = "-" + err;
        if (line != null && source != null) final += $" script: {run.FunctionName}, on {source}:{line}.";
        c.Reply.ErrorWithRawBytes(final, countInStats: !ignoreStats);
    }

    static string? FieldString(IntPtr l, int t, string name)
    {
        LuaNative.GetField(l, t, name);
        string? s = LuaNative.IsString(l, -1) != 0 ? Encoding.Latin1.GetString(LuaNative.ToSpan(l, -1)) : null;
        LuaNative.Pop(l, 1);
        return s;
    }
}
