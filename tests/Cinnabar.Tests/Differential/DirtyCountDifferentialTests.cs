// server.dirty, differentially: INFO's rdb_changes_since_last_save feeds persistence and
// call()'s decision to propagate, so each write command must add exactly what redis-server 7.0
// adds (one per element pushed, popped or removed for some commands, zero when nothing changed).
// Every case of WriteCommandCases runs its setup and command on both servers and the deltas of
// rdb_changes_since_last_save across the command are compared.
using Cinnabar.Tests.Keyspace;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Differential;

[Collection(RedisServerCollection.Name)]
public class DirtyCountDifferentialTests(RedisServerFixture redis, ServerFixture cinnabar) : IClassFixture<ServerFixture>
{
    static long Dirty(RespClient c)
    {
        foreach (var line in c.Call("INFO", "persistence").Text!.Split("\r\n"))
            if (line.StartsWith("rdb_changes_since_last_save:", StringComparison.Ordinal)) return long.Parse(line.AsSpan(28));
        throw new InvalidOperationException("INFO persistence has no rdb_changes_since_last_save");
    }

    static (long Delta, string Reply) DirtyDelta(RespClient c, WriteCommandCase wc)
    {
        var command = WriteScopeTests.Prepare(c, wc);
        long before = Dirty(c);
        var reply = c.Call(command);
        return (Dirty(c) - before, reply.ToString());
    }

    [RequiresToolsTheory("redis-server")]
    [MemberData(nameof(WriteCommandCases.Every), MemberType = typeof(WriteCommandCases))]
    public void CommandAddsToDirtyWhatRedisAdds(string name)
    {
        var wc = WriteCommandCases.Named(name);
        using var oracle = redis.Connect();
        using var subject = cinnabar.Connect();
        subject.Call("CONFIG", "SET", "save", ""); // as the oracle runs: FLUSHALL saves (and resets dirty) only with save points
        var (expected, oracleReply) = DirtyDelta(oracle, wc);
        var (actual, subjectReply) = DirtyDelta(subject, wc);
        Assert.True(expected == actual, $"{name} ({string.Join(' ', wc.Command)}): redis-server adds {expected} to dirty, Cinnabar {actual} (replies: {oracleReply} / {subjectReply})");
    }
}
