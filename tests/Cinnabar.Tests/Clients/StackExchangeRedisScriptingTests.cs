// Lua scripting through StackExchange.Redis: ScriptEvaluate with keys and arguments, Lua values
// converted to RESP (tables, status and error replies, nil, numbers), EVAL_RO, LuaScript's named
// parameters, and scripts loaded with SCRIPT LOAD then run by SHA (EVALSHA).
using System.Security.Cryptography;
using System.Text;
using Cinnabar.Tests.Support;
using StackExchange.Redis;

namespace Cinnabar.Tests.Clients;

public sealed class StackExchangeRedisScriptingTests(ClientTargets targets) : IClassFixture<ClientTargets>
{
    [RequiresToolsTheory("redis-server"), Targets]
    public void A_script_reads_and_writes_its_keys(Target target)
    {
        var db = targets.EmptyDatabase(target);
        db.StringSet("stock", 10);
        const string reserve = """
            local left = tonumber(redis.call('GET', KEYS[1]))
            if left < tonumber(ARGV[1]) then return false end
            redis.call('DECRBY', KEYS[1], ARGV[1])
            redis.call('RPUSH', KEYS[2], ARGV[2])
            return left - ARGV[1]
            """;
        Assert.Equal(7, (long)db.ScriptEvaluate(reserve, ["stock", "reservations"], [3, "ann"]));
        Assert.True(db.ScriptEvaluate(reserve, ["stock", "reservations"], [8, "bob"]).IsNull);
        Assert.Equal("7", db.StringGet("stock"));
        Assert.Equal(["ann"], db.ListRange("reservations").Select(v => (string?)v));
        Assert.Equal("7", (string?)db.ScriptEvaluateReadOnly("return redis.call('GET', KEYS[1])", ["stock"]));
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public void Lua_values_come_back_as_their_resp_replies(Target target)
    {
        var db = targets.EmptyDatabase(target);
        var table = db.ScriptEvaluate("return {1, 'two', {3, 'four'}, 3.99, true}");
        Assert.Equal(ResultType.Array, table.Resp2Type);
        var items = (RedisResult[])table!;
        Assert.Equal(5, items.Length);
        Assert.Equal(1, (long)items[0]);
        Assert.Equal("two", (string?)items[1]);
        Assert.Equal(["3", "four"], ((RedisResult[])items[2]!).Select(r => (string?)r));
        Assert.Equal(3, (long)items[3]); // Lua numbers become integers, truncated
        Assert.Equal(1, (long)items[4]);

        var status = db.ScriptEvaluate("return redis.status_reply('FINE')");
        Assert.Equal((ResultType.SimpleString, "FINE"), (status.Resp2Type, (string?)status));
        Assert.True(db.ScriptEvaluate("return nil").IsNull);
        var ex = Assert.Throws<RedisServerException>(() => db.ScriptEvaluate("return redis.error_reply('MYERR custom failure')"));
        Assert.Equal("MYERR custom failure", ex.Message);
    }

    [RequiresToolsFact("redis-server")]
    public void Script_errors_read_the_same_as_redis_servers()
    {
        string[] scripts =
        [
            "local n = redis.call('INCR', KEYS[1]) return n",
            "redis.call('NOSUCHCOMMAND')",
            "local x = nil; return x.field",
            "redis.call('SET', KEYS[1])",
            "error({err='MYERR raised as a table'})",
            "return redis.pcall('INCR', KEYS[1])",
        ];
        foreach (var script in scripts)
        {
            var messages = new[] { Target.Cinnabar, Target.Redis }.Select(t =>
            {
                var db = targets.EmptyDatabase(t);
                db.StringSet("text", "abc");
                return Assert.Throws<RedisServerException>(() => db.ScriptEvaluate(script, ["text"])).Message;
            }).ToArray();
            Assert.Equal(messages[1], messages[0]);
        }
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public void LuaScript_binds_named_parameters(Target target)
    {
        var db = targets.EmptyDatabase(target);
        var script = LuaScript.Prepare("redis.call('HSET', @key, @field, @value) return redis.call('HGET', @key, @field)");
        Assert.Equal("on", (string?)script.Evaluate(db, new { key = (RedisKey)"flags", field = "dark-mode", value = "on" }));
        Assert.Equal("on", db.HashGet("flags", "dark-mode"));
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public void A_loaded_script_runs_by_its_sha(Target target)
    {
        var db = targets.EmptyDatabase(target);
        var server = targets.Server(target);
        server.ScriptFlush();
        const string body = "return redis.call('INCRBY', KEYS[1], ARGV[1])";
        byte[] sha = server.ScriptLoad(body);
        Assert.Equal(SHA1.HashData(Encoding.UTF8.GetBytes(body)), sha);
        Assert.True(server.ScriptExists(body));
        Assert.Equal(5, (long)db.ScriptEvaluate(sha, ["hits"], [5]));
        Assert.Equal(7, (long)db.ScriptEvaluate(sha, ["hits"], [2]));

        var loaded = LuaScript.Prepare("return redis.call('GET', @key)").Load(server);
        Assert.Equal("7", (string?)loaded.Evaluate(db, new { key = (RedisKey)"hits" }));
        server.ScriptFlush();
        Assert.False(server.ScriptExists(body));
        var ex = Assert.Throws<RedisServerException>(() => db.ScriptEvaluate(sha, ["hits"], [1]));
        Assert.Equal("NOSCRIPT No matching script. Please use EVAL.", ex.Message);
    }
}
