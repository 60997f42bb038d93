// Client-side caching compared with redis-server 7.0: each scenario runs with several real
// connections against both servers and the exact sequence of replies and invalidation
// messages every client receives must match. Client ids differ between the servers, so each
// log line replaces the ids of the scenario's clients with their role names.
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Differential;

[Collection(RedisServerCollection.Name)]
public class TrackingDifferentialTests(RedisServerFixture redis)
{
    static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(150);

    /// <summary>A scenario's connections and its log; ids print as the client's role.</summary>
    sealed class Session(Func<RespClient> connect) : IDisposable
    {
        public readonly List<string> Log = new();
        readonly List<(string Id, string Name)> _ids = new();
        readonly List<RespClient> _clients = new();

        public RespClient Open(string name, bool resp3 = false)
        {
            var c = connect();
            c.ReadTimeout = TimeSpan.FromSeconds(5);
            _clients.Add(c);
            _ids.Add((c.Call("CLIENT", "ID").Text!, "<" + name + ">"));
            if (resp3) c.Call("HELLO", "3"); // the reply holds the id: not compared
            return c;
        }

        public string Id(string name) => _ids.First(x => x.Name == "<" + name + ">").Id;

        /// <summary>Ids are named only where a reply carries one (CLIENT replies, tracking-redir-broken): elsewhere a small id could equal a count.</summary>
        public void Add(string who, RespReply r, bool hasIds)
        {
            if (hasIds) NameIds(r);
            Log.Add(who + ": " + r);
        }

        // Integers that are one of the scenario's client ids become the client's role name.
        void NameIds(RespReply r)
        {
            if (r.Type == ':' && _ids.Any(x => x.Id == r.Text)) r.Text = _ids.First(x => x.Id == r.Text).Name;
            foreach (var item in r.Items ?? []) NameIds(item);
        }

        public void Call(string who, RespClient c, params string[] args) => Add(who, c.Call(args), args[0] == "CLIENT");

        /// <summary>Logs the next message, or that none came within a second.</summary>
        public void Read(string who, RespClient c)
        {
            var r = c.TryRead(TimeSpan.FromSeconds(1));
            if (r == null) Log.Add(who + ": (nothing)");
            else Add(who, r, r.Type == '>' && r.Items?[0].Text == "tracking-redir-broken");
        }

        /// <summary>Logs that nothing (more) arrived: the absence of an invalidation is part of the behaviour.</summary>
        public void Nothing(string who, RespClient c)
        {
            var r = c.TryRead(Quiet);
            Log.Add(who + ": " + (r == null ? "(nothing)" : r.ToString()));
        }

        public void Dispose()
        {
            foreach (var c in _clients) c.Dispose();
        }
    }

    void AssertSameOnBoth(Action<Session> scenario)
    {
        var expected = Run(() => redis.Connect(), scenario);
        using var fx = new ServerFixture();
        var actual = Run(fx.Connect, scenario);
        Assert.NotEmpty(expected);
        Assert.Equal(string.Join("\n", expected), string.Join("\n", actual));
    }

    static List<string> Run(Func<RespClient> connect, Action<Session> scenario)
    {
        using (var admin = connect()) admin.Call("FLUSHALL");
        using var s = new Session(connect);
        scenario(s);
        return s.Log;
    }

    [RequiresToolsFact("redis-server")]
    public void DefaultModeResp3PushesInvalidationsForKeysTheClientRead()
    {
        AssertSameOnBoth(s =>
        {
            var t = s.Open("t", resp3: true);
            var w = s.Open("w");
            s.Call("t", t, "CLIENT", "TRACKING", "ON");
            s.Call("w", w, "MSET", "a", "1", "b", "2", "c", "3");
            s.Call("t", t, "GET", "a");
            s.Call("t", t, "MGET", "b", "c", "missing");
            s.Call("w", w, "SET", "a", "2");
            s.Read("t", t);
            s.Call("w", w, "DEL", "b", "c");
            s.Read("t", t);
            s.Read("t", t);
            s.Call("w", w, "SET", "a", "3"); // forgotten after the first invalidation
            s.Nothing("t", t);
            s.Call("w", w, "SET", "missing", "now");
            s.Read("t", t);
            s.Call("t", t, "GET", "a");
            s.Call("t", t, "SET", "a", "mine"); // own write: the reply first, then the push
            s.Read("t", t);
            s.Call("t", t, "STRLEN", "a");
            s.Call("t", t, "MULTI");
            s.Call("t", t, "GET", "a");
            s.Call("t", t, "APPEND", "a", "+");
            s.Call("t", t, "EXEC");
            s.Read("t", t);
            s.Call("t", t, "LINDEX", "l", "0");
            s.Call("w", w, "RPUSH", "l", "v");
            s.Read("t", t);
            s.Call("w", w, "SELECT", "1"); // the table is not per database
            s.Call("t", t, "GET", "x");
            s.Call("w", w, "SET", "x", "db1");
            s.Read("t", t);
            s.Call("t", t, "CLIENT", "TRACKING", "OFF");
            s.Call("t", t, "GET", "a");
            s.Call("w", w, "SELECT", "0");
            s.Call("w", w, "SET", "a", "off");
            s.Nothing("t", t);
        });
    }

    [RequiresToolsFact("redis-server")]
    public void Resp2RedirectSendsInvalidationsAsPubSubMessages()
    {
        AssertSameOnBoth(s =>
        {
            var r = s.Open("r");
            var t = s.Open("t");
            var t2 = s.Open("t2");
            var w = s.Open("w");
            s.Call("r", r, "SUBSCRIBE", "__redis__:invalidate");
            s.Call("t", t, "CLIENT", "TRACKING", "ON", "REDIRECT", s.Id("r"));
            s.Call("t", t, "CLIENT", "GETREDIR");
            s.Call("t", t, "CLIENT", "TRACKINGINFO");
            s.Call("t2", t2, "CLIENT", "TRACKING", "ON", "REDIRECT", s.Id("r"));
            s.Call("t", t, "GET", "k");
            s.Call("t2", t2, "GET", "k");
            s.Call("w", w, "SET", "k", "v");
            s.Read("r", r);
            s.Read("r", r);
            s.Call("t", t, "GET", "k");
            s.Call("t", t, "SET", "k", "own"); // RESP2: the message goes to the redirect target only
            s.Read("r", r);
            s.Nothing("t", t);
            // A RESP2 target that is not subscribed cannot receive anything.
            s.Call("r", r, "UNSUBSCRIBE");
            s.Call("t", t, "GET", "k");
            s.Call("w", w, "SET", "k", "lost");
            s.Nothing("r", r);
            // A RESP3 target gets push frames whether or not it is subscribed.
            r.Call("HELLO", "3"); // the reply holds the id: not compared
            s.Call("t", t, "GET", "k");
            s.Call("w", w, "SET", "k", "pushed");
            s.Read("r", r);
            // Tracking without redirection in RESP2: nothing to send anything on.
            s.Call("t2", t2, "CLIENT", "TRACKING", "ON");
            s.Call("t2", t2, "GET", "k");
            s.Call("w", w, "SET", "k", "none");
            s.Nothing("t2", t2);
            s.Nothing("r", r);
        });
    }

    [RequiresToolsFact("redis-server")]
    public void BroadcastModeBatchesModifiedKeysPerPrefix()
    {
        AssertSameOnBoth(s =>
        {
            var b1 = s.Open("b1", resp3: true);
            var b2 = s.Open("b2", resp3: true);
            var b3 = s.Open("b3", resp3: true);
            var w = s.Open("w");
            s.Call("b1", b1, "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:", "PREFIX", "obj:");
            s.Call("b2", b2, "CLIENT", "TRACKING", "ON", "BCAST");
            s.Call("b3", b3, "CLIENT", "TRACKING", "ON", "BCAST", "NOLOOP", "PREFIX", "user:");
            s.Call("b1", b1, "CLIENT", "TRACKINGINFO");
            s.Call("w", w, "MSET", "user:2", "a", "obj:1", "b", "other", "c", "user:1", "d");
            s.Read("b1", b1);
            s.Read("b1", b1);
            s.Read("b2", b2);
            s.Read("b3", b3);
            s.Call("b3", b3, "SET", "user:3", "mine");
            s.Nothing("b3", b3);
            s.Read("b1", b1);
            s.Read("b2", b2);
            s.Call("b3", b3, "MSET", "user:4", "x", "user:5", "y");
            s.Nothing("b3", b3);
            s.Read("b1", b1);
            s.Call("w", w, "SET", "user:4", "z");
            s.Read("b3", b3);
            s.Read("b2", b2);
            s.Read("b2", b2);
            s.Call("b1", b1, "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "u");
            s.Call("b1", b1, "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "x", "PREFIX", "y");
            s.Call("b1", b1, "CLIENT", "TRACKING", "ON", "PREFIX", "z");
            s.Call("b1", b1, "CLIENT", "TRACKINGINFO");
            s.Call("w", w, "SET", "y1", "v");
            s.Read("b1", b1);
            s.Read("b2", b2);
            s.Call("b1", b1, "GET", "user:1"); // no default-mode tracking in BCAST
            s.Call("b1", b1, "CLIENT", "TRACKING", "OFF");
            s.Call("w", w, "SET", "user:1", "after");
            s.Nothing("b1", b1);
            s.Read("b2", b2);
            s.Read("b3", b3);
        });
    }

    [RequiresToolsFact("redis-server")]
    public void OptInAndOptOutFollowClientCaching()
    {
        AssertSameOnBoth(s =>
        {
            var i = s.Open("in", resp3: true);
            var o = s.Open("out", resp3: true);
            var w = s.Open("w");
            s.Call("in", i, "CLIENT", "TRACKING", "ON", "OPTIN");
            s.Call("in", i, "GET", "a");
            s.Call("in", i, "CLIENT", "CACHING", "YES");
            s.Call("in", i, "CLIENT", "TRACKINGINFO");
            s.Call("in", i, "GET", "b");
            s.Call("in", i, "GET", "c");
            s.Call("in", i, "CLIENT", "TRACKINGINFO");
            s.Call("in", i, "MULTI");
            s.Call("in", i, "CLIENT", "CACHING", "YES");
            s.Call("in", i, "GET", "d");
            s.Call("in", i, "GET", "e");
            s.Call("in", i, "EXEC");
            s.Call("w", w, "MSET", "a", "1", "b", "1", "c", "1", "d", "1", "e", "1");
            s.Read("in", i);
            s.Read("in", i);
            s.Read("in", i);
            s.Nothing("in", i);

            s.Call("out", o, "CLIENT", "TRACKING", "ON", "OPTOUT");
            s.Call("out", o, "CLIENT", "CACHING", "NO");
            s.Call("out", o, "GET", "x");
            s.Call("out", o, "GET", "y");
            s.Call("out", o, "CLIENT", "CACHING", "YES");
            s.Call("out", o, "CLIENT", "TRACKING", "ON", "OPTIN");
            s.Call("w", w, "MSET", "x", "1", "y", "1");
            s.Read("out", o);
            s.Nothing("out", o);
        });
    }

    [RequiresToolsFact("redis-server")]
    public void NoLoopSkipsTheClientsOwnWrites()
    {
        AssertSameOnBoth(s =>
        {
            var n = s.Open("n", resp3: true);
            var w = s.Open("w");
            s.Call("n", n, "CLIENT", "TRACKING", "ON", "NOLOOP");
            s.Call("n", n, "GET", "k");
            s.Call("n", n, "SET", "k", "mine");
            s.Nothing("n", n);
            s.Call("w", w, "SET", "k", "theirs"); // the own write already dropped the key
            s.Nothing("n", n);
            s.Call("n", n, "GET", "k");
            s.Call("w", w, "SET", "k", "again");
            s.Read("n", n);
            s.Call("n", n, "CLIENT", "TRACKINGINFO");
        });
    }

    [RequiresToolsFact("redis-server")]
    public void FlushSendsANullInvalidationToEveryTrackingClient()
    {
        AssertSameOnBoth(s =>
        {
            var r = s.Open("r");
            var t3 = s.Open("t3", resp3: true);
            var t2 = s.Open("t2");
            var b = s.Open("b", resp3: true);
            var w = s.Open("w");
            s.Call("r", r, "SUBSCRIBE", "__redis__:invalidate");
            s.Call("t3", t3, "CLIENT", "TRACKING", "ON");
            s.Call("t2", t2, "CLIENT", "TRACKING", "ON", "REDIRECT", s.Id("r"));
            s.Call("b", b, "CLIENT", "TRACKING", "ON", "BCAST");
            s.Call("t3", t3, "GET", "k");
            s.Call("w", w, "SET", "k", "v");
            s.Read("t3", t3);
            s.Read("b", b);
            s.Call("t3", t3, "GET", "k");
            s.Call("w", w, "FLUSHALL");
            s.Read("t3", t3);
            s.Read("r", r);
            s.Read("b", b);
            s.Call("w", w, "SET", "k", "after"); // the table was emptied
            s.Nothing("t3", t3);
            s.Read("b", b);
            s.Call("t3", t3, "FLUSHDB"); // own flush: reply, then the null
            s.Read("t3", t3);
            s.Read("r", r);
            s.Read("b", b);
        });
    }

    [RequiresToolsFact("redis-server")]
    public void ExpiredKeysAreInvalidated()
    {
        AssertSameOnBoth(s =>
        {
            var t = s.Open("t", resp3: true);
            var b = s.Open("b", resp3: true);
            var w = s.Open("w");
            s.Call("t", t, "CLIENT", "TRACKING", "ON");
            s.Call("b", b, "CLIENT", "TRACKING", "ON", "BCAST", "NOLOOP", "PREFIX", "e");
            // Lazy expiry first, with the active cycle off so it cannot race the reads.
            s.Call("w", w, "DEBUG", "SET-ACTIVE-EXPIRE", "0");
            s.Call("w", w, "SET", "e1", "v", "PX", "100");
            s.Read("b", b);
            s.Call("t", t, "GET", "e1");
            Thread.Sleep(150);
            s.Call("b", b, "GET", "e1"); // expired by the NOLOOP client's own read: still reported (no modifier)
            s.Read("t", t);
            s.Read("b", b);
            s.Call("t", t, "GET", "e1");
            Thread.Sleep(50);
            s.Call("t", t, "GET", "e1"); // nothing changed: no message
            s.Nothing("t", t);
            // Then the active cycle.
            s.Call("w", w, "SET", "e2", "v", "PX", "100");
            s.Read("b", b);
            s.Call("t", t, "GET", "e2");
            s.Call("w", w, "DEBUG", "SET-ACTIVE-EXPIRE", "1");
            Thread.Sleep(600); // active expiry (hz 10)
            s.Read("t", t);
            s.Read("b", b);
            s.Call("w", w, "EXISTS", "e1", "e2");
        });
    }

    [RequiresToolsFact("redis-server")]
    public void AGoneRedirectTargetIsReportedAsBroken()
    {
        AssertSameOnBoth(s =>
        {
            var r = s.Open("r");
            var t3 = s.Open("t3", resp3: true);
            var t2 = s.Open("t2");
            var w = s.Open("w");
            s.Call("t3", t3, "CLIENT", "TRACKING", "ON", "REDIRECT", s.Id("r"));
            s.Call("t2", t2, "CLIENT", "TRACKING", "ON", "REDIRECT", s.Id("r"));
            s.Call("t3", t3, "GET", "k");
            s.Call("t2", t2, "GET", "k");
            r.Dispose();
            Thread.Sleep(100);
            s.Call("w", w, "SET", "k", "v");
            s.Read("t3", t3);
            s.Nothing("t2", t2);
            s.Call("t3", t3, "CLIENT", "TRACKINGINFO");
            s.Call("t2", t2, "CLIENT", "TRACKINGINFO");
            s.Call("t3", t3, "CLIENT", "GETREDIR");
            s.Call("t3", t3, "CLIENT", "TRACKING", "ON", "REDIRECT", s.Id("r"));
            s.Call("t3", t3, "CLIENT", "TRACKING", "ON");
            s.Call("t3", t3, "CLIENT", "TRACKINGINFO");
            s.Call("t2", t2, "RESET");
            s.Call("t2", t2, "CLIENT", "TRACKINGINFO");
        });
    }

    [RequiresToolsFact("redis-server")]
    public void ASelfOverlappingPrefixPastTheFirstRepliesTwice()
    {
        // Redis 7.0's checkPrefixCollisionsOrReply returns the index of the overlapping prefix:
        // past the first one that reads as success, so the error is followed by +OK.
        AssertSameOnBoth(s =>
        {
            var c = s.Open("c");
            s.Call("c", c, "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "b", "PREFIX", "a", "PREFIX", "ab");
            s.Read("c", c);
            s.Call("c", c, "CLIENT", "TRACKINGINFO");
            s.Call("c", c, "CLIENT", "TRACKING", "ON", "BCAST");
            s.Call("c", c, "CLIENT", "TRACKINGINFO");
        });
    }
}
