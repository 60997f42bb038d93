// The Lua 5.4 C API as Cinnabar calls it: direct P/Invoke into liblua54 (shipped by the KeraLua
// package), with Lua's macros (lua_pop, lua_pcall, lua_upvalueindex, ...) written out. Callbacks
// from Lua are [UnmanagedCallersOnly] functions passed as function pointers, so a redis.call
// costs one native transition each way and allocates nothing. Nothing here may raise a Lua
// error from managed code: a longjmp across managed frames is undefined behaviour, so C#
// callbacks return an error marker and the Lua side (prelude.lua) raises it.
using System.Runtime.InteropServices;

namespace Cinnabar.Scripting;

static unsafe partial class LuaNative
{
    const string Lib = "lua54";

    public const int RegistryIndex = -1000000 - 1000; // LUA_REGISTRYINDEX
    public const int RidxGlobals = 2;                 // LUA_RIDX_GLOBALS
    public const int MultRet = -1;

    public const int TNil = 0, TBoolean = 1, TLightUserData = 2, TNumber = 3, TString = 4, TTable = 5, TFunction = 6;

    public const int Ok = 0, Yield = 1, ErrRun = 2, ErrSyntax = 3, ErrMem = 4, ErrErr = 5;

    public const int MaskLine = 1 << 2, MaskCount = 1 << 3;

    public const int GcCollect = 2, GcCount = 3, GcCountB = 4, GcStep = 5;

    public static int UpvalueIndex(int i) => RegistryIndex - i;

    [LibraryImport(Lib, EntryPoint = "luaL_newstate")] public static partial IntPtr NewState();
    [LibraryImport(Lib, EntryPoint = "lua_close")] public static partial void Close(IntPtr l);
    [LibraryImport(Lib, EntryPoint = "luaL_requiref", StringMarshalling = StringMarshalling.Utf8)] public static partial void RequireF(IntPtr l, string name, IntPtr open, int global);
    [LibraryImport(Lib, EntryPoint = "lua_newthread")] public static partial IntPtr NewThread(IntPtr l);
    [LibraryImport(Lib, EntryPoint = "lua_closethread")] public static partial int CloseThread(IntPtr l, IntPtr from);
    [LibraryImport(Lib, EntryPoint = "lua_resume")] public static partial int Resume(IntPtr l, IntPtr from, int nargs, out int nresults);
    [LibraryImport(Lib, EntryPoint = "lua_status")] public static partial int Status(IntPtr l);
    [LibraryImport(Lib, EntryPoint = "lua_yieldk")] public static partial int YieldK(IntPtr l, int nresults, IntPtr ctx, IntPtr k);
    [LibraryImport(Lib, EntryPoint = "lua_isyieldable")] public static partial int IsYieldable(IntPtr l);
    [LibraryImport(Lib, EntryPoint = "lua_sethook")] public static partial void SetHook(IntPtr l, delegate* unmanaged<IntPtr, IntPtr, void> hook, int mask, int count);
    [LibraryImport(Lib, EntryPoint = "lua_gc")] public static partial int Gc(IntPtr l, int what, int arg);

    [LibraryImport(Lib, EntryPoint = "lua_gettop")] public static partial int GetTop(IntPtr l);
    [LibraryImport(Lib, EntryPoint = "lua_settop")] public static partial void SetTop(IntPtr l, int idx);
    [LibraryImport(Lib, EntryPoint = "lua_pushvalue")] public static partial void PushValue(IntPtr l, int idx);
    [LibraryImport(Lib, EntryPoint = "lua_rotate")] public static partial void Rotate(IntPtr l, int idx, int n);
    [LibraryImport(Lib, EntryPoint = "lua_checkstack")] public static partial int CheckStack(IntPtr l, int n);
    [LibraryImport(Lib, EntryPoint = "lua_xmove")] public static partial void XMove(IntPtr from, IntPtr to, int n);

    [LibraryImport(Lib, EntryPoint = "lua_type")] public static partial int Type(IntPtr l, int idx);
    [LibraryImport(Lib, EntryPoint = "lua_isinteger")] public static partial int IsInteger(IntPtr l, int idx);
    [LibraryImport(Lib, EntryPoint = "lua_isstring")] public static partial int IsString(IntPtr l, int idx);
    [LibraryImport(Lib, EntryPoint = "lua_tonumberx")] public static partial double ToNumberX(IntPtr l, int idx, int* isnum);
    [LibraryImport(Lib, EntryPoint = "lua_tointegerx")] public static partial long ToIntegerX(IntPtr l, int idx, int* isnum);
    [LibraryImport(Lib, EntryPoint = "lua_toboolean")] public static partial int ToBoolean(IntPtr l, int idx);
    [LibraryImport(Lib, EntryPoint = "lua_tolstring")] public static partial byte* ToLString(IntPtr l, int idx, nuint* len);
    [LibraryImport(Lib, EntryPoint = "lua_touserdata")] public static partial IntPtr ToUserData(IntPtr l, int idx);
    [LibraryImport(Lib, EntryPoint = "lua_tothread")] public static partial IntPtr ToThread(IntPtr l, int idx);

    [LibraryImport(Lib, EntryPoint = "lua_pushnil")] public static partial void PushNil(IntPtr l);
    [LibraryImport(Lib, EntryPoint = "lua_pushnumber")] public static partial void PushNumber(IntPtr l, double n);
    [LibraryImport(Lib, EntryPoint = "lua_pushinteger")] public static partial void PushInteger(IntPtr l, long n);
    [LibraryImport(Lib, EntryPoint = "lua_pushlstring")] public static partial IntPtr PushLString(IntPtr l, byte* s, nuint len);
    [LibraryImport(Lib, EntryPoint = "lua_pushboolean")] public static partial void PushBoolean(IntPtr l, int b);
    [LibraryImport(Lib, EntryPoint = "lua_pushcclosure")] public static partial void PushCClosure(IntPtr l, delegate* unmanaged<IntPtr, int> fn, int n);
    [LibraryImport(Lib, EntryPoint = "lua_pushlightuserdata")] public static partial void PushLightUserData(IntPtr l, IntPtr p);

    [LibraryImport(Lib, EntryPoint = "lua_createtable")] public static partial void CreateTable(IntPtr l, int narr, int nrec);
    [LibraryImport(Lib, EntryPoint = "lua_setupvalue")] public static partial byte* SetUpvalue(IntPtr l, int funcIndex, int n);
    [LibraryImport(Lib, EntryPoint = "lua_getfield", StringMarshalling = StringMarshalling.Utf8)] public static partial int GetField(IntPtr l, int idx, string k);
    [LibraryImport(Lib, EntryPoint = "lua_setfield", StringMarshalling = StringMarshalling.Utf8)] public static partial void SetField(IntPtr l, int idx, string k);
    [LibraryImport(Lib, EntryPoint = "lua_rawget")] public static partial int RawGet(IntPtr l, int idx);
    [LibraryImport(Lib, EntryPoint = "lua_rawset")] public static partial void RawSet(IntPtr l, int idx);
    [LibraryImport(Lib, EntryPoint = "lua_rawgeti")] public static partial int RawGetI(IntPtr l, int idx, long n);
    [LibraryImport(Lib, EntryPoint = "lua_rawseti")] public static partial void RawSetI(IntPtr l, int idx, long n);
    [LibraryImport(Lib, EntryPoint = "lua_next")] public static partial int Next(IntPtr l, int idx);

    [LibraryImport(Lib, EntryPoint = "luaL_loadbufferx")] public static partial int LoadBufferX(IntPtr l, byte* buf, nuint size, byte* name, byte* mode);
    [LibraryImport(Lib, EntryPoint = "lua_pcallk")] public static partial int PCallK(IntPtr l, int nargs, int nresults, int msgh, IntPtr ctx, IntPtr k);
    [LibraryImport(Lib, EntryPoint = "luaL_ref")] public static partial int Ref(IntPtr l, int t);
    [LibraryImport(Lib, EntryPoint = "luaL_unref")] public static partial void Unref(IntPtr l, int t, int r);

    [DllImport(Lib, EntryPoint = "luaopen_base")] public static extern int OpenBase(IntPtr l);

    public static void Pop(IntPtr l, int n) => SetTop(l, -n - 1);

    public static void Insert(IntPtr l, int idx) => Rotate(l, idx, 1);

    public static int PCall(IntPtr l, int nargs, int nresults, int msgh) => PCallK(l, nargs, nresults, msgh, IntPtr.Zero, IntPtr.Zero);

    public static void PushBytes(IntPtr l, ReadOnlySpan<byte> s)
    {
        fixed (byte* p = s) PushLString(l, p, (nuint)s.Length);
    }

    public static void PushString(IntPtr l, string s) => PushBytes(l, System.Text.Encoding.UTF8.GetBytes(s));

    /// <summary>The string (or number, converted in place as Lua does) at idx as a span over Lua's memory: valid while the value stays on the stack.</summary>
    public static ReadOnlySpan<byte> ToSpan(IntPtr l, int idx)
    {
        nuint len;
        byte* p = ToLString(l, idx, &len);
        return p == null ? default : new ReadOnlySpan<byte>(p, (int)len);
    }

    public static bool TryToSpan(IntPtr l, int idx, out ReadOnlySpan<byte> s)
    {
        nuint len;
        byte* p = ToLString(l, idx, &len);
        s = p == null ? default : new ReadOnlySpan<byte>(p, (int)len);
        return p != null;
    }

    public static string? ToStringOrNull(IntPtr l, int idx)
    {
        nuint len;
        byte* p = ToLString(l, idx, &len);
        return p == null ? null : System.Text.Encoding.UTF8.GetString(p, (int)len);
    }

    public static double ToNumber(IntPtr l, int idx) => ToNumberX(l, idx, null);

    public static long ToInteger(IntPtr l, int idx) => ToIntegerX(l, idx, null);

    /// <summary>luaL_loadbuffer with text mode only: binary chunks are never accepted (as Redis's patched Lua).</summary>
    public static int LoadText(IntPtr l, ReadOnlySpan<byte> code, string chunkName)
    {
        var name = System.Text.Encoding.UTF8.GetBytes(chunkName + "\0");
        ReadOnlySpan<byte> mode = "t\0"u8;
        fixed (byte* c = code)
        fixed (byte* n = name)
        fixed (byte* m = mode)
            return LoadBufferX(l, c == null ? (byte*)1 : c, (nuint)code.Length, n, m);
    }

    /// <summary>
    /// Replaces the function on top of the stack with a copy without debug information: the
    /// dump function (string.dump) is called with strip and its output loaded back as a binary
    /// chunk named chunkName. The copy's upvalues are fresh: set them afterwards.
    /// </summary>
    public static void StripDebugInfo(IntPtr l, int dumpIndex, string chunkName)
    {
        PushValue(l, dumpIndex);
        PushValue(l, -2);
        PushBoolean(l, 1);
        if (PCall(l, 2, 1, 0) != Ok) throw new InvalidOperationException("string.dump: " + ToStringOrNull(l, -1));
        var chunk = ToSpan(l, -1);
        var name = System.Text.Encoding.UTF8.GetBytes(chunkName + "\0");
        ReadOnlySpan<byte> mode = "b\0"u8;
        int status;
        fixed (byte* c = chunk)
        fixed (byte* n = name)
        fixed (byte* m = mode)
            status = LoadBufferX(l, c, (nuint)chunk.Length, n, m);
        if (status != Ok) throw new InvalidOperationException("stripped chunk: " + ToStringOrNull(l, -1));
        // f, dump output, stripped f
        Rotate(l, -3, 1);
        SetTop(l, -3);
    }
}
