// ACL behaviour a single connection cannot show, so outside the differential corpus (acl.redis):
// ACL LOG entries (reasons, contexts, grouping, acllog-max-len, RESET), clients disconnected by
// ACL DELUSER, by revoked channels and by ACL LOAD, EXEC's re-check of rules changed since
// MULTI, scripts and SORT BY/GET under restricted users, CLIENT KILL USER, requirepass as the
// default user's password, the aclfile (ACL SAVE/LOAD, its errors), `user` lines in a config
// file (start-up, CONFIG REWRITE, the clash with aclfile) and the unauthenticated request limit.
// Most scenarios run on redis-server 7.0 as well, as one transcript per server, and the two
// transcripts must be equal; the tests assert the points that matter on Cinnabar's besides.
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Security;

public class AclTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    /// <summary>What one server answered in a scenario: a line per command ("command -> reply") or observation.</summary>
    sealed class Transcript
    {
        public readonly List<string> Lines = [];

        public string Call(RespClient c, params string[] args)
        {
            string reply = c.CallS(args);
            Lines.Add(string.Join(' ', args) + " -> " + reply);
            return reply;
        }

        public void Note(string line) => Lines.Add(line);

        public override string ToString() => string.Join("\n", Lines);
    }

    /// <summary>
    /// Runs the scenario on the class's redis-server, then on a fresh in-process Cinnabar, and
    /// asserts both transcripts are equal; returns Cinnabar's. The scenario gets a connect function
    /// and must leave redis-server as it found it (users deleted, settings restored).
    /// </summary>
    Transcript OnBoth(Action<Func<RespClient>, Transcript> scenario)
    {
        var theirs = new Transcript();
        using (var admin = redis.Connect()) admin.Call("ACL", "LOG", "RESET");
        scenario(redis.Connect, theirs);
        using var cinnabar = new ServerFixture();
        var ours = new Transcript();
        scenario(cinnabar.Connect, ours);
        Assert.Equal(theirs.ToString(), ours.ToString());
        return ours;
    }

    /// <summary>
    /// The server closed the connection: EOF or a reset within five seconds. Bytes arriving
    /// instead (a reply the server should not have sent) or a timeout mean it is still open.
    /// </summary>
    static bool ClosedByServer(RespClient c)
    {
        c.Socket.ReceiveTimeout = 5000;
        var buf = new byte[256];
        try
        {
            return c.Socket.Receive(buf) == 0;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    static Dictionary<string, RespReply> Fields(RespReply entry)
    {
        var d = new Dictionary<string, RespReply>();
        for (int i = 0; i + 1 < entry.Items!.Count; i += 2) d[entry.Items[i].Text!] = entry.Items[i + 1];
        return d;
    }

    /// <summary>
    /// ACL LOG's entries, newest first, as "count reason context object username cmd= user=":
    /// age-seconds and most of client-info differ between servers and runs; client-info's cmd
    /// and user fields (the command and user of the client at the time) are kept.
    /// </summary>
    static List<string> LogEntries(RespClient admin, params string[] count)
    {
        var r = admin.Call(["ACL", "LOG", .. count]);
        Assert.Equal('*', r.Type);
        return r.Items!.Select(e =>
        {
            var f = Fields(e);
            Assert.Equal(7, f.Count);
            Assert.True(double.Parse(f["age-seconds"].Text!, System.Globalization.CultureInfo.InvariantCulture) >= 0);
            var info = f["client-info"].Text!.Split(' ').Where(p => p.StartsWith("cmd=") || p.StartsWith("user="));
            return $"{f["count"].Text} {f["reason"].Text} {f["context"].Text} {f["object"].Text} {f["username"].Text} {string.Join(' ', info)}";
        }).ToList();
    }

    static string Sha256Hex(string s) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(s)));

    // --- ACL LOG -----------------------------------------------------------------------------

    [RequiresToolsFact("redis-server")]
    public void AclLogRecordsEachReasonAndContextAndGroupsRepeats()
    {
        var ours = OnBoth((connect, t) =>
        {
            using var admin = connect();
            using var u = connect();
            using var other = connect();
            t.Call(admin, "ACL", "SETUSER", "logger", "on", ">pw", "-@all", "+get", "+publish", "+@transaction", "+@scripting", "~k*", "resetchannels", "&ch*");
            t.Call(u, "AUTH", "logger", "pw");
            t.Call(u, "SET", "k1", "x");
            t.Call(u, "GET", "other");
            t.Call(u, "PUBLISH", "nochan", "x");
            t.Call(u, "MULTI");
            t.Call(u, "GET", "inmulti");
            t.Call(u, "DISCARD");
            t.Call(u, "EVAL", "local r = redis.call('set', 'k1', 'x') return r", "0");
            t.Call(u, "EVAL", "return redis.pcall('get', 'notk')", "0");
            // The same denial again: the first entry's count grows and it moves to the front.
            t.Call(u, "SET", "k1", "x");
            t.Call(u, "SET", "k1", "x");
            t.Call(u, "SET", "k1", "x");
            t.Call(other, "AUTH", "logger", "wrong");
            t.Call(other, "AUTH", "nosuchuser", "wrong");
            t.Call(other, "AUTH", "nosuchuser", "wrong");
            t.Call(other, "HELLO", "2", "AUTH", "logger", "wrong");
            foreach (var e in LogEntries(admin)) t.Note("log: " + e);
            foreach (var e in LogEntries(admin, "2")) t.Note("log 2: " + e);
            t.Call(admin, "ACL", "LOG", "RESET");
            t.Note("after reset: " + LogEntries(admin).Count);
            t.Call(admin, "ACL", "DELUSER", "logger");
        });
        Assert.Equal(
        [
            "log: 1 auth toplevel HELLO logger cmd=hello user=default",
            "log: 2 auth toplevel AUTH nosuchuser cmd=auth user=default",
            "log: 1 auth toplevel AUTH logger cmd=auth user=default",
            "log: 4 command toplevel set logger cmd=set user=logger",
            "log: 1 key lua notk logger cmd=eval user=logger",
            "log: 1 command lua set logger cmd=eval user=logger",
            "log: 1 key multi inmulti logger cmd=get user=logger",
            "log: 1 channel toplevel nochan logger cmd=publish user=logger",
            "log: 1 key toplevel other logger cmd=get user=logger",
            "log 2: 1 auth toplevel HELLO logger cmd=hello user=default",
            "log 2: 2 auth toplevel AUTH nosuchuser cmd=auth user=default",
            "after reset: 0",
        ], ours.Lines.Where(l => l.StartsWith("log") || l.StartsWith("after")));
    }

    [RequiresToolsFact("redis-server")]
    public void AclLogMaxLenTrimsTheOldestEntriesWhenOneIsAdded()
    {
        var ours = OnBoth((connect, t) =>
        {
            using var admin = connect();
            using var u = connect();
            try
            {
                t.Call(admin, "CONFIG", "SET", "acllog-max-len", "2");
                t.Call(admin, "ACL", "SETUSER", "trim", "on", "nopass", "-@all", "+get", "~k*");
                t.Call(u, "AUTH", "trim", "x");
                t.Call(u, "GET", "a");
                t.Call(u, "GET", "b");
                t.Call(u, "GET", "c");
                foreach (var e in LogEntries(admin)) t.Note("max 2: " + e);
                // Lowering the bound trims nothing by itself; the next entry does.
                t.Call(admin, "CONFIG", "SET", "acllog-max-len", "1");
                t.Note("lowered: " + LogEntries(admin).Count);
                t.Call(u, "GET", "d");
                foreach (var e in LogEntries(admin)) t.Note("max 1: " + e);
                t.Call(admin, "CONFIG", "SET", "acllog-max-len", "0");
                t.Call(u, "GET", "e");
                t.Note("max 0: " + LogEntries(admin).Count);
            }
            finally
            {
                admin.Call("CONFIG", "SET", "acllog-max-len", "128");
                admin.Call("ACL", "DELUSER", "trim");
                admin.Call("ACL", "LOG", "RESET");
            }
        });
        Assert.Contains("max 2: 1 key toplevel c trim cmd=get user=trim", ours.Lines);
        Assert.Contains("max 2: 1 key toplevel b trim cmd=get user=trim", ours.Lines);
        Assert.DoesNotContain("max 2: 1 key toplevel a trim cmd=get user=trim", ours.Lines);
        Assert.Contains("lowered: 2", ours.Lines);
        Assert.Equal(["max 1: 1 key toplevel d trim cmd=get user=trim"], ours.Lines.Where(l => l.StartsWith("max 1")));
        Assert.Contains("max 0: 0", ours.Lines);
    }

    // --- clients of removed users ------------------------------------------------------------

    [RequiresToolsFact("redis-server")]
    public void DelUserDisconnectsTheUsersClientsAndTheCallerAfterItsReply()
    {
        var ours = OnBoth((connect, t) =>
        {
            using var admin = connect();
            using var a = connect();
            using var b = connect();
            using var bystander = connect();
            t.Call(admin, "ACL", "SETUSER", "gone", "on", ">pw", "+@all", "~*", "&*");
            t.Call(a, "AUTH", "gone", "pw");
            t.Call(b, "AUTH", "gone", "pw");
            t.Call(admin, "ACL", "DELUSER", "gone", "nosuch");
            t.Note("a closed: " + ClosedByServer(a));
            t.Note("b closed: " + ClosedByServer(b));
            t.Call(bystander, "PING");
            t.Call(admin, "PING");

            // A client deleting its own user gets the reply, then the connection closes before the
            // next pipelined command runs.
            using var self = connect();
            t.Call(admin, "ACL", "SETUSER", "self", "on", ">pw", "+@all", "~*", "&*");
            t.Call(self, "AUTH", "self", "pw");
            self.SendRaw([.. RespClient.Encode("ACL", "DELUSER", "self"), .. RespClient.Encode("PING")]);
            t.Note("self: " + self.Read());
            t.Note("self closed: " + ClosedByServer(self));
            t.Call(admin, "ACL", "USERS");
        });
        Assert.Contains("a closed: True", ours.Lines);
        Assert.Contains("b closed: True", ours.Lines);
        Assert.Contains("PING -> +PONG", ours.Lines);
        Assert.Contains("self: :1", ours.Lines);
        Assert.Contains("self closed: True", ours.Lines);
    }

    [RequiresToolsFact("redis-server")]
    public void SubscribersWhoseChannelsAreRevokedAreDisconnected()
    {
        var ours = OnBoth((connect, t) =>
        {
            using var admin = connect();
            t.Call(admin, "ACL", "SETUSER", "psuser", "on", "nopass", "+@all", "~*", "resetchannels", "&foo:1", "&bar:*");
            RespClient Subscriber(params string[] subscribe)
            {
                var c = connect();
                t.Call(c, "AUTH", "psuser", "x");
                t.Call(c, subscribe);
                return c;
            }
            using var plain = Subscriber("SUBSCRIBE", "foo:1");
            using var pattern = Subscriber("PSUBSCRIBE", "bar:*");
            using var idle = connect();
            t.Call(idle, "AUTH", "psuser", "x");

            // Adding a channel keeps every old one: nobody is checked.
            t.Call(admin, "ACL", "SETUSER", "psuser", "&baz");
            t.Call(plain, "PING");
            t.Call(pattern, "PING");
            // bar:* goes: the pattern subscriber is disconnected; foo:1 is still allowed.
            t.Call(admin, "ACL", "SETUSER", "psuser", "resetchannels", "&foo:1", "&baz");
            t.Note("pattern closed: " + ClosedByServer(pattern));
            t.Call(plain, "PING");
            // A pattern that matches foo:1 still allows it; a pattern is only allowed by itself.
            using var pattern2 = Subscriber("PSUBSCRIBE", "baz");
            t.Call(admin, "ACL", "SETUSER", "psuser", "resetchannels", "&foo:*", "&baz");
            t.Call(plain, "PING");
            t.Call(pattern2, "PING");
            // Every channel: nobody is disconnected.
            t.Call(admin, "ACL", "SETUSER", "psuser", "allchannels");
            t.Call(plain, "PING");
            // From every channel to none: the subscribers go, the client that subscribed to nothing stays.
            t.Call(admin, "ACL", "SETUSER", "psuser", "resetchannels");
            t.Note("plain closed: " + ClosedByServer(plain));
            t.Note("pattern2 closed: " + ClosedByServer(pattern2));
            t.Call(idle, "PING");
            t.Call(admin, "ACL", "DELUSER", "psuser");
        });
        Assert.Contains("pattern closed: True", ours.Lines);
        Assert.Contains("plain closed: True", ours.Lines);
        Assert.Contains("pattern2 closed: True", ours.Lines);
        Assert.Equal(6, ours.Lines.Count(l => l == "PING -> *[\"pong\", \"\"]"));
        Assert.Contains("PING -> +PONG", ours.Lines);
    }

    // --- EXEC, scripts, SORT -----------------------------------------------------------------

    [RequiresToolsFact("redis-server")]
    public void ExecRechecksRulesChangedSinceTheCommandsWereQueued()
    {
        var ours = OnBoth((connect, t) =>
        {
            using var admin = connect();
            using var u = connect();
            t.Call(admin, "ACL", "SETUSER", "txuser", "on", "nopass", "+@all", "~*", "&*");
            t.Call(u, "AUTH", "txuser", "x");
            t.Call(u, "MULTI");
            t.Call(u, "SET", "k", "v");
            t.Call(u, "GET", "k");
            t.Call(u, "PUBLISH", "ch", "x");
            t.Call(u, "PING");
            t.Call(admin, "ACL", "SETUSER", "txuser", "-set", "resetkeys", "~other", "resetchannels");
            t.Call(u, "EXEC");
            t.Call(admin, "EXISTS", "k");
            foreach (var e in LogEntries(admin)) t.Note("log: " + e);
            t.Call(admin, "ACL", "DELUSER", "txuser");
            t.Call(admin, "ACL", "LOG", "RESET");
        });
        const string changed = "-NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: ";
        Assert.Contains($"EXEC -> *[{changed}no permission to execute the command or subcommand, {changed}no permission to touch the specified keys, "
            + $"{changed}no permission to access one of the channels used as arguments, +PONG]", ours.Lines);
        Assert.Contains("EXISTS k -> :0", ours.Lines);
        Assert.Contains("log: 1 command multi set txuser cmd=exec user=txuser", ours.Lines);
    }

    [RequiresToolsFact("redis-server")]
    public void ScriptsRunTheirCommandsAsTheCallingUser()
    {
        var ours = OnBoth((connect, t) =>
        {
            using var admin = connect();
            using var u = connect();
            t.Call(admin, "ACL", "SETUSER", "scripter", "on", "nopass", "-@all", "+@scripting", "+get", "+publish", "~k*", "resetchannels", "&allowed");
            t.Call(u, "AUTH", "scripter", "x");
            t.Call(u, "EVAL", "local r = redis.call('set', KEYS[1], 'v') return r", "1", "k1");
            t.Call(u, "EVAL", "local r = redis.call('get', 'other') return r", "0");
            t.Call(u, "EVAL", "local r = redis.call('publish', 'elsewhere', 'x') return r", "0");
            t.Call(u, "EVAL", "return redis.pcall('set', 'k1', 'v')", "0");
            t.Call(u, "EVAL", "local e = redis.pcall('get', 'other') return type(e) .. ' ' .. e.err", "0");
            t.Call(u, "EVAL", "local ok, e = pcall(redis.call, 'publish', 'elsewhere', 'x') return {tostring(ok), e}", "0");
            t.Call(u, "EVAL", "return {redis.acl_check_cmd('get', 'k1'), redis.acl_check_cmd('set', 'k1', 'v'), redis.acl_check_cmd('get', 'other'), redis.acl_check_cmd('publish', 'allowed', 'x')}", "0");
            t.Call(u, "EVAL", "local r = redis.acl_check_cmd('nosuchcommand') return r", "0");
            // The script's own keys are checked before it runs: EVAL needs read and write on them.
            t.Call(u, "EVAL", "return 1", "1", "other");
            foreach (var e in LogEntries(admin)) t.Note("log: " + e);
            t.Call(admin, "ACL", "DELUSER", "scripter");
            t.Call(admin, "ACL", "LOG", "RESET");
        });
        Assert.Contains(ours.Lines, l => l.StartsWith("EVAL local r = redis.call('set', KEYS[1], 'v') return r 1 k1 -> -ERR The user executing the script can't run this command or subcommand script: "));
        Assert.Contains("EVAL return redis.pcall('set', 'k1', 'v') 0 -> -ERR The user executing the script can't run this command or subcommand", ours.Lines);
        Assert.Contains(ours.Lines, l => l.EndsWith("-> *[:1, $nil, $nil, :1]"));
        Assert.Contains("log: 2 command lua set scripter cmd=eval user=scripter", ours.Lines);
        Assert.Contains("log: 1 key toplevel other scripter cmd=eval user=scripter", ours.Lines);
    }

    [RequiresToolsFact("redis-server")]
    public void SortByAndGetNeedReadAccessToEveryKey()
    {
        var ours = OnBoth((connect, t) =>
        {
            using var admin = connect();
            using var u = connect();
            t.Call(admin, "RPUSH", "nums", "3", "1", "2");
            t.Call(admin, "MSET", "w_1", "30", "w_2", "10", "w_3", "20");
            t.Call(admin, "ACL", "SETUSER", "sorter", "on", "nopass", "+@all", "~nums", "~w_*");
            t.Call(u, "AUTH", "sorter", "x");
            t.Call(u, "SORT", "nums", "BY", "w_*");
            t.Call(u, "SORT", "nums", "GET", "w_*");
            t.Call(u, "SORT", "nums", "GET", "#");
            t.Call(u, "SORT_RO", "nums", "BY", "w_*");
            t.Call(u, "SORT", "nums", "BY", "nosort");
            t.Call(u, "SORT", "nums", "LIMIT", "0", "2");
            // Another selector with every key allows it, when that selector allows SORT itself.
            t.Call(admin, "ACL", "SETUSER", "sorter", "(%R~* +sort)");
            t.Call(u, "SORT", "nums", "BY", "w_*", "GET", "w_*");
            t.Call(u, "SORT_RO", "nums", "BY", "w_*");
            t.Call(admin, "ACL", "DELUSER", "sorter");
            t.Call(admin, "DEL", "nums", "w_1", "w_2", "w_3");
            t.Call(admin, "ACL", "LOG", "RESET");
        });
        Assert.Contains("SORT nums BY w_* -> -ERR BY option of SORT denied due to insufficient ACL permissions.", ours.Lines);
        Assert.Contains("SORT nums GET # -> -ERR GET option of SORT denied due to insufficient ACL permissions.", ours.Lines);
        Assert.Contains("SORT nums BY w_* GET w_* -> *[\"10\", \"20\", \"30\"]", ours.Lines);
        Assert.Contains("SORT_RO nums BY w_* -> -ERR BY option of SORT denied due to insufficient ACL permissions.", ours.Lines);
    }

    [RequiresToolsFact("redis-server")]
    public void ClientKillUserClosesEveryConnectionOfTheUser()
    {
        var ours = OnBoth((connect, t) =>
        {
            using var admin = connect();
            using var a = connect();
            using var b = connect();
            using var bystander = connect();
            t.Call(admin, "ACL", "SETUSER", "victim", "on", "nopass", "+@all", "~*", "&*");
            t.Call(a, "AUTH", "victim", "x");
            t.Call(b, "AUTH", "victim", "x");
            t.Call(admin, "CLIENT", "KILL", "USER", "victim");
            t.Note("a closed: " + ClosedByServer(a));
            t.Note("b closed: " + ClosedByServer(b));
            t.Call(bystander, "PING");
            t.Call(admin, "CLIENT", "KILL", "USER", "victim");
            t.Call(admin, "CLIENT", "KILL", "USER", "nosuch");
            // The caller is skipped unless SKIPME no; then it is closed after its reply.
            using var self = connect();
            t.Call(self, "AUTH", "victim", "x");
            t.Call(self, "CLIENT", "KILL", "USER", "victim");
            t.Call(self, "CLIENT", "KILL", "USER", "victim", "SKIPME", "no");
            t.Note("self closed: " + ClosedByServer(self));
            t.Call(admin, "ACL", "DELUSER", "victim");
        });
        Assert.Contains("CLIENT KILL USER victim -> :2", ours.Lines);
        Assert.Contains("a closed: True", ours.Lines);
        Assert.Contains("b closed: True", ours.Lines);
        Assert.Contains("CLIENT KILL USER victim -> :0", ours.Lines);
        Assert.Contains("CLIENT KILL USER nosuch -> -ERR No such user 'nosuch'", ours.Lines);
        Assert.Contains("CLIENT KILL USER victim SKIPME no -> :1", ours.Lines);
        Assert.Contains("self closed: True", ours.Lines);
    }

    // --- requirepass and the default user ----------------------------------------------------

    [RequiresToolsFact("redis-server")]
    public void RequirepassIsTheDefaultUsersPassword()
    {
        // On a redis-server of its own: a failure half-way would leave the class's one locked.
        using var ownRedis = new RedisServerFixture();
        var theirs = new Transcript();
        Requirepass(ownRedis.Connect, theirs);
        using var cinnabar = new ServerFixture();
        var ours = new Transcript();
        Requirepass(cinnabar.Connect, ours);
        Assert.Equal(theirs.ToString(), ours.ToString());

        string hash = Sha256Hex("s3cret");
        Assert.Contains($"ACL GETUSER default -> *[\"flags\", *[\"on\"], \"passwords\", *[\"{hash}\"], \"commands\", \"+@all\", \"keys\", \"~*\", \"channels\", \"&*\", \"selectors\", *[]]", ours.Lines);
        Assert.Contains("GET k -> -NOAUTH Authentication required.", ours.Lines);
        Assert.Contains("AUTH s3cret -> +OK", ours.Lines);
        Assert.Contains("AUTH default s3cret -> +OK", ours.Lines);
        Assert.Contains("ACL GETUSER default -> *[\"flags\", *[\"on\", \"nopass\"], \"passwords\", *[], \"commands\", \"+@all\", \"keys\", \"~*\", \"channels\", \"&*\", \"selectors\", *[]]", ours.Lines);
    }

    static void Requirepass(Func<RespClient> connect, Transcript t)
    {
        using var admin = connect();
        t.Call(admin, "CONFIG", "SET", "requirepass", "s3cret");
        t.Call(admin, "ACL", "GETUSER", "default");
        t.Call(admin, "CONFIG", "GET", "requirepass");
        // Connections authenticated before stay so.
        t.Call(admin, "PING");
        using (var c = connect())
        {
            t.Call(c, "GET", "k");
            t.Call(c, "AUTH", "wrong");
            t.Call(c, "AUTH", "s3cret");
            t.Call(c, "ACL", "WHOAMI");
            t.Call(c, "GET", "k");
        }
        using (var c = connect())
        {
            t.Call(c, "AUTH", "default", "s3cret");
            t.Call(c, "GET", "k");
        }
        // ACL rules on the default user change what requirepass's password is.
        t.Call(admin, "ACL", "SETUSER", "default", ">other");
        using (var c = connect())
        {
            t.Call(c, "AUTH", "other");
            t.Call(c, "AUTH", "s3cret");
        }
        t.Call(admin, "CONFIG", "SET", "requirepass", "");
        t.Call(admin, "ACL", "GETUSER", "default");
        using (var c = connect()) t.Call(c, "GET", "k");
        foreach (var e in LogEntries(admin)) t.Note("log: " + e);
    }

    [Fact]
    public void UnauthenticatedClientsCannotSendMoreThanTenArguments()
    {
        // The default user switched off leaves new connections unauthenticated, as requirepass does.
        using var fx = new ServerFixture();
        using var admin = fx.Connect();
        Assert.Equal("+OK", admin.CallS("ACL", "SETUSER", "default", "off"));
        Assert.Equal("+OK", admin.CallS("ACL", "SETUSER", "worker", "on", ">pw", "+@all", "~*"));
        try
        {
            using var ten = fx.Connect();
            Assert.Equal("-NOAUTH Authentication required.", ten.CallS("MSET", "a", "1", "b", "2", "c", "3", "d", "4", "e"));
            using var eleven = fx.Connect();
            eleven.SendRaw("*11\r\n");
            Assert.Equal("-ERR Protocol error: unauthenticated multibulk length", eleven.Read().ToString());
            Assert.True(ClosedByServer(eleven));
            // Authenticated, the same request is an ordinary one.
            using var authed = fx.Connect();
            Assert.Equal("+OK", authed.CallS("AUTH", "worker", "pw"));
            Assert.Equal("+OK", authed.CallS("MSET", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5"));
            // The default user being nopass but off does not authenticate AUTH default.
            Assert.Equal("-WRONGPASS invalid username-password pair or user is disabled.", ten.CallS("AUTH", "default", "x"));
        }
        finally
        {
            admin.Call("ACL", "SETUSER", "default", "on");
        }
        using var again = fx.Connect();
        Assert.Equal("+PONG", again.CallS("PING"));
    }

    // --- the aclfile ---------------------------------------------------------------------------

    /// <summary>A temp folder with users.acl holding the given lines, deleted on dispose.</summary>
    sealed class AclFileDir : IDisposable
    {
        public string Dir { get; } = Path.Combine(Path.GetTempPath(), "cinnabar-acl-" + Guid.NewGuid().ToString("N"));
        public string File => Path.Combine(Dir, "users.acl");

        public AclFileDir(params string[] lines)
        {
            Directory.CreateDirectory(Dir);
            Write(lines);
        }

        public void Write(params string[] lines) => System.IO.File.WriteAllText(File, lines.Length == 0 ? "" : string.Join('\n', lines) + "\n");

        public string[] Read() => System.IO.File.ReadAllText(File).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        public void Dispose()
        {
            try { Directory.Delete(Dir, recursive: true); }
            catch (IOException) { }
        }
    }

    const string AliceLine = "user alice on >alicepw ~a* resetchannels -@all +@read";

    /// <summary>The aclfile scenario: load at start-up, SAVE, LOAD (which disconnects the loaded users' clients), LOAD of a broken file.</summary>
    static void AclFileRoundTrip(Func<RespClient> connect, AclFileDir files, Transcript t)
    {
        string Norm(string s) => s.Replace(files.File, "<aclfile>");
        using var admin = connect();
        t.Call(admin, "ACL", "USERS");
        t.Call(admin, "ACL", "LIST");
        using var alice = connect();
        t.Call(alice, "AUTH", "alice", "alicepw");
        t.Call(alice, "GET", "a1");

        t.Call(admin, "ACL", "SETUSER", "bob", "on", ">bobpw", "~b*", "&news", "+@string", "(~c* +@hash)");
        t.Call(admin, "ACL", "SAVE");
        foreach (var line in files.Read()) t.Note("saved: " + line);

        // LOAD replaces every user with the file's: bob (deleted meanwhile) comes back, and the
        // clients of the users it replaced (alice's, though alice is in the file) are disconnected.
        t.Call(admin, "ACL", "DELUSER", "bob");
        t.Call(admin, "ACL", "LOAD");
        t.Call(admin, "ACL", "USERS");
        t.Note("alice closed: " + ClosedByServer(alice));
        t.Call(admin, "PING");
        using (var bob = connect())
        {
            t.Call(bob, "AUTH", "bob", "bobpw");
            t.Call(bob, "GET", "b1");
            t.Call(bob, "GET", "a1");
        }

        // A file with errors changes nothing; every error is listed. (Not an unmatched "(" here:
        // redis-server 7.0.15 crashes on it in ACL LOAD; AclLoadReportsAnUnmatchedParenthesis.)
        using var bob2 = connect();
        t.Call(bob2, "AUTH", "bob", "bobpw");
        files.Write(
            "user alice on >alicepw ~a* +@read",
            "user carol on +nosuchcommand",
            "user dave on bogus",
            "notauser x",
            "user alice off",
            "user frank on ~* ~x",
            "user",
            "   ",
            "user default on nopass ~* &* +@all");
        t.Note("load errors: " + Norm(admin.CallS("ACL", "LOAD")));
        t.Call(admin, "ACL", "USERS");
        t.Call(admin, "ACL", "GETUSER", "bob");
        t.Call(bob2, "GET", "b1");

        // A missing file.
        System.IO.File.Delete(files.File);
        t.Note("load missing: " + Norm(admin.CallS("ACL", "LOAD")));
        t.Call(admin, "ACL", "USERS");

        // A file without the default user gives it its defaults back.
        files.Write("user zed on nopass ~* +@all");
        t.Call(admin, "ACL", "SETUSER", "default", "resetchannels");
        t.Call(admin, "ACL", "LOAD");
        t.Call(admin, "ACL", "LIST");
        t.Call(admin, "ACL", "SAVE");
        foreach (var line in files.Read()) t.Note("saved again: " + line);
    }

    [RequiresToolsFact("redis-server")]
    public void AclSaveAndLoadRoundTripThroughTheAclFile()
    {
        var theirs = new Transcript();
        using (var redisFiles = new AclFileDir(AliceLine))
        using (var ownRedis = new RedisServerFixture(null, "--aclfile", redisFiles.File))
            AclFileRoundTrip(ownRedis.Connect, redisFiles, theirs);

        using var files = new AclFileDir(AliceLine);
        var ours = new Transcript();
        using (var cinnabar = new ServerFixture(cfg => Assert.Null(cfg.Set("aclfile", files.File, startup: true))))
            AclFileRoundTrip(cinnabar.Connect, files, ours);
        Assert.Equal(theirs.ToString(), ours.ToString());

        Assert.Contains("ACL USERS -> *[\"alice\", \"default\"]", ours.Lines);
        Assert.Contains("AUTH alice alicepw -> +OK", ours.Lines);
        Assert.Contains($"saved: user alice on #{Sha256Hex("alicepw")} ~a* resetchannels -@all +@read", ours.Lines);
        Assert.Contains($"saved: user bob on #{Sha256Hex("bobpw")} ~b* resetchannels &news -@all +@string (~c* resetchannels -@all +@hash)", ours.Lines);
        Assert.Contains("saved: user default on nopass ~* &* +@all", ours.Lines);
        Assert.Contains("alice closed: True", ours.Lines);
        Assert.Contains(ours.Lines, l => l.StartsWith("load errors: -ERR <aclfile>:2: Error in applying operation '+nosuchcommand': Unknown command or category name in ACL. ")
            && l.EndsWith("WARNING: ACL errors detected, no change to the previously active ACL rules was performed"));
        Assert.Contains("PING -> +PONG", ours.Lines);
        Assert.Equal(2, ours.Lines.Count(l => l == "GET b1 -> $nil"));
        Assert.Contains("load missing: -ERR Error loading ACLs, opening file '<aclfile>': No such file or directory", ours.Lines);
        Assert.Contains("ACL LIST -> *[\"user default on nopass ~* &* +@all\", \"user zed on nopass ~* resetchannels +@all\"]", ours.Lines);
    }

    [Fact]
    public void AclLoadReportsAnUnmatchedParenthesis()
    {
        // redis-server 7.0.15 dereferences the failed merge and crashes here; Cinnabar reports the
        // line in Redis's words (no space before the final WARNING, as Redis formats it) and goes on.
        using var files = new AclFileDir(AliceLine);
        using var fx = new ServerFixture(cfg => Assert.Null(cfg.Set("aclfile", files.File, startup: true)));
        using var c = fx.Connect();
        files.Write("user erin on (~x* +get", "user frank on ~x +get)", "user gina on (~x +get) extra)");
        Assert.Equal($"-ERR {files.File}:1: Unmatched parenthesis in selector definition.{files.File}:2: Error in applying operation '+get)': Unknown command or category name in ACL. "
            + $"{files.File}:3: Syntax error. WARNING: ACL errors detected, no change to the previously active ACL rules was performed",
            c.CallS("ACL", "LOAD"));
        Assert.Equal("*[\"alice\", \"default\"]", c.CallS("ACL", "USERS"));
    }

    [Fact]
    public void AclLoadAndSaveWithoutAnAclFileExplainTheAlternative()
    {
        using var fx = new ServerFixture();
        using var c = fx.Connect();
        const string noFile = "-ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";
        Assert.Equal(noFile, c.CallS("ACL", "LOAD"));
        Assert.Equal(noFile, c.CallS("ACL", "SAVE"));
    }

    [Fact]
    public void AnAclFileWithErrorsStopsTheStartUp()
    {
        using var files = new AclFileDir("user alice on bogus");
        var config = new global::Cinnabar.Server.ServerConfig { Port = 0, Bind = ["127.0.0.1"], Dir = files.Dir };
        Assert.Null(config.Set("aclfile", files.File, startup: true));
        var server = new CinnabarServer(config);
        server.Log.Console = null;
        var e = Assert.Throws<InvalidOperationException>(server.Start);
        Assert.Equal($"Aborting Redis startup because of ACL errors: {files.File}:1: Syntax error. WARNING: ACL errors detected, no change to the previously active ACL rules was performed", e.Message);
    }

    // --- `user` lines in the configuration file ----------------------------------------------

    [Fact]
    public void UsersDeclaredInTheConfigFileAuthenticateAndSurviveConfigRewrite()
    {
        using var files = new AclFileDir();
        string conf = Path.Combine(files.Dir, "redis.conf");
        File.WriteAllText(conf, "# users\nuser alice on >pw ~* +@all\nuser bob off\n");
        using (var server = CinnabarProcess.WithConfigFile(conf, files.Dir))
        {
            using var c = server.Connect();
            Assert.Equal("+OK", c.CallS("AUTH", "alice", "pw"));
            Assert.Equal("\"alice\"", c.CallS("ACL", "WHOAMI"));
            Assert.Equal("-WRONGPASS invalid username-password pair or user is disabled.", c.CallS("AUTH", "bob", ""));
            Assert.Equal($"*[\"user alice on #{Sha256Hex("pw")} ~* resetchannels +@all\", \"user bob off resetchannels -@all\", \"user default on nopass ~* &* +@all\"]",
                c.CallS("ACL", "LIST"));
            // CONFIG REWRITE writes the users back as `user` lines (rewriteConfigUserOption): each
            // takes the next old line, the rest are appended; a deleted user's line goes.
            Assert.Equal(":1", c.CallS("ACL", "DELUSER", "bob"));
            Assert.Equal("+OK", c.CallS("ACL", "SETUSER", "carol", "on", ">cpw", "~c*", "+get"));
            Assert.Equal("+OK", c.CallS("CONFIG", "REWRITE"));
        }
        var lines = File.ReadAllLines(conf);
        Assert.Equal("# users", lines[0]);
        Assert.Equal($"user alice on #{Sha256Hex("pw")} ~* resetchannels +@all", lines[1]);
        Assert.Equal($"user carol on #{Sha256Hex("cpw")} ~c* resetchannels -@all +get", lines[2]);
        Assert.Single(lines, l => l == "user default on nopass ~* &* +@all");
        Assert.DoesNotContain(lines, l => l.StartsWith("user bob"));
        using (var server = CinnabarProcess.WithConfigFile(conf, files.Dir))
        {
            using var c = server.Connect();
            Assert.Equal("+OK", c.CallS("AUTH", "carol", "cpw"));
            Assert.Equal("$nil", c.CallS("GET", "c1"));
            Assert.Equal("-NOPERM this user has no permissions to run the 'set' command", c.CallS("SET", "c1", "x"));
        }
    }

    [Fact]
    public void UsersInTheConfigFileAndAnAclFileTogetherRefuseToStart()
    {
        using var files = new AclFileDir();
        string conf = Path.Combine(files.Dir, "redis.conf");
        File.WriteAllText(conf, $"user alice on >pw ~* +@all\naclfile {files.File}\n");
        using var server = CinnabarProcess.WithConfigFile(conf, files.Dir);
        Assert.Equal(1, server.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Contains("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.", server.Log);
    }

    [Fact]
    public void AWrongRuleInAConfigFileUserLineRefusesToStart()
    {
        using var files = new AclFileDir();
        string conf = Path.Combine(files.Dir, "redis.conf");
        File.WriteAllText(conf, "user alice on >pw bogus\n");
        using var server = CinnabarProcess.WithConfigFile(conf, files.Dir);
        Assert.Equal(1, server.WaitForExit(TimeSpan.FromSeconds(30)));
        // Redis names the argument two places before the wrong one (its index counts the rules only).
        Assert.Contains("*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> 'user alice on >pw bogus'\nError in user declaration 'on': Syntax error", server.Log);
    }
}
