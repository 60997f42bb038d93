// The write scope's pre-write hook is a snapshot's copy-on-write point, so it must see every
// value a command changes or removes before the change: a recording hook serializes the value
// (DUMP's RDB encoding) and its TTL when it fires, and for each write command of
// WriteCommandCases what it captured must equal DUMP and PEXPIRETIME taken before the command.
// The same table's commands also keep the running used-memory total exact.
using System.Text;
using Cinnabar.Keyspace;
using Cinnabar.Persistence;
using Cinnabar.Tests.Commands;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Keyspace;

public sealed class WriteScopeTests : IClassFixture<ServerFixture>
{
    readonly ServerFixture _fx;

    public WriteScopeTests(ServerFixture fx) => _fx = fx;

    /// <summary>Serializes each value it is shown, as a snapshot that had not reached it yet would.</summary>
    sealed class RecordingHook(bool compression) : IPreWriteHook
    {
        public readonly List<(string Key, string Dump, long ExpireMs)> Captures = new();

        public void BeforeWrite(Database db, RedisObject o) => Capture(db, o);

        public void BeforeFlush(Database db)
        {
            foreach (var o in db.Main.Entries()) Capture(db, o);
        }

        void Capture(Database db, RedisObject o) =>
            Captures.Add((QualifiedKey(db.Id, Encoding.Latin1.GetString(o.KeySpan)), Encoding.Latin1.GetString(RdbWriter.CreateDumpPayload(o, compression)), db.GetExpire(o.KeySpan)));
    }

    static string QualifiedKey(int db, string key) => db == 0 ? key : db + "/" + key;

    static (int Db, string Key) ParseKey(string qualified)
    {
        int slash = qualified.IndexOf('/');
        return slash < 0 ? (0, qualified) : (int.Parse(qualified[..slash]), qualified[(slash + 1)..]);
    }

    /// <summary>DUMP and PEXPIRETIME of a key (null dump when missing), read through the client.</summary>
    static (string? Dump, long ExpireMs) State(RespClient c, string qualified)
    {
        var (db, key) = ParseKey(qualified);
        if (db != 0) c.Call("SELECT", db.ToString());
        var dump = c.Call("DUMP", key).Text;
        long expire = c.Call("PEXPIRETIME", key).Integer;
        if (db != 0) c.Call("SELECT", "0");
        return (dump, expire);
    }

    /// <summary>Runs the case's setup on a flushed server and returns its command with $DUMP:key resolved.</summary>
    internal static string[] Prepare(RespClient c, WriteCommandCase wc)
    {
        c.Call("FLUSHALL");
        foreach (var step in wc.Setup)
        {
            var r = c.Call(step);
            Assert.False(r.IsError, $"setup '{string.Join(' ', step)}' failed: {r}");
        }
        return wc.Command.Select(a => a.StartsWith("$DUMP:", StringComparison.Ordinal) ? c.Call("DUMP", a[6..]).Text! : a).ToArray();
    }

    [Theory]
    [MemberData(nameof(WriteCommandCases.WithKeys), MemberType = typeof(WriteCommandCases))]
    public void PreWriteHookSeesTheOldValueBeforeTheCommandChangesIt(string name)
    {
        var wc = WriteCommandCases.Named(name);
        using var c = _fx.Connect();
        var command = Prepare(c, wc);
        var before = wc.Keys.ToDictionary(k => k, k => State(c, k));
        foreach (var (k, s) in before) Assert.True(s.Dump != null, $"setup did not create {k}");

        var hook = new RecordingHook(_fx.Server.Config.GetBool("rdbcompression"));
        LoopAccess.Run(_fx.Server, () =>
        {
            foreach (var db in _fx.Server.Databases) db.PreWriteHook = hook;
            return 0;
        });
        RespReply reply;
        try
        {
            reply = c.Call(command);
        }
        finally
        {
            LoopAccess.Run(_fx.Server, () =>
            {
                foreach (var db in _fx.Server.Databases) db.PreWriteHook = null;
                return 0;
            });
        }
        Assert.False(reply.IsError, $"{string.Join(' ', command)} failed: {reply}");
        var captures = LoopAccess.Run(_fx.Server, () => hook.Captures.ToList());

        foreach (var (key, old) in before)
        {
            Assert.NotEqual(old, State(c, key)); // the command changed this key, so the capture is not vacuous
            var first = captures.FirstOrDefault(x => x.Key == key);
            Assert.True(first.Key != null, $"{name}: the pre-write hook never saw {key} (saw: {string.Join(", ", captures.Select(x => x.Key))})");
            Assert.True(old.Dump == first.Dump, $"{name}: the hook serialized {key} after it changed");
            Assert.Equal(old.ExpireMs, first.ExpireMs);
        }
    }

    [Fact]
    public void EveryWriteCaseKeepsTheRunningUsedMemoryExact()
    {
        using var c = _fx.Connect();
        foreach (var wc in WriteCommandCases.All)
        {
            c.Call(Prepare(c, wc));
            var (running, recomputed) = LoopAccess.Run(_fx.Server, () =>
                (_fx.Server.Databases.Sum(db => db.UsedMemory), _fx.Server.Databases.Sum(db => db.ComputeUsedMemory())));
            Assert.True(running == recomputed, $"after {wc.Name}: running {running} != recomputed {recomputed}");
        }
    }

    [Fact]
    public void PreWriteHookSeesAnExpiredKeyBeforeLookupReclaimsIt()
    {
        using var c = _fx.Connect();
        c.Call("FLUSHALL");
        c.Call("DEBUG", "SET-ACTIVE-EXPIRE", "0");
        try
        {
            c.Call("SET", "k", "v", "PX", "1");
            var hook = new RecordingHook(_fx.Server.Config.GetBool("rdbcompression"));
            var expected = LoopAccess.Run(_fx.Server, () =>
            {
                var db = _fx.Server.Databases[0];
                db.PreWriteHook = hook;
                return Encoding.Latin1.GetString(RdbWriter.CreateDumpPayload(db.Main.Find("k"u8)!, _fx.Server.Config.GetBool("rdbcompression")));
            });
            Thread.Sleep(5);
            Assert.True(c.Call("GET", "k").IsNull);
            var captures = LoopAccess.Run(_fx.Server, () =>
            {
                _fx.Server.Databases[0].PreWriteHook = null;
                return hook.Captures.ToList();
            });
            Assert.Equal(expected, Assert.Single(captures).Dump);
        }
        finally
        {
            c.Call("DEBUG", "SET-ACTIVE-EXPIRE", "1");
        }
    }
}
