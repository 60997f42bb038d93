// MIGRATE between two in-process Cinnabar servers (cluster.c's migrateCommand): one key and the
// KEYS form, COPY, REPLACE, NOKEY, the target's errors passed on, AUTH/AUTH2, IOERR on a refused
// port, a silent target and a target that hangs up (with the one retry), TTLs, the connection
// cache, propagation as DEL of the acknowledged keys, ACL key checks, the redaction of
// credentials in SLOWLOG and MONITOR, and RESTORE-ASKING.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Commands;

public sealed class MigrateServers : IDisposable
{
    public ServerFixture Source { get; } = new();
    public ServerFixture Target { get; } = new();

    public void Dispose()
    {
        Source.Dispose();
        Target.Dispose();
    }
}

public class MigrateTests(MigrateServers servers) : IClassFixture<MigrateServers>
{
    readonly ServerFixture _source = servers.Source, _target = servers.Target;

    string TargetPort => _target.Port.ToString();

    (RespClient Source, RespClient Target) Connect()
    {
        var s = _source.Connect();
        var t = _target.Connect();
        s.Call("FLUSHALL");
        t.Call("FLUSHALL");
        return (s, t);
    }

    /// <summary>Drops the connections other tests of the class left in the source's cache.</summary>
    void CloseCachedConnections()
    {
        var cache = _source.Server.MigrateSockets;
        LoopAccess.Run(_source.Server, () =>
        {
            cache.CloseAll();
            return 0;
        });
    }

    static long InfoField(RespClient c, string field)
    {
        var line = c.Call("INFO", "everything").Text!.Split("\r\n").Single(l => l.StartsWith(field + ":"));
        return long.Parse(line[(field.Length + 1)..]);
    }

    [Fact]
    public void MovesOneKeyToTheTargetDbAndDeletesIt()
    {
        var (s, t) = Connect();
        using var _ = s;
        using var __ = t;
        s.Call("RPUSH", "list", "a", "b", "c");
        Assert.Equal("+OK", s.CallS("MIGRATE", "127.0.0.1", TargetPort, "list", "3", "5000"));
        Assert.Equal(0, s.Call("EXISTS", "list").Integer);
        Assert.Equal(0, t.Call("EXISTS", "list").Integer);
        t.Call("SELECT", "3");
        Assert.Equal("*[\"a\", \"b\", \"c\"]", t.CallS("LRANGE", "list", "0", "-1"));
        Assert.Equal(-1, t.Call("TTL", "list").Integer);
    }

    [Fact]
    public void KeysFormMovesTheKeysThatExist()
    {
        var (s, t) = Connect();
        using var _ = s;
        using var __ = t;
        s.Call("MSET", "k1", "v1", "k2", "v2", "k3", "v3");
        Assert.Equal("+OK", s.CallS("MIGRATE", "127.0.0.1", TargetPort, "", "0", "5000", "KEYS", "nokey-1", "k1", "nokey-2", "k2", "k3"));
        Assert.Equal(0, s.Call("DBSIZE").Integer);
        Assert.Equal("*[\"v1\", \"v2\", \"v3\"]", t.CallS("MGET", "k1", "k2", "k3"));
    }

    [Fact]
    public void NoExistingKeyRepliesNokey()
    {
        var (s, t) = Connect();
        using var _ = s;
        using var __ = t;
        Assert.Equal("+NOKEY", s.CallS("MIGRATE", "127.0.0.1", TargetPort, "missing", "0", "5000"));
        Assert.Equal("+NOKEY", s.CallS("MIGRATE", "127.0.0.1", TargetPort, "", "0", "5000", "KEYS", "a", "b", "b"));
        // Nothing is sent when there is nothing to move: not even a connection.
        Assert.Equal("+NOKEY", s.CallS("MIGRATE", "127.0.0.1", "1", "missing", "0", "5000"));
    }

    [Fact]
    public void ArgumentErrorsAreRedisTexts()
    {
        using var s = _source.Connect();
        Assert.Equal("-ERR When using MIGRATE KEYS option, the key argument must be set to the empty string",
            s.CallS("MIGRATE", "127.0.0.1", TargetPort, "NotEmpty", "9", "5000", "KEYS", "a", "b"));
        Assert.Equal("-ERR syntax error", s.CallS("MIGRATE", "127.0.0.1", TargetPort, "k", "0", "5000", "FOO"));
        Assert.Equal("-ERR syntax error", s.CallS("MIGRATE", "127.0.0.1", TargetPort, "k", "0", "5000", "AUTH"));
        Assert.Equal("-ERR syntax error", s.CallS("MIGRATE", "127.0.0.1", TargetPort, "k", "0", "5000", "AUTH2", "user"));
        Assert.Equal("-ERR value is not an integer or out of range", s.CallS("MIGRATE", "127.0.0.1", TargetPort, "k", "0", "soon"));
        Assert.Equal("-ERR value is not an integer or out of range", s.CallS("MIGRATE", "127.0.0.1", TargetPort, "k", "db", "5000"));
        Assert.Equal("-ERR wrong number of arguments for 'migrate' command", s.CallS("MIGRATE", "127.0.0.1", TargetPort, "k", "0"));
    }

    [Fact]
    public void CopyKeepsTheSourceKey()
    {
        var (s, t) = Connect();
        using var _ = s;
        using var __ = t;
        s.Call("HSET", "h", "f1", "v1", "f2", "v2");
        Assert.Equal("+OK", s.CallS("MIGRATE", "127.0.0.1", TargetPort, "h", "0", "5000", "COPY"));
        Assert.Equal(1, s.Call("EXISTS", "h").Integer);
        Assert.Equal("v2", t.Call("HGET", "h", "f2").Text);
    }

    [Fact]
    public void ExistingTargetKeyIsTheTargetsErrorUnlessReplace()
    {
        var (s, t) = Connect();
        using var _ = s;
        using var __ = t;
        s.Call("SET", "k", "new");
        t.Call("SET", "k", "old");
        Assert.Equal("-ERR Target instance replied with error: BUSYKEY Target key name already exists.",
            s.CallS("MIGRATE", "127.0.0.1", TargetPort, "k", "0", "5000"));
        Assert.Equal("new", s.Call("GET", "k").Text);
        Assert.Equal("old", t.Call("GET", "k").Text);
        Assert.Equal("+OK", s.CallS("MIGRATE", "127.0.0.1", TargetPort, "k", "0", "5000", "REPLACE"));
        Assert.Equal(0, s.Call("EXISTS", "k").Integer);
        Assert.Equal("new", t.Call("GET", "k").Text);
    }

    [Fact]
    public void OnlyAcknowledgedKeysAreDeleted()
    {
        var (s, t) = Connect();
        using var _ = s;
        using var __ = t;
        s.Call("MSET", "a", "1", "b", "2", "c", "3", "d", "4");
        t.Call("MSET", "b", "_", "c", "_");
        Assert.Equal("-ERR Target instance replied with error: BUSYKEY Target key name already exists.",
            s.CallS("MIGRATE", "127.0.0.1", TargetPort, "", "0", "5000", "KEYS", "a", "b", "c", "d"));
        Assert.Equal("*[$nil, \"2\", \"3\", $nil]", s.CallS("MGET", "a", "b", "c", "d"));
        Assert.Equal("*[\"1\", \"_\", \"_\", \"4\"]", t.CallS("MGET", "a", "b", "c", "d"));
    }

    [Fact]
    public void FailedSelectFailsEveryKey()
    {
        var (s, t) = Connect();
        using var _ = s;
        using var __ = t;
        CloseCachedConnections(); // a fresh connection: db 0 selected
        s.Call("SET", "k", "v");
        Assert.Equal("-ERR Target instance replied with error: ERR DB index is out of range",
            s.CallS("MIGRATE", "127.0.0.1", TargetPort, "k", "99", "5000"));
        Assert.Equal("v", s.Call("GET", "k").Text);
        // As with Redis, the RESTORE itself ran in the db the connection had selected.
        Assert.Equal("v", t.Call("GET", "k").Text);
    }

    [Fact]
    public void RemainingTtlTravelsWithTheKey()
    {
        var (s, t) = Connect();
        using var _ = s;
        using var __ = t;
        s.Call("SET", "k", "v", "PX", "10000");
        s.Call("SET", "persistent", "v");
        Assert.Equal("+OK", s.CallS("MIGRATE", "127.0.0.1", TargetPort, "", "0", "5000", "KEYS", "k", "persistent"));
        long pttl = t.Call("PTTL", "k").Integer;
        Assert.InRange(pttl, 8000, 10000);
        Assert.Equal(-1, t.Call("PTTL", "persistent").Integer);
    }

    [Fact]
    public void LargeValuesTravelInChunks()
    {
        var (s, t) = Connect();
        using var _ = s;
        using var __ = t;
        var rng = new Random(7);
        var big = new byte[3 * 1024 * 1024 + 17];
        rng.NextBytes(big);
        s.Call("SET"u8.ToArray(), "big"u8.ToArray(), big);
        s.Call(new[] { "RPUSH", "list" }.Concat(Enumerable.Range(0, 20000).Select(i => "item " + i)).ToArray());
        Assert.Equal("+OK", s.CallS("MIGRATE", "127.0.0.1", TargetPort, "", "0", "10000", "KEYS", "big", "list"));
        Assert.Equal(System.Text.Encoding.Latin1.GetString(big), t.Call("GET", "big").Text);
        Assert.Equal(20000, t.Call("LLEN", "list").Integer);
        Assert.Equal("item 19999", t.Call("LINDEX", "list", "-1").Text);
    }

    [Fact]
    public void ConnectionIsCachedAndReusedAndClosedWhenIdle()
    {
        var (s, t) = Connect();
        using var _ = s;
        using var __ = t;
        CloseCachedConnections();
        var cache = _source.Server.MigrateSockets;
        s.Call("MSET", "a", "1", "b", "2", "c", "3");
        Assert.Equal(0, InfoField(s, "migrate_cached_sockets"));
        Assert.Equal("+OK", s.CallS("MIGRATE", "127.0.0.1", TargetPort, "a", "0", "5000"));
        long connections = InfoField(t, "total_connections_received");
        Assert.Equal("+OK", s.CallS("MIGRATE", "127.0.0.1", TargetPort, "b", "0", "5000"));
        Assert.Equal("+OK", s.CallS("MIGRATE", "127.0.0.1", TargetPort, "c", "5", "5000"));
        Assert.Equal(connections, InfoField(t, "total_connections_received"));
        Assert.Equal(1, InfoField(s, "migrate_cached_sockets"));
        Assert.Equal(2, t.Call("DBSIZE").Integer);
        t.Call("SELECT", "5");
        Assert.Equal("3", t.Call("GET", "c").Text);

        // serverCron's check closes it once unused for more than 10 s.
        Assert.Equal(1, LoopAccess.Run(_source.Server, () =>
        {
            cache.CloseTimedOut(_source.Server.NowMs / 1000 + 5);
            return cache.Count;
        }));
        Assert.Equal(0, LoopAccess.Run(_source.Server, () =>
        {
            cache.CloseTimedOut(_source.Server.NowMs / 1000 + 11);
            return cache.Count;
        }));
        Assert.Equal(0, InfoField(s, "migrate_cached_sockets"));
    }

    [Fact]
    public void ClosedCachedConnectionIsRetriedOnAFreshOne()
    {
        var (s, t) = Connect();
        using var _ = s;
        using var __ = t;
        s.Call("MSET", "a", "1", "b", "2");
        Assert.Equal("+OK", s.CallS("MIGRATE", "127.0.0.1", TargetPort, "a", "0", "5000"));
        Assert.True(t.Call("CLIENT", "KILL", "TYPE", "normal").Integer >= 1); // the cached connection, not this one
        long connections = InfoField(t, "total_connections_received");
        Assert.Equal("+OK", s.CallS("MIGRATE", "127.0.0.1", TargetPort, "b", "0", "5000"));
        Assert.Equal("2", t.Call("GET", "b").Text);
        Assert.Equal(connections + 1, InfoField(t, "total_connections_received"));
    }

    [Fact]
    public void RefusedPortOrBadAddressIsIoError()
    {
        using var s = _source.Connect();
        s.Call("CONFIG", "RESETSTAT");
        s.Call("SET", "io:k", "v");
        int closedPort = RedisServerFixture.FreePort();
        // As in 7.0 the refused connect shows at the first write (and the one retry fails the same way).
        Assert.Equal("-IOERR error or timeout writing to target instance", s.CallS("MIGRATE", "127.0.0.1", closedPort.ToString(), "io:k", "0", "1000"));
        Assert.Equal("-IOERR error or timeout connecting to the client", s.CallS("MIGRATE", "127.0.0.1", "-1", "io:k", "0", "1000"));
        Assert.Equal(1, s.Call("EXISTS", "io:k").Integer);
        Assert.Contains("errorstat_IOERR:count=2", s.Call("INFO", "errorstats").Text);
        s.Call("DEL", "io:k");
    }

    [Fact]
    public void SilentTargetTimesOutWithoutRetry()
    {
        using var s = _source.Connect();
        s.Call("SET", "silent:k", "v");
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start(); // never accepts: the connect completes in the backlog, no reply ever comes
        try
        {
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var sw = Stopwatch.StartNew();
            Assert.Equal("-IOERR error or timeout reading to target instance", s.CallS("MIGRATE", "127.0.0.1", port.ToString(), "silent:k", "0", "300"));
            Assert.InRange(sw.ElapsedMilliseconds, 250, 3000);
            Assert.Equal(1, s.Call("EXISTS", "silent:k").Integer);
            Assert.Equal(1, AcceptAll(listener)); // a timeout is not retried
        }
        finally
        {
            listener.Stop();
            s.Call("DEL", "silent:k");
        }
    }

    [Fact]
    public void TargetThatHangsUpIsRetriedOnceThenIoError()
    {
        using var s = _source.Connect();
        s.Call("SET", "hangup:k", "v");
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int accepted = 0;
        // Every connection is closed as soon as it is accepted; Stop ends the thread's Accept.
        var acceptor = new Thread(() =>
        {
            try
            {
                while (true)
                {
                    var conn = listener.AcceptSocket();
                    Interlocked.Increment(ref accepted);
                    conn.Dispose();
                }
            }
            catch (SocketException) { }
            catch (InvalidOperationException) { }
        });
        acceptor.Start();
        try
        {
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            long cachedBefore = InfoField(s, "migrate_cached_sockets");
            var reply = s.CallS("MIGRATE", "127.0.0.1", port.ToString(), "hangup:k", "0", "2000");
            Assert.Matches("^-IOERR error or timeout (reading|writing) to target instance$", reply);
            Assert.Equal(2, Volatile.Read(ref accepted));
            Assert.Equal(1, s.Call("EXISTS", "hangup:k").Integer);
            Assert.Equal(cachedBefore, InfoField(s, "migrate_cached_sockets")); // the failed connection is not kept
        }
        finally
        {
            listener.Stop();
            acceptor.Join(5000);
            s.Call("DEL", "hangup:k");
        }
    }

    static int AcceptAll(TcpListener listener)
    {
        int n = 0;
        while (listener.Pending())
        {
            listener.AcceptSocket().Dispose();
            n++;
        }
        return n;
    }

    [Fact]
    public void AuthAndAuth2ReachAProtectedTarget()
    {
        using var target = new ServerFixture(cfg => cfg.Set("requirepass", "foobar", startup: true));
        using var s = _source.Connect();
        using var t = target.Connect();
        t.Call("AUTH", "foobar");
        string port = target.Port.ToString();
        s.Call("RPUSH", "auth:list", "a", "b");
        Assert.Equal("-ERR Target instance replied with error: NOAUTH Authentication required.", s.CallS("MIGRATE", "127.0.0.1", port, "auth:list", "0", "5000"));
        Assert.Equal("+OK", s.CallS("MIGRATE", "127.0.0.1", port, "auth:list", "0", "5000", "AUTH", "foobar"));
        Assert.Equal("*[\"a\", \"b\"]", t.CallS("LRANGE", "auth:list", "0", "-1"));

        t.Call("ACL", "SETUSER", "mover", "on", ">moverpass", "~*", "+@all");
        s.Call("SET", "auth:k", "v");
        Assert.Equal("+OK", s.CallS("MIGRATE", "127.0.0.1", port, "auth:k", "0", "5000", "AUTH2", "mover", "moverpass"));
        Assert.Equal("v", t.Call("GET", "auth:k").Text);

        s.Call("SET", "auth:k2", "v");
        Assert.Equal("-ERR Target instance replied with error: WRONGPASS invalid username-password pair or user is disabled.",
            s.CallS("MIGRATE", "127.0.0.1", port, "auth:k2", "0", "5000", "AUTH", "wrong"));
        Assert.Equal(1, s.Call("EXISTS", "auth:k2").Integer);
        s.Call("DEL", "auth:k2");
    }

    [Fact]
    public void PropagatesAsDelOfTheAcknowledgedKeys()
    {
        using var tap = new ReplicaStreamTap();
        using var t = _target.Connect();
        t.Call("FLUSHALL");
        var s = tap.Client;
        s.Call("MSET", "a", "1", "b", "2", "c", "3");
        Assert.Equal("MSET a 1 b 2 c 3", tap.Next());
        Assert.Equal("+OK", s.CallS("MIGRATE", "127.0.0.1", TargetPort, "a", "0", "5000"));
        Assert.Equal("DEL a", tap.Next());

        t.Call("SET", "b", "_");
        Assert.StartsWith("-ERR Target instance replied with error: BUSYKEY", s.CallS("MIGRATE", "127.0.0.1", TargetPort, "", "0", "5000", "KEYS", "b", "c"));
        Assert.Equal("DEL c", tap.Next());

        s.Call("SET", "d", "4");
        Assert.Equal("SET d 4", tap.Next());
        Assert.Equal("+OK", s.CallS("MIGRATE", "127.0.0.1", TargetPort, "d", "0", "5000", "COPY"));
        Assert.Equal("+OK", s.CallS("MIGRATE", "127.0.0.1", TargetPort, "b", "0", "5000", "COPY", "REPLACE"));
        s.Call("SET", "marker", "1");
        Assert.Equal("SET marker 1", tap.Next()); // COPY changes nothing here: nothing propagated
    }

    [Fact]
    public void AclKeyPermissionsCoverTheKeysArguments()
    {
        var (s, t) = Connect();
        using var _ = s;
        using var __ = t;
        s.Call("ACL", "SETUSER", "migrator", "on", ">pw", "~allowed*", "+@all");
        s.Call("MSET", "allowed1", "1", "other", "2");
        using var u = _source.Connect();
        u.Call("AUTH", "migrator", "pw");
        Assert.StartsWith("-NOPERM", u.CallS("MIGRATE", "127.0.0.1", TargetPort, "", "0", "5000", "KEYS", "allowed1", "other"));
        Assert.StartsWith("-NOPERM", u.CallS("MIGRATE", "127.0.0.1", TargetPort, "other", "0", "5000"));
        // An AUTH password that reads "KEYS" is skipped: the keys are those after the real KEYS.
        Assert.Equal("This user has no permissions to access the 'other' key",
            s.Call("ACL", "DRYRUN", "migrator", "MIGRATE", "h", "1", "", "0", "5000", "AUTH", "KEYS", "KEYS", "other").Text);
        Assert.Equal("OK", s.Call("ACL", "DRYRUN", "migrator", "MIGRATE", "h", "1", "", "0", "5000", "AUTH2", "KEYS", "123", "KEYS", "allowed2").Text);
        Assert.Equal("+OK", u.CallS("MIGRATE", "127.0.0.1", TargetPort, "", "0", "5000", "KEYS", "allowed1"));
        Assert.Equal("1", t.Call("GET", "allowed1").Text);
        s.Call("ACL", "DELUSER", "migrator");
    }

    [Fact]
    public void CredentialsAreRedactedInSlowlogAndMonitor()
    {
        using var s = _source.Connect();
        using var monitor = _source.Connect();
        monitor.Call("MONITOR");
        string port = _source.Port.ToString();
        s.Call("CONFIG", "SET", "slowlog-log-slower-than", "0");
        s.Call("SLOWLOG", "RESET");
        s.Call("MIGRATE", "127.0.0.1", port, "redact:k", "9", "5000");
        s.Call("MIGRATE", "127.0.0.1", port, "redact:k", "9", "5000", "AUTH", "user");
        s.Call("MIGRATE", "127.0.0.1", port, "redact:k", "9", "5000", "COPY", "AUTH2", "user", "password", "KEYS");
        s.Call("CONFIG", "SET", "slowlog-log-slower-than", "10000"); // itself too fast for the new threshold
        var entries = s.Call("SLOWLOG", "GET").Items!;
        string Args(int i) => string.Join(" ", entries[i].Items![3].Items!.Select(a => a.Text));
        Assert.Equal("MIGRATE 127.0.0.1 " + port + " redact:k 9 5000 COPY AUTH2 (redacted) (redacted) KEYS", Args(0));
        Assert.Equal("MIGRATE 127.0.0.1 " + port + " redact:k 9 5000 AUTH (redacted)", Args(1));
        Assert.Equal("MIGRATE 127.0.0.1 " + port + " redact:k 9 5000", Args(2));

        // CONFIG and SLOWLOG are admin commands, which MONITOR does not show.
        Assert.EndsWith("\"redact:k\" \"9\" \"5000\"", monitor.Read().Text);
        Assert.EndsWith("\"redact:k\" \"9\" \"5000\" \"AUTH\" \"(redacted)\"", monitor.Read().Text);
        Assert.EndsWith("\"COPY\" \"AUTH2\" \"(redacted)\" \"(redacted)\" \"KEYS\"", monitor.Read().Text);
    }

    [Fact]
    public void RestoreAskingIsRestore()
    {
        using var s = _source.Connect();
        s.Call("SET", "ra:src", "value");
        var payload = s.Call("DUMP", "ra:src").Text!;
        Assert.Equal("+OK", s.CallS("RESTORE-ASKING", "ra:dst", "5000", payload));
        Assert.Equal("value", s.Call("GET", "ra:dst").Text);
        Assert.InRange(s.Call("PTTL", "ra:dst").Integer, 1, 5000);
        Assert.Equal("-BUSYKEY Target key name already exists.", s.CallS("RESTORE-ASKING", "ra:dst", "0", payload));
        Assert.Contains("asking", s.CallS("COMMAND", "INFO", "restore-asking"));
        s.Call("DEL", "ra:src", "ra:dst");
    }
}
