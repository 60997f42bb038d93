// ScriptTailCalls: which `return lib.f(...)` statements get parentheses (so the caller's frame,
// and with it the error's "on @user_script:N", survives), and that comments, strings, long
// brackets and expressions that are not a whole tail call are left alone. Also the idle Lua
// state: the libraries load on first use, so 10,000 scripts leave it under Redis's 100 KB bound.
using System.Text;
using Cinnabar.Scripting;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Scripting;

public class ScriptTailCallsTests
{
    static string? Rewrite(string code) => ScriptTailCalls.Rewrite(Encoding.ASCII.GetBytes(code)) is { } b ? Encoding.ASCII.GetString(b) : null;

    [Theory]
    [InlineData("return redis.call('get', KEYS[1])", "return (redis.call('get', KEYS[1]))")]
    [InlineData("if x then return redis.call('a', f(1, (2))) end", "if x then return (redis.call('a', f(1, (2)))) end")]
    [InlineData("return redis.call('a');", "return (redis.call('a'));")]
    [InlineData("repeat return cjson.decode(s) until true", "repeat return (cjson.decode(s)) until true")]
    [InlineData("if a then return bit.band(1) else return struct.pack('>I2', 1) end", "if a then return (bit.band(1)) else return (struct.pack('>I2', 1)) end")]
    [InlineData("return redis.call(')', \"(\", [[)]], [==[ ]] ) ]==]) -- )", "return (redis.call(')', \"(\", [[)]], [==[ ]] ) ]==])) -- )")]
    [InlineData("return\n  redis . call\n  ('x')\n", "return\n  (redis . call\n  ('x'))\n")]
    public void A_whole_tail_call_of_a_single_result_function_is_parenthesized(string code, string expected) =>
        Assert.Equal(expected, Rewrite(code));

    [Theory]
    [InlineData("return redis.call('a') .. 'x'")] // not a tail call
    [InlineData("return redis.call('a'), 2")] // two values
    [InlineData("return redis.pcall('a')")] // never raises
    [InlineData("return cmsgpack.unpack(s)")] // several results
    [InlineData("return struct.unpack('>I2', s)")]
    [InlineData("return f(redis.call('a'))")]
    [InlineData("-- return redis.call('a')\nreturn 1")]
    [InlineData("--[==[ return redis.call('a') ]==] return 1")]
    [InlineData("local s = 'return redis.call(1)' return s")]
    [InlineData("local s = [[return redis.call(1)]] return s")]
    [InlineData("local s = \"it\\\"s return redis.call(1)\" return s")]
    [InlineData("return redis.call")]
    [InlineData("return redis.call('unterminated'")]
    public void Anything_else_is_left_as_written(string code) => Assert.Null(Rewrite(code));

    [Fact]
    public void The_error_of_a_tail_call_names_the_script_line()
    {
        using var fx = new ServerFixture();
        using var c = fx.Connect();
        c.Call("SET", "s", "x");
        var r = c.Call("EVAL", "local a = 1\nreturn redis.call('lpush', KEYS[1], 'v')", "1", "s");
        Assert.Matches(@"^WRONGTYPE Operation against a key holding the wrong kind of value script: [0-9a-f]{40}, on @user_script:2\.$", r.Text);
    }

    static long UsedMemoryLua(RespClient c)
    {
        foreach (var line in c.Call("INFO", "memory").Text!.Split("\r\n"))
            if (line.StartsWith("used_memory_lua:", StringComparison.Ordinal)) return long.Parse(line["used_memory_lua:".Length..], System.Globalization.CultureInfo.InvariantCulture);
        throw new InvalidOperationException("no used_memory_lua");
    }

    [Fact]
    public void Ten_thousand_scripts_leave_the_Lua_state_under_100_KB_until_a_library_is_used()
    {
        using var fx = new ServerFixture();
        using var c = fx.Connect();
        c.Call("SCRIPT", "FLUSH");
        var batch = new List<byte>();
        for (int i = 0; i < 10_000; i++) batch.AddRange(RespClient.Encode("EVAL", "return redis.call('incr', KEYS[1])", "1", "x"));
        c.SendRaw(batch.ToArray());
        for (int i = 0; i < 10_000; i++) Assert.False(c.Read().IsError);
        long idle = UsedMemoryLua(c);
        Assert.InRange(idle, 1, 100 * 1024);
        Assert.Equal("[1,2]", c.Call("EVAL", "return cjson.encode({1, 2})", "0").Text);
        Assert.True(UsedMemoryLua(c) > idle); // cjson (and the libraries' support) now loaded
        Assert.Equal(10_000, c.Call("GET", "x").Integer);
    }
}
