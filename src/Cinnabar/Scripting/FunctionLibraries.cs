// Redis 7.0 functions (functions.c and function_lua.c): libraries of Lua code that declare
// "#!lua name=<lib>" and register named functions with redis.register_function while their code
// runs once at FUNCTION LOAD (in the FUNCTION engine's own Lua state, with only the library API
// visible and 500 ms to finish). FCALL runs a function as EVAL runs a script, with the flags it
// registered. Libraries live in the RDB (RDB_OPCODE_FUNCTION2 with the code), in FUNCTION DUMP
// payloads and, as FUNCTION LOAD/DELETE/FLUSH/RESTORE are write commands, in the replication
// stream and the AOF as themselves.
using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Cinnabar.Commands;
using Cinnabar.Networking;
using Cinnabar.Persistence;

namespace Cinnabar.Scripting;

public sealed class FunctionLibraries
{
    public sealed record Function(string Name, int Reference, ScriptFlags Flags, string? Description)
    {
        public Library Library { get; set; } = null!;
    }

    public sealed class Library(string name, byte[] code, List<Function> functions)
    {
        public readonly string Name = name;
        public readonly byte[] Code = code;
        public readonly List<Function> Functions = functions;
    }

    /// <summary>A library whose code is running at FUNCTION LOAD: what it registered so far and its deadline.</summary>
    public sealed class LoadingLibrary(FunctionLibraries owner, LuaEngine engine)
    {
        readonly long _deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 2;
        public readonly List<Function> Functions = new();
        public LuaEngine Engine { get; } = engine;
        public CinnabarServer Server => owner._server;
        public bool TimedOut => Stopwatch.GetTimestamp() > _deadline;

        public string? CheckNewFunction(string name)
        {
            if (!IsValidName(name)) return "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";
            if (Functions.Exists(f => f.Name == name)) return "Function already exists in the library";
            return null;
        }

        public void Add(Function f) => Functions.Add(f);
    }

    readonly CinnabarServer _server;
    readonly Dictionary<string, Library> _libraries = new(StringComparer.Ordinal);
    readonly Dictionary<string, Function> _functions = new(StringComparer.OrdinalIgnoreCase); // FCALL finds functions ignoring case
    readonly Dictionary<string, Function>.AlternateLookup<ReadOnlySpan<char>> _functionByName;
    LuaEngine? _engine;
    Client? _client;
    long _codeMemory;

    public FunctionLibraries(CinnabarServer server)
    {
        _server = server;
        _functionByName = _functions.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The function FCALL names (bytes, any case), found without allocating.</summary>
    Function? FindFunction(ReadOnlySpan<byte> name)
    {
        if (name.Length > 256) return null;
        Span<char> chars = stackalloc char[name.Length];
        for (int i = 0; i < name.Length; i++) chars[i] = (char)name[i];
        return _functionByName.TryGetValue(chars, out var f) ? f : null;
    }

    public int LibraryCount => _libraries.Count;
    public int FunctionCount => _functions.Count;
    public IEnumerable<Library> Libraries => _libraries.Values;

    /// <summary>used_memory_functions: the libraries' code and bookkeeping, as Redis estimates it.</summary>
    public long FunctionsMemory => _codeMemory + _functions.Count * 64 + _libraries.Count * 64;

    /// <summary>used_memory_vm_functions (an empty Lua state's size before the first library).</summary>
    public long LuaMemory => _engine?.UsedMemory ?? EvalScripts.EmptyStateMemory;

    LuaEngine Engine => _engine ??= new LuaEngine(CinnabarServer.RedisVersion, CinnabarServer.RedisVersionNum, forFunctions: true);

    Client ScriptClient
    {
        get => _client ??= LuaScripting.CreateScriptClient(_server);
    }

    /// <summary>functionsVerifyName: letters, digits and underscores, at least one.</summary>
    static bool IsValidName(string name) => name.Length > 0 && name.All(ch => ch is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_');

    /// <summary>functionExtractLibMetaData: the engine and name of "#!&lt;engine&gt; name=&lt;name&gt;", and where the code after that line starts.</summary>
    static bool TryParseMetadata(ReadOnlySpan<byte> code, out string engine, out string name, out int shebangLength, out string? error)
    {
        engine = name = "";
        shebangLength = 0;
        error = null;
        if (!code.StartsWith("#!"u8))
        {
            error = "Missing library metadata";
            return false;
        }
        int nl = code.IndexOf((byte)'\n');
        var parts = nl < 0 ? null : AofManifest.SplitArgs(Encoding.Latin1.GetString(code[..nl]));
        if (parts == null || parts.Count == 0)
        {
            error = "Invalid library metadata";
            return false;
        }
        shebangLength = nl;
        engine = parts[0][2..];
        string? libName = null;
        for (int i = 1; i < parts.Count; i++)
        {
            if (parts[i].StartsWith("name=", StringComparison.OrdinalIgnoreCase))
            {
                if (libName != null)
                {
                    error = "Invalid metadata value, name argument was given multiple times";
                    return false;
                }
                libName = parts[i][5..];
                continue;
            }
            error = "Invalid metadata value given: " + parts[i];
            return false;
        }
        if (libName == null)
        {
            error = "Library name was not given";
            return false;
        }
        name = libName;
        return true;
    }

    /// <summary>
    /// functionsCreateWithLibraryCtx: compiles and runs a library's code, then adds it (replacing
    /// the library of the same name when replace). Returns the library's name, or null with the error.
    /// </summary>
    public string? Create(ReadOnlySpan<byte> code, bool replace, out string? error)
    {
        if (!TryParseMetadata(code, out var engineName, out var name, out int shebangLength, out error)) return null;
        if (!engineName.Equals("lua", StringComparison.OrdinalIgnoreCase))
        {
            error = $"Engine '{engineName}' not found";
            return null;
        }
        if (!IsValidName(name))
        {
            error = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";
            return null;
        }
        _libraries.TryGetValue(name, out var old);
        if (old != null && !replace)
        {
            error = $"Library '{name}' already exists";
            return null;
        }
        var engine = Engine;
        int chunk = engine.Compile(code[shebangLength..], "@user_function", out var compileError);
        if (chunk < 0)
        {
            error = "Error compiling function: " + compileError;
            return null;
        }
        var loading = new LoadingLibrary(this, engine);
        LuaScripting.LoadingLibrary = loading;
        engine.SetLoading(true);
        LuaRunStatus status;
        string? loadError = null;
        try
        {
            status = engine.Run(chunk, null, 0, 0, 0, 0, withHook: true, out var thread);
            if (status == LuaRunStatus.Failed) loadError = ErrorMessage(thread);
            engine.EndRun();
        }
        finally
        {
            engine.SetLoading(false);
            LuaScripting.LoadingLibrary = null;
            engine.Release(chunk);
        }
        if (status == LuaRunStatus.Killed) loadError = "ERR FUNCTION LOAD timeout";
        if (loadError != null)
        {
            error = "Error registering functions: " + loadError;
            ReleaseAll(loading.Functions);
            return null;
        }
        if (loading.Functions.Count == 0)
        {
            error = "No functions registered";
            return null;
        }
        foreach (var f in loading.Functions)
        {
            if (_functions.TryGetValue(f.Name, out var existing) && existing.Library != old)
            {
                error = $"Function {f.Name} already exists";
                ReleaseAll(loading.Functions);
                return null;
            }
        }
        if (old != null) Remove(old);
        var lib = new Library(name, code.ToArray(), loading.Functions);
        foreach (var f in lib.Functions)
        {
            f.Library = lib;
            _functions[f.Name] = f;
        }
        _libraries[name] = lib;
        _codeMemory += lib.Code.Length;
        return name;
    }

    /// <summary>luaExtractErrorInformation's message: the err field of an error table, or "ERR " and the string.</summary>
    static string ErrorMessage(IntPtr thread)
    {
        if (LuaNative.Type(thread, 2) == LuaNative.TTable)
        {
            LuaNative.GetField(thread, 2, "err");
            string msg = LuaNative.IsString(thread, -1) != 0 ? Encoding.Latin1.GetString(LuaNative.ToSpan(thread, -1)) : "";
            LuaNative.Pop(thread, 1);
            return msg;
        }
        return "ERR " + (LuaNative.ToStringOrNull(thread, 2) ?? "unknown error");
    }

    void ReleaseAll(List<Function> functions)
    {
        foreach (var f in functions) _engine?.Release(f.Reference);
    }

    void Remove(Library lib)
    {
        foreach (var f in lib.Functions)
        {
            _functions.Remove(f.Name);
            _engine?.Release(f.Reference);
        }
        _libraries.Remove(lib.Name);
        _codeMemory -= lib.Code.Length;
    }

    public bool Delete(string name)
    {
        if (!_libraries.TryGetValue(name, out var lib)) return false;
        Remove(lib);
        return true;
    }

    /// <summary>FUNCTION FLUSH: every library goes, and the Lua state with them.</summary>
    public void Flush()
    {
        _libraries.Clear();
        _functions.Clear();
        _codeMemory = 0;
        _engine?.Dispose();
        _engine = null;
    }

    public Library? Find(string name) => _libraries.GetValueOrDefault(name);

    /// <summary>fcallGetCommandFlags: the flags processCommand checks for FCALL of this function.</summary>
    public CommandFlags CommandFlagsFor(Client c, CommandDef cmd)
    {
        if (c.Args.Count < 2 || FindFunction(c.Args[1]) is not { } f) return cmd.Flags;
        return ScriptShebang.ToCommandFlags(cmd.Flags, f.Flags);
    }

    /// <summary>fcallCommandGeneric: FCALL and FCALL_RO.</summary>
    public void Fcall(Client c, bool ro)
    {
        var args = c.Args;
        var f = FindFunction(args[1]);
        if (f == null)
        {
            c.Reply.Error("Function not found");
            return;
        }
        if (!Protocol.RespParser.TryParseLong(args[2], out long numkeys))
        {
            c.Reply.Error("Bad number of keys provided");
            return;
        }
        if (!ScriptRun.CheckNumKeys(c, numkeys)) return;
        _server.Monitors.BeforeScript(c);
        var engine = Engine;
        var run = ScriptRun.Prepare(_server, engine, ScriptClient, c, f.Name, f.Flags, ro, evalMode: false);
        if (run == null) return;
        try
        {
            bool hook = _server.Config.BusyReplyThreshold > 0;
            var status = engine.Run(f.Reference, args, 3, (int)numkeys, 3 + (int)numkeys, args.Count - 3 - (int)numkeys, hook, out var thread);
            EvalScripts.ReplyWithResult(c, run, status, thread);
            engine.EndRun();
        }
        finally
        {
            run.Reset();
        }
    }

    // ---------------------------------------------------------------- DUMP / RESTORE / RDB

    /// <summary>rdbSaveFunctions: each library as RDB_OPCODE_FUNCTION2 and its code.</summary>
    public void SaveToRdb(RdbWriter w)
    {
        foreach (var lib in _libraries.Values)
        {
            w.WriteByte(RdbTypes.OpFunction2);
            w.SaveRawString(lib.Code);
        }
    }

    /// <summary>FUNCTION DUMP: the libraries as in an RDB, then the RDB version and a CRC-64, like DUMP.</summary>
    public byte[] Dump()
    {
        var w = new RdbWriter(_server.Config.GetBool("rdbcompression"));
        SaveToRdb(w);
        BinaryPrimitives.WriteUInt16LittleEndian(w.Grow(2), RdbTypes.Version);
        ulong crc = Crc64.Compute(0, w.Written);
        BinaryPrimitives.WriteUInt64LittleEndian(w.Grow(8), crc);
        return w.Written.ToArray();
    }

    /// <summary>
    /// FUNCTION RESTORE: the payload's libraries join (APPEND: none may exist yet), replace those of
    /// the same name (REPLACE), or replace everything (FLUSH). All or nothing. Null on success, else the error.
    /// </summary>
    public string? Restore(ReadOnlySpan<byte> payload, string policy)
    {
        if (!RdbReader.VerifyDumpPayload(payload)) return "DUMP payload version or checksum are wrong";
        var codes = new List<byte[]>();
        try
        {
            var r = new RdbReader(payload[..^10]);
            while (r.Position < payload.Length - 10)
            {
                byte type = r.ReadByte();
                if (type != RdbTypes.OpFunction2) return "given type is not a function";
                codes.Add(r.LoadString());
            }
        }
        catch (RdbFormatException)
        {
            return "DUMP payload version or checksum are wrong";
        }
        // Validate against a copy first, so a failure leaves the libraries as they were.
        var names = new List<string>();
        foreach (var code in codes)
        {
            if (!TryParseMetadata(code, out _, out var name, out _, out var metaError)) return metaError;
            names.Add(name);
        }
        if (policy == "append")
        {
            foreach (var name in names)
                if (_libraries.ContainsKey(name)) return $"Library {name} already exists";
        }
        var saved = _libraries.Values.ToList();
        if (policy == "flush") ClearKeepingEngine();
        foreach (var code in codes)
        {
            if (Create(code, replace: true, out var error) == null)
            {
                // Put the previous libraries back.
                ClearKeepingEngine();
                foreach (var lib in saved) Create(lib.Code, replace: true, out _);
                return error;
            }
        }
        return null;
    }

    void ClearKeepingEngine()
    {
        foreach (var lib in _libraries.Values.ToList()) Remove(lib);
    }

    /// <summary>
    /// The RDB loader found RDB_OPCODE_FUNCTION2: the library is created. An existing library of
    /// the same name fails the load unless replace (RDBFLAGS_ALLOW_DUP); a load that empties the
    /// data first (full sync, DEBUG RELOAD) empties the libraries too.
    /// </summary>
    public void LoadFromRdb(byte[] code, bool replace)
    {
        if (Create(code, replace, out var error) == null) throw new RdbFormatException("Failed loading library: " + error);
    }
}
