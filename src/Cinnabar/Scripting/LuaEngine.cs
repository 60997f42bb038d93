// One Lua state with Redis's script environment (Redis's luaEngine / scriptingInit): the standard
// libraries, cjson/cmsgpack/bit/struct (Scripting/Lua/*.lua, each loaded on a script's first use
// of its global: most scripts never touch them, and loaded they are 90 KB of an idle state's
// 140), the redis API and the sandbox of prelude.lua. EVAL and FUNCTION each own one, as in Redis. A script runs inside a Lua thread
// (a coroutine) so the timeout hook can stop it without raising a Lua error from C#: the hook
// yields, the resume returns, the thread is reset. Compiled scripts are registry references.
using System.Runtime.InteropServices;
using System.Text;

namespace Cinnabar.Scripting;

/// <summary>How a run ended: with a value to reply (on the thread's stack at index 2), a Lua error (likewise), or killed.</summary>
public enum LuaRunStatus
{
    Returned,
    Failed,
    Killed,
}

public sealed unsafe class LuaEngine : IDisposable
{
    public IntPtr State { get; private set; }

    readonly int _globalsRef, _runRef, _setLoadingRef = -1;
    IntPtr _thread;
    int _threadRef;
    long _runs;

    /// <summary>Where the script was when it was killed (the "on @source:line" of the error), from the hook.</summary>
    internal string? KilledAt;

    /// <summary>forFunctions: the FUNCTION engine, whose environment switches to the library API while a library loads.</summary>
    public LuaEngine(string version, long versionNum, bool forFunctions = false)
    {
        var l = LuaNative.NewState();
        if (l == IntPtr.Zero) throw new InvalidOperationException("cannot create a Lua state");
        State = l;
        foreach (var (name, global) in new[] { ("_G", true), ("table", true), ("string", true), ("math", true), ("coroutine", true), ("debug", true), ("utf8", true) })
            LuaNative.RequireF(l, name, LibraryOpener(name == "_G" ? "base" : name), 1);
        LuaNative.SetTop(l, 0);
        SaveLibraryEnvironment(l);
        if (LuaNative.LoadText(l, Resource("prelude"), "=prelude") != LuaNative.Ok)
            throw new InvalidOperationException("prelude.lua: " + LuaNative.ToStringOrNull(l, -1));
        LuaNative.CreateTable(l, 0, 8);
        SetFunction(l, "call", &LuaApi.Call);
        SetFunction(l, "sha1hex", &LuaApi.Sha1Hex);
        SetFunction(l, "setresp", &LuaApi.SetResp);
        SetFunction(l, "set_repl", &LuaApi.SetRepl);
        SetFunction(l, "acl_check_cmd", &LuaApi.AclCheckCmd);
        SetFunction(l, "log", &LuaApi.Log);
        SetFunction(l, "register_function", &LuaApi.RegisterFunction);
        SetFunction(l, "load_library", &LuaApi.LoadLibrary);
        LuaNative.PushString(l, version);
        LuaNative.SetField(l, -2, "version");
        LuaNative.PushInteger(l, versionNum);
        LuaNative.SetField(l, -2, "version_num");
        if (LuaNative.PCall(l, 1, 6, 0) != LuaNative.Ok)
            throw new InvalidOperationException("prelude.lua: " + LuaNative.ToStringOrNull(l, -1));
        _runRef = LuaNative.Ref(l, LuaNative.RegistryIndex);
        LuaNative.Pop(l, 1); // readonly()
        int forFunctionsRef = LuaNative.Ref(l, LuaNative.RegistryIndex);
        // Every chunk loaded from now on sees the read-only globals as its _ENV.
        LuaNative.RawSetI(l, LuaNative.RegistryIndex, LuaNative.RidxGlobals);
        _globalsRef = LuaNative.Ref(l, LuaNative.RegistryIndex);
        LuaNative.Pop(l, 1); // the error handler: run() holds it
        if (forFunctions)
        {
            LuaNative.RawGetI(l, LuaNative.RegistryIndex, forFunctionsRef);
            if (LuaNative.PCall(l, 0, 2, 0) != LuaNative.Ok)
                throw new InvalidOperationException("prelude.lua: " + LuaNative.ToStringOrNull(l, -1));
            _setLoadingRef = LuaNative.Ref(l, LuaNative.RegistryIndex);
            LuaNative.RawSetI(l, LuaNative.RegistryIndex, LuaNative.RidxGlobals);
        }
        LuaNative.Unref(l, LuaNative.RegistryIndex, forFunctionsRef);
        LuaNative.SetTop(l, 0);
        NewThread();
        LuaNative.Gc(l, LuaNative.GcCollect, 0); // what building the environment left behind
    }

    /// <summary>liblua54's handle, loaded once for the process (what every engine's luaopen_* lookups read).</summary>
    static readonly Lazy<IntPtr> Lib = new(() => NativeLibrary.Load("lua54", typeof(LuaEngine).Assembly, null));

    static IntPtr LibraryOpener(string name) => NativeLibrary.GetExport(Lib.Value, "luaopen_" + name);

    static byte[] Resource(string name)
    {
        using var s = typeof(LuaEngine).Assembly.GetManifestResourceStream($"Scripting.Lua.{name}.lua")
            ?? throw new InvalidOperationException($"Scripting/Lua/{name}.lua is not embedded");
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }

    /// <summary>The libraries prelude.lua loads on a script's first use of their global.</summary>
    internal static bool IsLibrary(ReadOnlySpan<byte> name) =>
        name.SequenceEqual("cjson"u8) || name.SequenceEqual("struct"u8) || name.SequenceEqual("cmsgpack"u8) || name.SequenceEqual("bit"u8);

    const string SupportKey = "cinnabar.libsupport", LibraryEnvKey = "cinnabar.libenv";

    /// <summary>
    /// The libraries are written against the standard libraries as opened, before prelude.lua
    /// trims them to Redis's sandbox: they load later, so they get their own copy of the globals
    /// (each standard library table copied one level deep), kept in the registry.
    /// </summary>
    static void SaveLibraryEnvironment(IntPtr l)
    {
        const string copy = """
            local env = {}
            for k, v in pairs(_G) do
              if type(v) == 'table' and k ~= '_G' then
                local t = {}
                for k2, v2 in pairs(v) do t[k2] = v2 end
                v = t
              end
              env[k] = v
            end
            env._G = env
            return env
            """;
        if (LuaNative.LoadText(l, Encoding.ASCII.GetBytes(copy), "=libenv") != LuaNative.Ok || LuaNative.PCall(l, 0, 1, 0) != LuaNative.Ok)
            throw new InvalidOperationException("libenv: " + LuaNative.ToStringOrNull(l, -1));
        LuaNative.SetField(l, LuaNative.RegistryIndex, LibraryEnvKey);
    }

    /// <summary>
    /// Runs Scripting/Lua/{name}.lua (debug information stripped) with env {null = cjson.null,
    /// support = libsupport.lua's result} and leaves the library's table on the stack. The shared
    /// support is loaded with the first library and kept in the registry.
    /// </summary>
    internal static void LoadLibrary(IntPtr l, string name)
    {
        if (LuaNative.GetField(l, LuaNative.RegistryIndex, SupportKey) == LuaNative.TNil)
        {
            LuaNative.Pop(l, 1);
            RunLibraryChunk(l, "libsupport", withSupport: false);
            LuaNative.PushValue(l, -1);
            LuaNative.SetField(l, LuaNative.RegistryIndex, SupportKey);
        }
        int support = LuaNative.GetTop(l);
        RunLibraryChunk(l, name, withSupport: true);
        LuaNative.Rotate(l, support, 1);
        LuaNative.Pop(l, 1);
    }

    static void RunLibraryChunk(IntPtr l, string name, bool withSupport)
    {
        int support = LuaNative.GetTop(l);
        if (LuaNative.LoadText(l, Resource(name), "=" + name) != LuaNative.Ok)
            throw new InvalidOperationException($"{name}.lua: " + LuaNative.ToStringOrNull(l, -1));
        LuaNative.GetField(l, LuaNative.RegistryIndex, LibraryEnvKey);
        LuaNative.GetField(l, -1, "string");
        LuaNative.GetField(l, -1, "dump");
        LuaNative.Rotate(l, -4, -1); // libenv, string, dump, f
        LuaNative.StripDebugInfo(l, -2, "=" + name);
        LuaNative.Rotate(l, -4, 1); // f, libenv, string, dump
        LuaNative.SetTop(l, -3);
        LuaNative.SetUpvalue(l, -2, 1); // _ENV = libenv
        LuaNative.CreateTable(l, 0, 2);
        LuaNative.PushLightUserData(l, IntPtr.Zero);
        LuaNative.SetField(l, -2, "null");
        if (withSupport)
        {
            LuaNative.PushValue(l, support);
            LuaNative.SetField(l, -2, "support");
        }
        if (LuaNative.PCall(l, 1, 1, 0) != LuaNative.Ok)
            throw new InvalidOperationException($"{name}.lua: " + LuaNative.ToStringOrNull(l, -1));
    }

    static void SetFunction(IntPtr l, string name, delegate* unmanaged<IntPtr, int> fn)
    {
        LuaNative.PushCClosure(l, fn, 0);
        LuaNative.SetField(l, -2, name);
    }

    void NewThread()
    {
        _thread = LuaNative.NewThread(State);
        _threadRef = LuaNative.Ref(State, LuaNative.RegistryIndex);
    }

    /// <summary>
    /// Compiles code as a function (luaL_loadbuffer with the given chunk name: "@user_script"
    /// makes errors read "user_script:1: ..."). Returns its registry reference, or -1 with the
    /// compiler's message.
    /// </summary>
    public int Compile(ReadOnlySpan<byte> code, string chunkName, out string? error)
    {
        var l = State;
        if (ScriptTailCalls.Rewrite(code) is { } rewritten) code = rewritten;
        if (LuaNative.LoadText(l, code, chunkName) != LuaNative.Ok)
        {
            // Lua 5.1 quoted the end of input in syntax errors; 5.4 does not.
            error = Encoding.Latin1.GetString(LuaNative.ToSpan(l, -1)).Replace("near <eof>", "near '<eof>'");
            LuaNative.SetTop(l, 0);
            return -1;
        }
        error = null;
        return LuaNative.Ref(l, LuaNative.RegistryIndex);
    }

    public void Release(int reference) => LuaNative.Unref(State, LuaNative.RegistryIndex, reference);

    /// <summary>Sets EVAL's globals KEYS and ARGV in the real globals, under the read-only view.</summary>
    public void SetKeysAndArgv(Protocol.CommandArgs args, int numKeys)
    {
        var l = State;
        LuaNative.RawGetI(l, LuaNative.RegistryIndex, _globalsRef);
        LuaNative.PushBytes(l, "KEYS"u8);
        PushArray(l, args, 3, numKeys);
        LuaNative.RawSet(l, -3);
        LuaNative.PushBytes(l, "ARGV"u8);
        PushArray(l, args, 3 + numKeys, args.Count - 3 - numKeys);
        LuaNative.RawSet(l, -3);
        LuaNative.SetTop(l, 0);
    }

    static void PushArray(IntPtr l, Protocol.CommandArgs args, int from, int count)
    {
        LuaNative.CreateTable(l, count, 0);
        for (int i = 0; i < count; i++)
        {
            LuaNative.PushBytes(l, args[from + i]);
            LuaNative.RawSetI(l, -2, i + 1);
        }
    }

    /// <summary>
    /// Runs a compiled function in the script thread, under the error handler: with no
    /// arguments (EVAL) or with the keys and args arrays (FCALL). The outcome's value is left on
    /// the thread's stack at index 2 for the caller to convert; call EndRun afterwards.
    /// </summary>
    public LuaRunStatus Run(int fnRef, Protocol.CommandArgs? args, int keysFrom, int numKeys, int argsFrom, int numArgs, bool withHook, out IntPtr thread)
    {
        thread = _thread;
        var t = _thread;
        KilledAt = null;
        LuaNative.RawGetI(t, LuaNative.RegistryIndex, _runRef);
        LuaNative.RawGetI(t, LuaNative.RegistryIndex, fnRef);
        int nargs = 1;
        if (args != null)
        {
            PushArray(t, args, keysFrom, numKeys);
            PushArray(t, args, argsFrom, numArgs);
            nargs = 3;
        }
        if (withHook) LuaNative.SetHook(t, &LuaApi.Hook, LuaNative.MaskCount, 100000);
        int status = LuaNative.Resume(t, State, nargs, out int nresults);
        if (withHook) LuaNative.SetHook(t, null, 0, 0);
        // As Redis: a GC step every 50 runs, so garbage never waits for a full cycle's latency.
        if (++_runs % 50 == 0) LuaNative.Gc(State, LuaNative.GcStep, 50);
        if (status == LuaNative.Ok)
        {
            // run() returned xpcall's results: ok, then the value (none when the script returned nothing).
            LuaNative.SetTop(t, 2);
            return LuaNative.ToBoolean(t, 1) != 0 ? LuaRunStatus.Returned : LuaRunStatus.Failed;
        }
        if (status == LuaNative.Yield)
        {
            bool killed = KilledAt != null;
            ResetThread();
            if (killed) return LuaRunStatus.Killed;
            // A script yielding its own thread: Redis's Lua refuses that, so do we.
            LuaNative.SetTop(t, 0);
            LuaNative.PushBoolean(t, 0);
            PushErrorTable(t, "attempt to yield across metamethod/C-call boundary");
            return LuaRunStatus.Failed;
        }
        // An error outside the handler's reach (out of memory, an error in the handler).
        string message = LuaNative.ToStringOrNull(t, -1) ?? "execution failure";
        ResetThread();
        LuaNative.PushBoolean(t, 0);
        LuaNative.PushString(t, message);
        return LuaRunStatus.Failed;
    }

    /// <summary>After a run: empty the thread's stack.</summary>
    public void EndRun() => LuaNative.SetTop(_thread, 0);

    void ResetThread()
    {
        // A thread left suspended or dead is reset (lua_closethread) and reused.
        LuaNative.CloseThread(_thread, State);
        LuaNative.SetTop(_thread, 0);
    }

    /// <summary>luaPushError: {err = "CODE message"} ("-CODE msg" keeps its code, anything else gets ERR).</summary>
    internal static void PushErrorTable(IntPtr l, string error, bool ignoreStats = false)
    {
        string code = "ERR", msg = error;
        if (error.StartsWith('-'))
        {
            int sp = error.IndexOf(' ');
            if (sp < 0) msg = error[1..];
            else
            {
                code = error[1..sp];
                msg = error[(sp + 1)..];
            }
        }
        msg = msg.Trim('\r', '\n');
        LuaNative.CreateTable(l, 0, 2);
        LuaNative.PushBytes(l, Encoding.Latin1.GetBytes(code + " " + msg));
        LuaNative.SetField(l, -2, "err");
        if (ignoreStats)
        {
            LuaNative.PushBoolean(l, 1);
            LuaNative.SetField(l, -2, "ignore_error_stats_update");
        }
    }

    /// <summary>used_memory_lua: what the Lua allocator holds.</summary>
    public long UsedMemory => State == IntPtr.Zero ? 0 : LuaNative.Gc(State, LuaNative.GcCount, 0) * 1024L + LuaNative.Gc(State, LuaNative.GcCountB, 0);

    /// <summary>The FUNCTION engine: while a library loads its code sees only the library API.</summary>
    public void SetLoading(bool loading)
    {
        var l = State;
        LuaNative.RawGetI(l, LuaNative.RegistryIndex, _setLoadingRef);
        LuaNative.PushBoolean(l, loading ? 1 : 0);
        LuaNative.PCall(l, 1, 0, 0);
        LuaNative.SetTop(l, 0);
    }

    public void Dispose()
    {
        if (State == IntPtr.Zero) return;
        LuaNative.Close(State);
        State = IntPtr.Zero;
    }
}
