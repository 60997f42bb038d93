// Test harness for the Lua libraries of Scripting/Lua (cjson, cmsgpack, bit, struct): a fresh
// KeraLua state loads them from Cinnabar's embedded resources as the engine does (each chunk
// called with {null = NULL}, its result set as the global), through an _ENV that raises on any
// global read once the chunk has loaded, since the sandbox later hides what they use; then hides
// what a Redis 5.1 script cannot see. Run() evaluates a chunk named @user_script after the
// one-line prelude, so errors read "user_script:1: ..." exactly as redis-server's do.
// cFunctions sets env.c_functions: the libraries' functions exposed as C functions (the exact mode).
using KeraLua;

namespace Cinnabar.Tests.Scripting;

sealed class LuaLibraryHarness : IDisposable
{
    // dump(...): values as text that Lua 5.1 and 5.4 print alike (%.17g numbers, \xHH-escaped
    // strings, tables with sorted keys, cjson.null as null), with "!float"/"!integer" after a 5.4
    // number whose subtype a 5.1 script would not expect; try(f, ...): dump of f's results, or
    // "error: " and the message. One line, so the test chunk stays on line 1.
    internal const string Prelude = """local function d(v, depth) local t = type(v) if t == 'number' then local s = string.format('%.17g', v) if math.type then local integral = v == math.floor(v) and v >= -2^63 and v < 2^63 and not (v == 0 and 1/v < 0) if (math.type(v) == 'integer') ~= integral then s = s .. '!' .. math.type(v) end end return s elseif t == 'string' then return '"' .. string.gsub(v, '[%c\\"\128-\255]', function(c) if c == '\\' or c == '"' then return '\\' .. c end return string.format('\\x%02X', string.byte(c)) end) .. '"' elseif t == 'table' then if depth > 20 then return '{...}' end local keys = {} for k in pairs(v) do keys[#keys + 1] = {d(k, depth + 1), k} end table.sort(keys, function(a, b) return a[1] < b[1] end) local parts = {} for i = 1, #keys do parts[i] = keys[i][1] .. '=' .. d(v[keys[i][2]], depth + 1) end return '{' .. table.concat(parts, ',') .. '}' elseif t == 'userdata' and v == cjson.null then return 'null' else return t == 'nil' and 'nil' or t == 'boolean' and tostring(v) or t end end local function dump(...) local out = {} for i = 1, select('#', ...) do out[i] = d((select(i, ...)), 0) end return table.concat(out, ', ') end local unpack = unpack or table.unpack local function packn(...) return {n = select('#', ...), ...} end local function try(f, ...) local r = packn(pcall(f, ...)) if r[1] then return dump(unpack(r, 2, r.n)) end return 'error: ' .. tostring(r[2]) end""";

    const string Loader = """
        local name, source, null, c_functions = ...
        local loading = true
        local env = setmetatable({}, {
            __index = function(_, k)
                if not loading then error(name .. ": global read after loading: " .. tostring(k), 2) end
                return _G[k]
            end,
            __newindex = function(_, k) error(name .. ": global write: " .. tostring(k), 2) end,
        })
        local chunk = assert(load(source, "=" .. name, "t", env))
        _G[name] = chunk({ null = null, c_functions = c_functions, support = rawget(_G, "libsupport") })
        loading = false
        """;

    // What the 5.1 view lacks; math.type stays for dump(). unpack is 5.1's name for table.unpack.
    const string Hide = """
        unpack = table.unpack
        string.pack, string.unpack, string.packsize = nil, nil, nil
        math.tointeger, math.ult, math.mininteger, math.maxinteger = nil, nil, nil, nil
        utf8, debug, rawlen, table.unpack, table.move, libsupport = nil, nil, nil, nil, nil, nil
        """;

    // libsupport first: the others get its result as env.support.
    static readonly string[] Libraries = ["libsupport", "cjson", "cmsgpack", "bit", "struct"];

    readonly Lua _lua = new();

    public LuaLibraryHarness(bool cFunctions = true)
    {
        foreach (var name in Libraries)
        {
            Check(_lua.LoadString(Loader, "=loader"));
            _lua.PushString(name);
            _lua.PushBuffer(Resource(name));
            _lua.PushLightUserData(IntPtr.Zero);
            _lua.PushBoolean(cFunctions);
            Check(_lua.PCall(4, 0, 0));
        }
        Check(_lua.LoadString(Hide, "=hide"));
        Check(_lua.PCall(0, 0, 0));
    }

    /// <summary>The chunk's result as text, or "error: " and the error message.</summary>
    public string Run(string lua)
    {
        _lua.SetTop(0);
        var status = _lua.LoadString(Prelude + " " + lua, "@user_script");
        if (status == LuaStatus.OK) status = _lua.PCall(0, 1, 0);
        var text = _lua.ToString(-1, false) ?? "nil";
        return status == LuaStatus.OK ? text : "error: " + text;
    }

    public void Dispose() => _lua.Dispose();

    static byte[] Resource(string name)
    {
        using var stream = typeof(CinnabarServer).Assembly.GetManifestResourceStream($"Scripting.Lua.{name}.lua")
            ?? throw new InvalidOperationException($"Scripting/Lua/{name}.lua is not embedded");
        using var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        return bytes.ToArray();
    }

    void Check(LuaStatus status)
    {
        if (status != LuaStatus.OK) throw new InvalidOperationException(_lua.ToString(-1, false));
    }
}
