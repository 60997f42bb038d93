// Keyspace notifications, differentially: each script (one per type family) runs against
// redis-server 7.0 and an in-process Cinnabar under several notify-keyspace-events settings,
// with a subscriber on PSUBSCRIBE __key*__:*; after every step the exact sequence of
// (pattern, channel, message) the subscriber received is compared. A PUBLISH on a marker
// channel after each step delimits its events: delivery is synchronous on the server's one
// thread, so every event a step causes (blocked clients it serves included) precedes it.
using System.Text;
using Cinnabar.Protocol;
using Cinnabar.Tests.Support;
using Xunit.Abstractions;

namespace Cinnabar.Tests.Differential;

[Collection(RedisServerCollection.Name)]
public class NotificationDifferentialTests(RedisServerFixture redis, ITestOutputHelper output)
{
    const string Marker = "__notify_test_marker";

    // Script syntax: one command per string, redis-cli quoting. Directives:
    //   !sleep MS           pause (expiry)
    //   !noreply CMD        run CMD, compare its events but not its (random) reply
    //   !block NAME CMD     send CMD on connection NAME without reading (a blocking command)
    //   !reply NAME         read connection NAME's pending reply
    static readonly Dictionary<string, string[]> Scripts = new()
    {
        ["strings"] =
        [
            "SET s v", "SET s v2 XX", "SET s v3 NX", "SET s2 v NX", "SET s3 v XX", "SET s v GET", "SET s v KEEPTTL",
            "SET s v EX 100", "SET s v KEEPTTL", "SET s v PX 100000 GET", "SET s v EX 0", "SET s v PXAT 1",
            "SETNX s x", "SETNX s4 x", "SETEX s5 100 v", "PSETEX s6 100000 v", "SETEX s5 0 v",
            "GETEX s5 EX 100", "GETEX s5 PERSIST", "GETEX s5 PERSIST", "GETEX s5", "GETEX nokey EX 10", "GETEX s5 PXAT 1",
            "GETDEL s4", "GETDEL s4", "GETSET s2 new", "GETSET news new", "GET nokey", "MGET s2 nokey s6",
            "MSET a 1 b 2 a 3", "MSETNX a 1 c 3", "MSETNX c 3 d 4",
            "INCR n", "INCRBY n 5", "DECR n", "DECRBY n 2", "INCRBYFLOAT f 1.5", "INCRBYFLOAT f 1e400", "INCR s2", "INCRBY n x",
            "STRLEN s2", "STRLEN nokey", "APPEND ap x", "APPEND ap y",
            "SETRANGE sr 5 x", "SETRANGE sr 0 \"\"", "SETRANGE nosr 0 \"\"", "SETRANGE nosr 2 \"\"", "SETRANGE sr 0 ab",
            "GETRANGE ap 0 -1", "GETRANGE nokey 0 -1", "SUBSTR ap 0 1", "LCS ap sr", "LCS nokey1 nokey2",
            "SETBIT bm 7 1", "SETBIT bm 7 1", "SETBIT bm 7 0", "SETBIT bm2 0 0", "GETBIT bm 7", "GETBIT nobm 0",
            "BITCOUNT bm", "BITCOUNT nobm", "BITPOS bm 1", "BITPOS nobm 0",
            "BITOP AND dest bm ap", "BITOP OR dest nokey1 nokey2", "BITOP OR dest nokey1 nokey2", "BITOP NOT dest2 bm",
            "BITFIELD bf SET u8 0 255", "BITFIELD bf GET u8 0", "BITFIELD bf INCRBY u8 0 1",
            "BITFIELD bf OVERFLOW FAIL INCRBY u8 0 300", "BITFIELD nobf GET u8 0", "BITFIELD_RO bf GET u8 0", "BITFIELD_RO nobf GET u8 0",
            "SET nk v GET", "SET nk2 v NX GET", "SET nk3 v XX GET", "SET nk v XX GET", "SUBSTR nokey 0 1", "MSET nk 1 nk 2",
            "LPUSH notstring x", "GET notstring", "SET notstring v GET", "APPEND notstring x", "SETBIT notstring 0 1",
        ],
        ["keyspace"] =
        [
            "SET k v", "EXPIRE k 100", "EXPIRE k 100 NX", "EXPIRE k 200 GT", "EXPIRE k 50 LT", "PEXPIRE k 100000",
            "EXPIREAT k 4000000000", "PEXPIREAT k 4000000000000", "EXPIRE k -1", "EXPIRE nokey 10",
            "SET k v", "PEXPIREAT k 1", "SET k v", "EXPIRE k 0",
            "SET k v", "TTL k", "PTTL k", "EXPIRETIME k", "PEXPIRETIME k", "TTL nokey", "PTTL nokey", "EXPIRETIME nokey", "PEXPIRETIME nokey", "MOVE nokey 1",
            "PERSIST k", "PERSIST nokey", "EXPIRE k 100", "PERSIST k",
            "EXISTS k nokey", "TOUCH k nokey", "TYPE k", "TYPE nokey", "OBJECT ENCODING nokey", "OBJECT FREQ nokey",
            "DEL k nokey", "DEL nokey", "SET a 1", "SET b 2", "UNLINK a b nokey",
            "SET k v", "RENAME k k2", "RENAME k2 k2", "RENAME nokey x", "SET x 1", "RENAME k2 x", "RENAMENX x k2", "RENAMENX k2 k2",
            "SET y 1", "RENAMENX k2 y", "EXPIRE x 100", "RENAME x z",
            "MOVE z 1", "MOVE z 1", "SELECT 1", "SET w 1", "MOVE z 0", "MOVE w 0", "SELECT 0",
            "COPY z c1", "COPY z c1", "COPY z c1 REPLACE", "COPY z c2 DB 1", "COPY nokey c3",
            "!sorted KEYS *", "!noreply SCAN 0 COUNT 100", "DBSIZE", "!noreply RANDOMKEY",
            "SWAPDB 0 1", "SWAPDB 0 1", "FLUSHDB", "SET k v", "SELECT 1", "FLUSHALL", "SELECT 0",
            "DEBUG SET-ACTIVE-EXPIRE 0",
            "SET p v PX 50", "!sleep 100", "GET p", "SET p v PX 50", "!sleep 100", "EXISTS p",
            "SET p v PX 50", "!sleep 100", "SET p w", "SET p v PX 50", "!sleep 100", "DEL p",
            "SET p v PX 50", "!sleep 100", "TTL p", "SET p v PX 50", "!sleep 100", "SCAN 0",
            "SET p v PX 50", "!sleep 100", "KEYS *", "EXPIRE p 100", "SET p v PX 50", "!sleep 100", "RENAME p q",
            "DEBUG SET-ACTIVE-EXPIRE 1",
            "SET q v PX 20", "!sleep 700", "DBSIZE",
        ],
        ["lists"] =
        [
            "LPUSH l a b", "RPUSH l c", "LPUSHX l d", "LPUSHX nol d", "RPUSHX l e", "RPUSHX nol e",
            "LPOP l", "RPOP l", "LPOP l 2", "LPOP l 0", "LPOP nol", "RPOP nol 2",
            "RPUSH l a b c d", "LSET l 0 x", "LSET nol 0 x", "LINSERT l BEFORE x y", "LINSERT l AFTER nothere z", "LINSERT nol AFTER a z",
            "LREM l 1 y", "LREM l 1 nothere", "LREM nol 0 a", "LTRIM l 0 2", "LTRIM l 0 -1", "LTRIM l 1 0", "LTRIM nol 0 1",
            "RPUSH src a b c", "LMOVE src dst LEFT RIGHT", "RPOPLPUSH src dst", "LMOVE src src LEFT RIGHT", "LMOVE src dst RIGHT LEFT",
            "LMOVE nosrc dst LEFT LEFT",
            "RPUSH m1 a b c", "LMPOP 2 nol m1 LEFT COUNT 2", "LMPOP 1 m1 RIGHT COUNT 5", "LMPOP 1 nol LEFT",
            "LLEN nol", "LLEN dst", "LINDEX nol 0", "LRANGE nol 0 -1", "LPOS nol a", "LRANGE dst 0 -1",
            "RPUSH bl a", "BLPOP bl 0", "BRPOP nobl 0.01", "RPUSH bl a b", "BRPOP bl 0",
            "!block b1 BLPOP bw 0", "LPUSH bw x", "!reply b1",
            "!block b2 BLMOVE bw2 dst2 LEFT LEFT 0", "RPUSH bw2 a b", "!reply b2",
            "!block b3 BRPOPLPUSH bw3 bw3 0", "RPUSH bw3 a", "!reply b3",
            "!block b4 BLMPOP 0 2 nol bw4 RIGHT COUNT 2", "RPUSH bw4 a b c", "!reply b4",
            "!block b5 BRPOP bw5 0", "!block b6 BLPOP bw5 0", "RPUSH bw5 a b c", "!reply b5", "!reply b6",
            "MULTI", "RPUSH bw6 a", "BLPOP bw6 0", "BLPOP bw6 0", "EXEC",
            "!block b7 BLPOP bw7 0", "MULTI", "LPUSH bw7 a", "LPUSH bw7 b", "EXEC", "!reply b7",
            "SET wrongdst v", "!block b8 BLMOVE bw8 wrongdst LEFT LEFT 0.3", "RPUSH bw8 a", "!reply b8", "LRANGE bw8 0 -1",
            "!block b9 BLMPOP 0 1 bw9 LEFT", "!block b10 BLPOP bw9 0", "RPUSH bw9 a", "!reply b9", "RPUSH bw9 b", "!reply b10",
            "RPUSH r a b", "LREM r 0 a", "LREM r 0 b", "RPUSH r a", "LSET r 0 b", "LSET r 5 b", "LINSERT r AFTER b c",
            "RPUSH e a", "RPOPLPUSH e e2", "LMOVE e2 e2 RIGHT LEFT",
            "SET notlist v", "LPUSH notlist a", "LPOP notlist",
        ],
        ["hashes"] =
        [
            "HSET h f v g w", "HSET h f v", "HMSET h a 1", "HSETNX h a 2", "HSETNX h b 2", "HSETNX noh x 1",
            "HDEL h a nofield", "HDEL h nofield", "HDEL noh f",
            "HINCRBY h n 1", "HINCRBY noh2 n 1", "HINCRBYFLOAT h x 1.5", "HINCRBYFLOAT h f 1", "HINCRBY h f 1",
            "HGET h f", "HGET noh f", "HGET h nofield", "HMGET noh a b", "HLEN noh", "HSTRLEN noh f", "HEXISTS noh f",
            "HKEYS noh", "HVALS noh", "HGETALL noh", "HRANDFIELD noh", "HRANDFIELD noh 2", "HSCAN noh 0", "HSCAN h 0 COUNT 100",
            "HSETNX newh f 1", "HINCRBYFLOAT newh2 f 1", "HSET wrong f", "SET wrong v", "HSET wrong f v", "HGET wrong f",
            "HDEL h f g b n x", "HDEL noh2 n", "EXISTS h noh2",
        ],
        ["sets"] =
        [
            "SADD s a b c", "SADD s a", "SREM s a", "SREM s zz", "SREM nos a",
            "SMOVE s d b", "SMOVE s d nothere", "SMOVE s s c", "SMOVE s d c", "SMOVE nos d a",
            "SISMEMBER nos a", "SMISMEMBER nos a b", "SCARD nos", "!sorted SMEMBERS nos", "SRANDMEMBER nos", "SRANDMEMBER nos 2",
            "SADD one x", "SPOP one", "SPOP nos", "SADD p a b c", "!sorted SPOP p 5", "SADD p a b c", "SPOP p 0", "SPOP nos 2",
            "SADD p2 1 2 3", "!noreply SPOP p2 2", "!noreply SPOP p2",
            "SADD s1 a b c", "SADD s2 b c d", "!sorted SINTER s1 s2", "!sorted SINTER s1 nos", "!sorted SUNION s1 nos", "!sorted SDIFF nos s1",
            "SINTERSTORE dst s1 s2", "SINTERSTORE dst s1 nos", "SINTERSTORE dst s1 nos", "SUNIONSTORE dst s1 s2", "SUNIONSTORE dst nos nos2",
            "SDIFFSTORE dst s1 s2", "SDIFFSTORE dst s1 s1", "SDIFFSTORE s1 s1 s2", "SINTERCARD 2 s1 s2", "SINTERCARD 2 nos s1",
            "SSCAN nos 0", "SDIFFSTORE dst nos s1", "SDIFFSTORE dst nos s1", "SINTERCARD 1 nos", "SADD x1 a", "SMOVE x1 newdst a",
            "SET wrongset v", "SADD x1 a", "SMOVE x1 wrongset a", "SPOP wrongset", "SADD big 1 2 3 4 5", "!sorted SPOP big 5", "SREM s2 b c d", "SET notset v", "SADD notset a", "SINTERSTORE dst notset s1",
        ],
        ["hyperloglog"] =
        [
            "PFADD h a b c", "PFADD h a", "PFADD h", "PFADD h2", "PFADD h2", "PFADD h3 x y",
            "PFCOUNT h", "PFCOUNT h", "PFCOUNT nohll", "PFCOUNT h h3", "PFCOUNT h nohll",
            "PFMERGE dst h h3", "PFMERGE dst", "PFMERGE dst2", "PFMERGE dst3 nohll", "PFMERGE h h3",
            "SET notahll v", "PFADD notahll a", "PFCOUNT notahll",
        ],
        // Keys of every type read and written after their TTL passed (passive expiry), then
        // introspection commands that must not send keymiss.
        ["expiry"] =
        [
            "DEBUG SET-ACTIVE-EXPIRE 0",
            "SET s v PX 30", "RPUSH l a PX", "RPUSH l a", "PEXPIRE l 30", "HSET h f v", "PEXPIRE h 30", "SADD st a", "PEXPIRE st 30",
            "PFADD p a", "PEXPIRE p 30", "!sleep 80",
            "STRLEN s", "LLEN l", "HGET h f", "SCARD st", "PFCOUNT p",
            "SET s v PX 30", "RPUSH l a", "PEXPIRE l 30", "HSET h f v", "PEXPIRE h 30", "SADD st a", "PEXPIRE st 30",
            "PFADD p a", "PEXPIRE p 30", "!sleep 80",
            "APPEND s x", "LPUSH l b", "HSET h g w", "SADD st b", "PFADD p b",
            "PEXPIRE s 30", "PEXPIRE l 30", "PEXPIRE h 30", "PEXPIRE st 30", "PEXPIRE p 30", "!sleep 80",
            "LPUSHX l c", "HDEL h g", "SREM st b", "PFMERGE p", "INCR s",
            "SET s v PX 30", "!sleep 80", "TOUCH s", "SET s v PX 30", "!sleep 80", "TYPE s", "SET s v PX 30", "!sleep 80", "PERSIST s",
            "SET s v PX 30", "!sleep 80", "COPY s s2", "SET s v PX 30", "!sleep 80", "MOVE s 1",
            "SET s v PX 30", "!sleep 80", "OBJECT ENCODING s", "SET s v PX 30", "!sleep 80", "!noreply DEBUG OBJECT s",
            "!noreply DEBUG DIGEST-VALUE s nokey", "FLUSHALL", "SET s v PX 30", "!sleep 80", "!noreply RANDOMKEY",
            "PFADD hll a b", "PFDEBUG ENCODING hll", "PFDEBUG TODENSE hll", "PFDEBUG TODENSE hll", "PFDEBUG GETREG nohll",
            "OBJECT FREQ nokey", "DEBUG OBJECT nokey", "MEMORY USAGE nokey",
            "DEBUG SET-ACTIVE-EXPIRE 1",
        ],
        // One key, so which key is evicted is not the policy's random or sampled choice.
        ["eviction"] =
        [
            "SET a 1", "CONFIG SET maxmemory-policy allkeys-lru", "CONFIG SET maxmemory 1", "GET a", "SET b 2", "CONFIG SET maxmemory 0",
            "HSET h f v", "CONFIG SET maxmemory-policy volatile-lru", "CONFIG SET maxmemory 1", "HGET h f", "CONFIG SET maxmemory 0",
            "EXPIRE h 100", "CONFIG SET maxmemory 1", "HGET h f", "CONFIG SET maxmemory 0", "CONFIG SET maxmemory-policy noeviction",
        ],
        ["zsets"] =
        [
            "ZADD z 1 a 2 b", "ZADD z 1 a", "ZADD z NX 5 a", "ZADD z XX 3 c", "ZADD z CH 3 a", "ZADD z INCR 1 a", "ZADD z NX INCR 1 a",
            "ZADD z GT 0 a", "ZADD nz XX 1 a", "ZADD nz XX INCR 1 a", "ZADD z INCR -inf a", "ZADD z 1 a 1 a",
            "ZINCRBY z 1 b", "ZINCRBY nz2 1 a", "ZREM z nothere", "ZREM z b", "ZREM nz a",
            "ZADD r 1 a 2 b 3 c 4 d 5 e", "ZREMRANGEBYSCORE r 10 20", "ZREMRANGEBYSCORE r 1 1", "ZREMRANGEBYRANK r 0 0",
            "ZREMRANGEBYLEX r [c [c", "ZREMRANGEBYRANK nz 0 -1", "ZREMRANGEBYRANK r 0 -1",
            "ZADD p 1 a 2 b 3 c", "ZPOPMIN p", "ZPOPMIN p 0", "ZPOPMAX p 5", "ZPOPMIN nz", "ZPOPMAX nz 2",
            "ZADD m 1 a 2 b", "ZMPOP 2 nz m MIN COUNT 5", "ZMPOP 1 nz MAX",
            "ZADD b 1 a", "BZPOPMIN b 0", "BZPOPMAX nz 0.01",
            "!block b1 BZPOPMIN bw 0", "ZADD bw 1 x 2 y", "!reply b1",
            "!block b2 BZMPOP 0 1 bw2 MAX COUNT 2", "ZADD bw2 1 a 2 b 3 c", "!reply b2",
            "!block b3 BZPOPMAX bw3 0", "MULTI", "ZADD bw3 1 a", "ZINCRBY bw3 1 a", "EXEC", "!reply b3",
            "ZADD s1 1 a 2 b", "ZADD s2 1 b 2 c", "ZUNIONSTORE u 2 s1 s2", "ZINTERSTORE i 2 s1 s2", "ZDIFFSTORE d 2 s1 s2",
            "ZINTERSTORE i 2 s1 nz", "ZINTERSTORE i 2 s1 nz", "ZUNIONSTORE u 2 nz nz2", "ZDIFFSTORE d 2 s1 s1", "ZDIFFSTORE d 2 s1 s1",
            "SADD set1 a x", "ZUNIONSTORE u 2 s1 set1", "ZINTERSTORE i 1 set1",
            "ZRANGESTORE rs s1 0 -1", "ZRANGESTORE rs s1 5 10", "ZRANGESTORE rs nz 0 -1", "ZRANGESTORE rs nz 0 -1",
            "ZCARD nz", "ZSCORE nz a", "ZMSCORE nz a", "ZRANK nz a", "ZREVRANK nz a", "ZCOUNT nz 0 1", "ZLEXCOUNT nz - +",
            "ZRANGE nz 0 -1", "ZRANGEBYSCORE nz 0 1", "ZREVRANGE nz 0 1", "ZRANGEBYLEX nz - +", "ZREVRANGEBYSCORE nz 1 0", "ZREVRANGEBYLEX nz + -",
            "ZRANDMEMBER nz", "ZRANDMEMBER nz 2", "ZSCAN nz 0", "ZINTERCARD 2 s1 nz", "ZUNION 2 nz s1", "ZINTER 2 s1 nz", "ZDIFF 2 nz s1",
            "SET notz v", "ZADD notz 1 a", "ZSCORE notz a", "ZUNIONSTORE u 2 s1 notz",
            "GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania", "GEOADD g 13.361389 38.115556 Palermo",
            "GEOADD g XX CH 13.361389 38.115556 Palermo", "GEOADD g NX 13.361389 38.115556 Palermo", "GEOADD g 200 100 bad",
            "GEODIST nog a b", "GEODIST g Palermo Catania", "GEOPOS nog a", "GEOHASH nog a", "GEOSEARCH nog FROMLONLAT 15 37 BYRADIUS 200 km",
            "GEORADIUS nog 15 37 200 km", "GEORADIUSBYMEMBER nog a 1 km", "GEORADIUS_RO nog 15 37 200 km", "GEORADIUSBYMEMBER_RO g nothere 1 km",
            "GEOSEARCHSTORE gs g FROMLONLAT 15 37 BYRADIUS 200 km", "GEOSEARCHSTORE gs g FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST",
            "GEOSEARCHSTORE gs g FROMLONLAT 0 0 BYRADIUS 1 km", "GEOSEARCHSTORE gs g FROMLONLAT 0 0 BYRADIUS 1 km",
            "GEORADIUS g 15 37 200 km STORE gr", "GEORADIUS g 15 37 200 km STOREDIST gr", "GEORADIUSBYMEMBER g Palermo 1 km STORE gr",
            "GEOSEARCHSTORE gs nog FROMLONLAT 0 0 BYRADIUS 1 km", "GEORADIUS nog 15 37 200 km STORE gr",
            "RPUSH sl 3 1 2", "SORT sl", "SORT sl STORE sd", "SORT sl STORE sd", "SORT nol STORE sd", "SORT nol STORE sd", "SORT nol",
            "SORT sl BY w_* GET o_*", "SET w_1 1", "SET o_2 x", "SORT sl BY w_* GET # GET o_*", "SORT sl BY nosort GET o_*",
            "HSET hw_1 f 5", "SORT sl BY hw_*->f GET hw_*->f", "SORT_RO sl", "SORT_RO nol", "SORT z STORE sd2", "SORT s1 BY nosort STORE sd3",
            "SADD ss c a b", "SORT ss ALPHA STORE sd4", "SORT notz", "SORT sl LIMIT 0 0 STORE sd5",
        ],
        ["multi"] =
        [
            "MULTI", "SET m 1", "INCR m", "LPUSH ml a", "EXPIRE m 100", "GET nokey", "DEL m", "SADD ms a", "HSET mh f v", "EXEC",
            "MULTI", "SET x 1", "DISCARD",
            "MULTI", "SET x 1", "INCR x", "LPUSH x a", "SET y 2", "EXEC",
            "MULTI", "RPOP ml", "GETDEL x", "EXEC",
        ],
    };

    static readonly string[] FlagSets = ["KEA", "KEAmn", "Elg$", "Kxmn"];

    public static IEnumerable<object[]> Cases() =>
        from s in Scripts.Keys from f in FlagSets select new object[] { s, f };

    [RequiresToolsTheory("redis-server")]
    [MemberData(nameof(Cases))]
    public void NotificationsMatchRedis(string script, string flags)
    {
        var steps = Scripts[script];
        List<Step> expected;
        try
        {
            expected = Run(() => redis.Connect(), steps, flags);
        }
        finally
        {
            using var admin = redis.Connect();
            admin.Call("CONFIG", "SET", "notify-keyspace-events", "");
            admin.Call("DEBUG", "SET-ACTIVE-EXPIRE", "1");
            admin.Call("CONFIG", "SET", "maxmemory", "0");
            admin.Call("CONFIG", "SET", "maxmemory-policy", "noeviction");
        }
        List<Step> actual;
        using (var fx = new ServerFixture()) actual = Run(fx.Connect, steps, flags);

        int events = expected.Sum(s => s.Events.Count);
        output.WriteLine($"{script} [{flags}]: {steps.Length} steps, {events} events from redis-server");
        Assert.Equal(expected.Count, actual.Count);
        var diffs = new StringBuilder();
        for (int i = 0; i < expected.Count; i++)
        {
            var e = expected[i];
            var a = actual[i];
            if (e.Reply == a.Reply && e.Events.SequenceEqual(a.Events)) continue;
            diffs.Append($"step {i}: {e.Command}\n  redis:    {e.Reply}\n");
            foreach (var ev in e.Events) diffs.Append("            ").Append(ev).Append('\n');
            diffs.Append($"  cinnabar: {a.Reply}\n");
            foreach (var ev in a.Events) diffs.Append("            ").Append(ev).Append('\n');
        }
        if (diffs.Length > 0) Assert.Fail($"{script} with notify-keyspace-events {flags}: differences\n{diffs}");
    }

    sealed record Step(string Command, string Reply, List<string> Events);

    static List<Step> Run(Func<RespClient> connect, string[] script, string flags)
    {
        var result = new List<Step>();
        var blocked = new Dictionary<string, RespClient>();
        using var cmd = connect();
        using var sub = connect();
        // A client in MULTI queues PUBLISH too: the marker goes from a connection of its own.
        using var marker = connect();
        cmd.ReadTimeout = sub.ReadTimeout = TimeSpan.FromSeconds(5);
        try
        {
            Assert.Equal("+OK", cmd.CallS("FLUSHALL"));
            Assert.Equal("+OK", cmd.CallS("CONFIG", "SET", "notify-keyspace-events", flags));
            sub.Call("PSUBSCRIBE", "__key*__:*");
            sub.Call("SUBSCRIBE", Marker);
            int n = 0;
            foreach (var line in script)
            {
                string reply;
                if (line.StartsWith("!sleep ", StringComparison.Ordinal))
                {
                    Thread.Sleep(int.Parse(line[7..], System.Globalization.CultureInfo.InvariantCulture));
                    reply = "";
                }
                else if (line.StartsWith("!block ", StringComparison.Ordinal))
                {
                    var parts = line[7..].Split(' ', 2);
                    var b = connect();
                    b.ReadTimeout = TimeSpan.FromSeconds(5);
                    blocked[parts[0]] = b;
                    b.Send(Split(parts[1]));
                    // The command must reach the server and block before the next step runs.
                    b.AssertNoReply(TimeSpan.FromMilliseconds(100));
                    reply = "(blocked)";
                }
                else if (line.StartsWith("!reply ", StringComparison.Ordinal))
                {
                    reply = blocked[line[7..]].TryRead(TimeSpan.FromSeconds(5))?.ToString() ?? "(no reply)";
                }
                else
                {
                    bool compareReply = true;
                    string command = line;
                    if (line.StartsWith("!noreply ", StringComparison.Ordinal)) { compareReply = false; command = line[9..]; }
                    bool sorted = false;
                    if (line.StartsWith("!sorted ", StringComparison.Ordinal)) { sorted = true; command = line[8..]; }
                    var r = cmd.Call(Split(command));
                    if (sorted) r.Items?.Sort((x, y) => string.CompareOrdinal(x.ToString(), y.ToString()));
                    reply = compareReply ? r.ToString() : "(not compared)";
                }
                var events = new List<string>();
                marker.Call("PUBLISH", Marker, (n++).ToString(System.Globalization.CultureInfo.InvariantCulture));
                while (true)
                {
                    var m = sub.Read();
                    if (m.Items![0].Text == "message") break;
                    events.Add(string.Join(" ", m.Items.Skip(1).Select(i => i.ToString())));
                }
                result.Add(new Step(line, reply, events));
            }
        }
        finally
        {
            foreach (var b in blocked.Values) b.Dispose();
            cmd.Call("CONFIG", "SET", "notify-keyspace-events", "");
        }
        return result;
    }

    static byte[][] Split(string command)
    {
        var args = new List<byte[]>();
        if (!InlineSplitter.Split(Encoding.Latin1.GetBytes(command), args)) throw new FormatException("unbalanced quotes: " + command);
        return args.ToArray();
    }
}
