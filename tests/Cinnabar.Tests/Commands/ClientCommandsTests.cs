// CLIENT subcommands, MONITOR, RESET, HELLO and AUTH over real sockets: the replies and
// errors Redis 7.0.15 gives, and the connection-level effects (kills, pauses, reply modes).
using System.Diagnostics;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Commands;

public class ClientCommandsTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    static Dictionary<string, string> ParseInfo(string line) =>
        line.TrimEnd('\n').Split(' ').Select(f => f.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);

    [Fact]
    public void ClientInfoHasRedis70FieldsInOrder()
    {
        using var c = fx.Connect();
        var info = c.Call("CLIENT", "INFO").Text!;
        Assert.EndsWith("\n", info);
        var keys = info.TrimEnd('\n').Split(' ').Select(f => f.Split('=')[0]);
        Assert.Equal("id addr laddr fd name age idle flags db sub psub ssub multi qbuf qbuf-free argv-mem multi-mem rbs rbp obl oll omem tot-mem events cmd user redir resp",
            string.Join(' ', keys));
        var f = ParseInfo(info);
        Assert.Equal(c.Call("CLIENT", "ID").Text, f["id"]);
        Assert.Equal("N", f["flags"]);
        Assert.Equal("client|info", f["cmd"]);
        Assert.Equal("-1", f["multi"]);
        Assert.Equal("default", f["user"]);
        Assert.Equal("2", f["resp"]);
        Assert.Equal($"127.0.0.1:{((System.Net.IPEndPoint)c.Socket.LocalEndPoint!).Port}", f["addr"]);
    }

    [Fact]
    public void SetNameValidatesAndGetNameReturnsIt()
    {
        using var c = fx.Connect();
        Assert.Equal("$nil", c.CallS("CLIENT", "GETNAME"));
        Assert.Equal("-ERR Client names cannot contain spaces, newlines or special characters.", c.CallS("CLIENT", "SETNAME", "a b"));
        Assert.Equal("-ERR Client names cannot contain spaces, newlines or special characters.", c.CallS("CLIENT", "SETNAME", "caf\u00e9"));
        Assert.Equal("+OK", c.CallS("CLIENT", "SETNAME", "worker-1"));
        Assert.Equal("\"worker-1\"", c.CallS("CLIENT", "GETNAME"));
        Assert.Contains("name=worker-1 ", c.Call("CLIENT", "INFO").Text);
        Assert.Equal("+OK", c.CallS("CLIENT", "SETNAME", ""));
        Assert.Equal("$nil", c.CallS("CLIENT", "GETNAME"));
    }

    [Fact]
    public void ListFiltersByTypeAndId()
    {
        using var a = fx.Connect();
        using var b = fx.Connect();
        long ida = a.Call("CLIENT", "ID").Integer, idb = b.Call("CLIENT", "ID").Integer;
        var lines = a.Call("CLIENT", "LIST", "ID", idb.ToString(), ida.ToString(), "999999").Text!.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal([idb.ToString(), ida.ToString()], lines.Select(l => ParseInfo(l)["id"]));
        Assert.Contains($"id={ida} ", a.Call("CLIENT", "LIST", "TYPE", "normal").Text);
        Assert.Equal("\"\"", a.CallS("CLIENT", "LIST", "TYPE", "master"));
        Assert.Equal("-ERR Unknown client type 'foo'", a.CallS("CLIENT", "LIST", "TYPE", "foo"));
        Assert.Equal("-ERR Invalid client ID", a.CallS("CLIENT", "LIST", "ID", "abc"));
        Assert.Equal("-ERR syntax error", a.CallS("CLIENT", "LIST", "foo"));
    }

    [Fact]
    public void KillByAddrIdAndSkipme()
    {
        using var a = fx.Connect();
        using var b = fx.Connect();
        using var d = fx.Connect();
        long idb = b.Call("CLIENT", "ID").Integer;
        string addrD = ParseInfo(d.Call("CLIENT", "INFO").Text!)["addr"];
        Assert.Equal("-ERR No such client", a.CallS("CLIENT", "KILL", "1.2.3.4:5"));
        Assert.Equal("+OK", a.CallS("CLIENT", "KILL", addrD));
        Assert.True(d.IsClosedByServer());
        Assert.Equal(":1", a.CallS("CLIENT", "KILL", "ID", idb.ToString(), "TYPE", "normal"));
        Assert.True(b.IsClosedByServer());
        Assert.Equal(":0", a.CallS("CLIENT", "KILL", "ID", idb.ToString()));
        long ida = a.Call("CLIENT", "ID").Integer;
        Assert.Equal(":0", a.CallS("CLIENT", "KILL", "ID", ida.ToString()));
        Assert.Equal(":1", a.CallS("CLIENT", "KILL", "ID", ida.ToString(), "SKIPME", "no"));
        Assert.True(a.IsClosedByServer());
    }

    [Fact]
    public void KillErrors()
    {
        using var a = fx.Connect();
        Assert.Equal("-ERR client-id should be greater than 0", a.CallS("CLIENT", "KILL", "ID", "abc"));
        Assert.Equal("-ERR Unknown client type 'foo'", a.CallS("CLIENT", "KILL", "TYPE", "foo"));
        Assert.Equal("-ERR No such user 'foo'", a.CallS("CLIENT", "KILL", "USER", "foo"));
        Assert.Equal("-ERR syntax error", a.CallS("CLIENT", "KILL", "SKIPME", "maybe"));
        Assert.Equal("-ERR syntax error", a.CallS("CLIENT", "KILL", "foo", "bar"));
        Assert.Equal("-ERR syntax error", a.CallS("CLIENT", "KILL", "ID", "1", "2"));
    }

    [Fact]
    public void ReplyOffSkipAndOn()
    {
        using var c = fx.Connect();
        c.Send("CLIENT", "REPLY", "OFF");
        c.Send("SET", "reply:k", "1");
        c.Send("CLIENT", "REPLY", "ON");
        Assert.Equal("+OK", c.Read().ToString());
        c.Send("CLIENT", "REPLY", "SKIP");
        c.Send("GET", "reply:k");
        Assert.Equal("\"1\"", c.CallS("GET", "reply:k"));
        Assert.Equal("-ERR syntax error", c.CallS("CLIENT", "REPLY", "foo"));
    }

    [Fact]
    public void PauseWriteDelaysWritesButNotReads()
    {
        using var admin = fx.Connect();
        using var c = fx.Connect();
        Assert.Equal("+OK", c.CallS("SET", "pause:k", "v"));
        Assert.Equal("+OK", admin.CallS("CLIENT", "PAUSE", "400", "WRITE"));
        var sw = Stopwatch.StartNew();
        Assert.Equal("\"v\"", c.CallS("GET", "pause:k"));
        Assert.True(sw.ElapsedMilliseconds < 300, $"read took {sw.ElapsedMilliseconds} ms");
        Assert.Equal("+OK", c.CallS("SET", "pause:k", "w"));
        Assert.True(sw.ElapsedMilliseconds >= 300, $"write was not paused ({sw.ElapsedMilliseconds} ms)");
        Assert.Equal("\"w\"", c.CallS("GET", "pause:k"));
    }

    [Fact]
    public void PauseWriteHoldsMayReplicateCommandsAndCountsThemAsBlocked()
    {
        using var admin = fx.Connect();
        using var hll = fx.Connect();
        using var pub = fx.Connect();
        admin.Call("PFADD", "pause:hll", "a");
        Assert.Equal("+OK", admin.CallS("CLIENT", "PAUSE", "100000", "WRITE"));
        hll.Send("PFCOUNT", "pause:hll"); // may update the cached cardinality and replicate it
        pub.Send("PUBLISH", "pause:ch", "m"); // feeds the replication stream
        // Postponed clients count as blocked, as in Redis.
        ReplicationWait.WaitFor(() => ReplicationWait.Info(admin, "blocked_clients", "clients") == "2", "both clients to be postponed");
        Assert.Equal("+OK", admin.CallS("CLIENT", "UNPAUSE"));
        Assert.Equal(":1", hll.Read().ToString());
        Assert.Equal(":0", pub.Read().ToString());
    }

    [Fact]
    public void PauseAllDelaysEverythingUntilUnpause()
    {
        using var admin = fx.Connect();
        using var c = fx.Connect();
        Assert.Equal("+OK", admin.CallS("CLIENT", "PAUSE", "100000"));
        c.Send("PING");
        Thread.Sleep(200);
        Assert.False(c.Socket.Poll(0, System.Net.Sockets.SelectMode.SelectRead), "a paused client got a reply");
        // admin is paused too, but a second connection's UNPAUSE is a command as well: use the server API.
        fx.Server.Loop.Post(fx.Server.Pause.UnpauseClients);
        Assert.Equal("+PONG", c.Read().ToString());
        Assert.Equal("+PONG", admin.CallS("PING"));
    }

    [Fact]
    public void PauseErrors()
    {
        using var c = fx.Connect();
        Assert.Equal("-ERR timeout is not an integer or out of range", c.CallS("CLIENT", "PAUSE", "abc"));
        Assert.Equal("-ERR timeout is negative", c.CallS("CLIENT", "PAUSE", "-1"));
        Assert.Equal("-ERR CLIENT PAUSE mode must be WRITE or ALL", c.CallS("CLIENT", "PAUSE", "10", "foo"));
        Assert.Equal("-ERR unknown subcommand or wrong number of arguments for 'pause'. Try CLIENT HELP.", c.CallS("CLIENT", "pause", "10", "all", "x"));
        Assert.Equal("+OK", c.CallS("CLIENT", "UNPAUSE"));
    }

    [Fact]
    public void UnblockAndNoEvict()
    {
        using var c = fx.Connect();
        Assert.Equal(":0", c.CallS("CLIENT", "UNBLOCK", "1"));
        Assert.Equal("-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR", c.CallS("CLIENT", "UNBLOCK", "1", "foo"));
        Assert.Equal("-ERR value is not an integer or out of range", c.CallS("CLIENT", "UNBLOCK", "abc"));
        Assert.Equal("+OK", c.CallS("CLIENT", "NO-EVICT", "on"));
        Assert.Equal("e", ParseInfo(c.Call("CLIENT", "INFO").Text!)["flags"]);
        Assert.Equal("-ERR syntax error", c.CallS("CLIENT", "NO-EVICT", "maybe"));
    }

    [Fact]
    public void UnblockReleasesABlockedClientWithNullOrError()
    {
        using var blocked = fx.Connect();
        using var admin = fx.Connect();
        long id = blocked.Call("CLIENT", "ID").Integer;
        blocked.Send("BLPOP", "unblock:list", "0");
        Thread.Sleep(100);
        Assert.Equal(":1", admin.CallS("CLIENT", "UNBLOCK", id.ToString()));
        Assert.Equal("*nil", blocked.Read().ToString());
        blocked.Send("BLPOP", "unblock:list", "0");
        Thread.Sleep(100);
        Assert.Equal(":1", admin.CallS("CLIENT", "UNBLOCK", id.ToString(), "ERROR"));
        Assert.Equal("-UNBLOCKED client unblocked via CLIENT UNBLOCK", blocked.Read().ToString());
        Assert.Equal(":0", admin.CallS("CLIENT", "UNBLOCK", id.ToString()));
    }

    [Fact]
    public void HelpIsTheRedisText()
    {
        using var c = fx.Connect();
        var help = c.Call("CLIENT", "HELP");
        Assert.Equal(48, help.Items!.Count);
        Assert.Equal("+CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", help.Items[0].ToString());
        Assert.Equal("+    Prints this help.", help.Items[^1].ToString());
    }

    [Fact]
    public void MonitorSeesCommandsWithRedisEscaping()
    {
        using var m = fx.Connect();
        using var c = fx.Connect();
        Assert.Equal("+OK", m.CallS("MONITOR"));
        int port = ((System.Net.IPEndPoint)c.Socket.LocalEndPoint!).Port;
        c.Call("select", "2");
        c.Call("set", "mon\"k", "v\x01\n\\");
        c.Call("CLIENT", "LIST"); // admin: not shown
        c.Call("get", "12");
        var lines = new[] { m.Read().Text!, m.Read().Text!, m.Read().Text! };
        Assert.Matches(@"^\d+\.\d{6} \[2 127\.0\.0\.1:" + port + @"\] ""select"" ""2""$", lines[0]);
        Assert.EndsWith($"[2 127.0.0.1:{port}] \"set\" \"mon\\\"k\" \"v\\x01\\n\\\\\"", lines[1]);
        Assert.EndsWith($"[2 127.0.0.1:{port}] \"get\" \"12\"", lines[2]);
        Assert.Equal("+RESET", m.CallS("RESET"));
        c.Call("PING");
        Assert.Equal("+PONG", m.CallS("PING"));
    }

    [Fact]
    public void MonitorShowsPasswordsRedacted()
    {
        using var m = fx.Connect();
        using var c = fx.Connect();
        Assert.Equal("+OK", m.CallS("MONITOR"));
        c.Call("AUTH", "secret");
        c.Call("AUTH", "someone", "secret");
        c.Call("HELLO", "2", "AUTH", "someone", "pw", "SETNAME", "n");
        c.Call("ACL", "SETUSER", "mon-u", ">pw"); // admin: not shown at all
        c.Call("PING");
        Assert.EndsWith("\"AUTH\" \"(redacted)\"", m.Read().Text!);
        Assert.EndsWith("\"AUTH\" \"(redacted)\" \"(redacted)\"", m.Read().Text!);
        Assert.EndsWith("\"HELLO\" \"2\" \"AUTH\" \"(redacted)\" \"(redacted)\" \"SETNAME\" \"n\"", m.Read().Text!);
        Assert.EndsWith("\"PING\"", m.Read().Text!);
        c.Call("ACL", "DELUSER", "mon-u");
    }

    [Fact]
    public void ClientInfoInsideExecCountsTheQueuedCommands()
    {
        using var c = fx.Connect();
        c.Call("MULTI");
        c.Call("PING");
        c.Call("CLIENT", "INFO");
        var info = c.Call("EXEC").Items![1].Text!;
        Assert.Contains(" multi=2 ", info);
        Assert.Contains(" multi=-1 ", c.Call("CLIENT", "INFO").Text!);
    }

    [Fact]
    public void ResetRestoresAFreshConnection()
    {
        using var c = fx.Connect();
        c.Call("HELLO", "3");
        c.Call("SELECT", "4");
        c.Call("CLIENT", "SETNAME", "x");
        c.Call("CLIENT", "NO-EVICT", "on");
        Assert.Equal("+RESET", c.CallS("RESET"));
        var f = ParseInfo(c.Call("CLIENT", "INFO").Text!);
        Assert.Equal(("0", "", "2", "N"), (f["db"], f["name"], f["resp"], f["flags"]));
        c.Send("CLIENT", "REPLY", "OFF");
        Assert.Equal("+RESET", c.CallS("RESET"));
        Assert.Equal("+PONG", c.CallS("PING"));
    }

    [Fact]
    public void HelloRepliesAndErrors()
    {
        using var c = fx.Connect();
        long id = c.Call("CLIENT", "ID").Integer;
        Assert.Equal($"*[\"server\", \"redis\", \"version\", \"7.0.15\", \"proto\", :2, \"id\", :{id}, \"mode\", \"standalone\", \"role\", \"master\", \"modules\", *[]]", c.CallS("HELLO"));
        Assert.Equal("-NOPROTO unsupported protocol version", c.CallS("HELLO", "4"));
        Assert.Equal("-ERR Protocol version is not an integer or out of range", c.CallS("HELLO", "abc"));
        Assert.Equal("-ERR Syntax error in HELLO option 'auth'", c.CallS("HELLO", "3", "auth", "a"));
        // Redis 7.0 applies the options in order: the bad name is refused before AUTH is tried.
        Assert.Equal("-ERR Client names cannot contain spaces, newlines or special characters.", c.CallS("HELLO", "3", "SETNAME", "a b", "AUTH", "x", "y"));
        Assert.Equal("-WRONGPASS invalid username-password pair or user is disabled.", c.CallS("HELLO", "3", "AUTH", "x", "y", "SETNAME", "a b"));
        Assert.Equal("-ERR Client names cannot contain spaces, newlines or special characters.", c.CallS("HELLO", "3", "SETNAME", "a b"));
        Assert.Equal('%', c.Call("HELLO", "3", "AUTH", "default", "anything", "SETNAME", "n1").Type);
        Assert.Equal("\"n1\"", c.CallS("CLIENT", "GETNAME"));
    }

    [Fact]
    public void AuthErrorsWithoutPassword()
    {
        using var c = fx.Connect();
        Assert.Equal("-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?", c.CallS("AUTH", "a"));
        Assert.Equal("-WRONGPASS invalid username-password pair or user is disabled.", c.CallS("AUTH", "a", "b"));
        Assert.Equal("-ERR syntax error", c.CallS("AUTH", "a", "b", "c"));
        Assert.Equal("+OK", c.CallS("QUIT"));
        Assert.True(c.IsClosedByServer());
    }
}

public class RequirePassTests : IDisposable
{
    readonly ServerFixture _fx = new(c => c.Set("requirepass", "secret", startup: true));

    public void Dispose() => _fx.Dispose();

    [Fact]
    public void NoAuthUntilAuthenticated()
    {
        using var c = _fx.Connect();
        Assert.Equal("-NOAUTH Authentication required.", c.CallS("GET", "k"));
        Assert.Equal("-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time", c.CallS("HELLO", "3"));
        Assert.Equal("-WRONGPASS invalid username-password pair or user is disabled.", c.CallS("AUTH", "wrong"));
        Assert.Equal("-WRONGPASS invalid username-password pair or user is disabled.", c.CallS("HELLO", "2", "AUTH", "default", "wrong"));
        Assert.Equal('*', c.Call("HELLO", "2", "AUTH", "default", "secret").Type);
        Assert.Equal("$nil", c.CallS("GET", "k"));
        Assert.Equal("+RESET", c.CallS("RESET"));
        Assert.Equal("-NOAUTH Authentication required.", c.CallS("GET", "k"));
        Assert.Equal("+OK", c.CallS("AUTH", "secret"));
        Assert.Equal("+OK", c.CallS("AUTH", "default", "secret"));
    }

    [Fact]
    public void UnauthenticatedClientsCannotSendBigRequests()
    {
        using var c = _fx.Connect();
        c.SendRaw("*11\r\n");
        Assert.Equal("-ERR Protocol error: unauthenticated multibulk length", c.Read().ToString());
        Assert.True(c.IsClosedByServer());
        using var d = _fx.Connect();
        d.SendRaw("*1\r\n$16385\r\n");
        Assert.Equal("-ERR Protocol error: unauthenticated bulk length", d.Read().ToString());
        Assert.True(d.IsClosedByServer());
    }
}
