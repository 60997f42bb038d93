// Randomized differential test for the keyspace layout (the object is its own dict entry, a
// string's value shares one array with its key, the TTL entry shares that array): thousands of
// random writes that grow, shrink and replace string values, with absolute TTLs (EXAT/EXPIREAT,
// read back with EXPIRETIME so the replies are deterministic), renames, copies, moves, SWAPDB
// and type changes, run against redis-server 7.0 and Cinnabar; every reply must be identical.
// A second test does the same for lists of several (compressed) quicklist nodes and hashes that
// convert from listpack to hashtable, whose listpacks the objects now hold directly.
using System.Globalization;
using Cinnabar.Tests.Support;
using Xunit.Abstractions;

namespace Cinnabar.Tests.Differential;

[Collection(RedisServerCollection.Name)]
public class KeyspaceRandomDifferentialTests(RedisServerFixture redis, ITestOutputHelper output)
{
    static string I(long v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// The reply as text; for HGETALL of a hashtable-encoded hash the field order is the dict's
    /// (Redis seeds its hash function per process, so it differs between any two servers):
    /// compared as a set of pairs.
    /// </summary>
    static string Canonical(RespReply reply, string[] cmd)
    {
        if (cmd[0] != "HGETALL" || reply.Items == null) return reply.ToString();
        var pairs = reply.Items.Chunk(2).Select(p => p[0] + "=" + p[1]).Order(StringComparer.Ordinal);
        return "pairs:" + string.Join(",", pairs);
    }

    [RequiresToolsFact("redis-server")]
    public void RandomListAndHashCommandsMatchRedis()
    {
        // Small nodes and compression make lists of several (compressed) quicklist nodes; a low
        // entry limit and long values convert hashes from listpack to hashtable along the way.
        static string Value(Random r) => r.Next(6) switch
        {
            0 => I(r.Next(-300, 300)),
            1 => new string((char)('a' + r.Next(26)), r.Next(60, 90)),
            _ => "v" + r.Next(40),
        };
        RandomDifferential.Run(redis, output, Environment.TickCount, r =>
        {
            string l = "l" + r.Next(1, 3), h = "h" + r.Next(1, 3);
            return r.Next(24) switch
            {
                0 or 1 => ["RPUSH", l, Value(r), Value(r), Value(r)],
                2 => ["LPUSH", l, Value(r)],
                3 => ["LPOP", l, I(r.Next(0, 4))],
                4 => ["RPOP", l],
                5 => ["LINSERT", l, r.Next(2) == 0 ? "BEFORE" : "AFTER", Value(r), Value(r)],
                6 => ["LSET", l, I(r.Next(-8, 8)), Value(r)],
                7 => ["LREM", l, I(r.Next(-2, 3)), Value(r)],
                8 => ["LTRIM", l, I(r.Next(-3, 5)), I(r.Next(-5, 40))],
                9 or 10 => ["LRANGE", l, I(r.Next(-30, 5)), I(r.Next(-5, 40))],
                11 => ["LINDEX", l, I(r.Next(-20, 20))],
                12 => ["LPOS", l, Value(r), "RANK", I(r.Next(1, 3) * (r.Next(2) == 0 ? 1 : -1))],
                13 => ["LMOVE", l, "l" + r.Next(1, 3), r.Next(2) == 0 ? "LEFT" : "RIGHT", r.Next(2) == 0 ? "LEFT" : "RIGHT"],
                14 => ["LLEN", l],
                15 or 16 => ["HSET", h, "f" + r.Next(20), Value(r), "f" + r.Next(20), Value(r)],
                17 => ["HDEL", h, "f" + r.Next(20), "f" + r.Next(20)],
                18 => ["HGETALL", h],
                19 => ["HINCRBY", h, "n" + r.Next(3), I(r.Next(-5, 5))],
                20 => ["HGET", h, "f" + r.Next(20)],
                21 => ["HSTRLEN", h, "f" + r.Next(20)],
                22 => ["OBJECT", "ENCODING", r.Next(2) == 0 ? l : h],
                _ => ["HLEN", h],
            };
        }, 4000,
        config:
        [
            ["CONFIG", "SET", "list-max-listpack-size", "4"],
            ["CONFIG", "SET", "list-compress-depth", "1"],
            ["CONFIG", "SET", "hash-max-listpack-entries", "12"],
        ],
        canonical: Canonical);
    }

    [RequiresToolsFact("redis-server")]
    public void RandomStringAndKeyspaceCommandsMatchRedis()
    {
        Random r = null!;
        string Key() => "k" + r.Next(1, 7);
        string When() => I(4102444800 + r.Next(0, 1000)); // year 2100: absolute, never reached
        string Value() => r.Next(5) switch
        {
            0 => I(r.Next(-1000, 100000)),                           // int encoding
            1 => new string((char)('a' + r.Next(26)), r.Next(45, 80)), // raw
            2 => "",
            _ => new string((char)('a' + r.Next(26)), r.Next(1, 20)),  // embstr
        };
        RandomDifferential.Run(redis, output, Environment.TickCount, rng =>
        {
            r = rng;
            return r.Next(30) switch
            {
                0 or 1 => ["SET", Key(), Value()],
                2 => ["SET", Key(), Value(), "EXAT", When()],
                3 => ["SET", Key(), Value(), "KEEPTTL"],
                4 => ["SET", Key(), Value(), r.Next(2) == 0 ? "NX" : "XX", "GET"],
                5 => ["APPEND", Key(), Value()],
                6 => ["SETRANGE", Key(), I(r.Next(0, 70)), Value()],
                7 => ["INCRBY", Key(), I(r.Next(-50, 50))],
                8 => ["GETRANGE", Key(), I(r.Next(-10, 10)), I(r.Next(-10, 60))],
                9 => r.Next(2) == 0 ? ["GETEX", Key(), "PERSIST"] : ["GETEX", Key(), "EXAT", When()],
                10 => ["EXPIREAT", Key(), When()],
                11 or 12 => ["EXPIRETIME", Key()],
                13 => ["PERSIST", Key()],
                14 => ["RENAME", Key(), Key()],
                15 => ["RENAMENX", Key(), Key()],
                16 => r.Next(2) == 0 ? ["COPY", Key(), Key()] : ["COPY", Key(), Key(), "REPLACE"],
                17 => ["MOVE", Key(), "1"],
                18 => ["SWAPDB", "0", "1"],
                19 => ["GETDEL", Key()],
                20 => ["SETBIT", Key(), I(r.Next(0, 600)), I(r.Next(2))],
                21 => ["BITCOUNT", Key()],
                22 => ["PFADD", Key(), Value(), Value()],
                23 => ["PFCOUNT", Key()],
                24 => ["RPUSH", Key(), Value()],
                25 => ["HSET", Key(), "f" + r.Next(3), Value()],
                26 => ["OBJECT", "ENCODING", Key()],
                27 => ["TYPE", Key()],
                28 => ["STRLEN", Key()],
                _ => ["GET", Key()],
            };
        }, 4000, check: (oracle, subject, cinnabar) =>
        {
            // Both servers end with the same keys, values and deadlines in both databases.
            foreach (var db in new[] { "1", "0" })
            {
                Assert.Equal("+OK", oracle.CallS("SELECT", db));
                Assert.Equal("+OK", subject.CallS("SELECT", db));
                Assert.Equal(oracle.CallS("DBSIZE"), subject.CallS("DBSIZE"));
                for (int k = 1; k < 7; k++)
                {
                    string key = "k" + k, type = oracle.CallS("TYPE", key);
                    Assert.Equal(type, subject.CallS("TYPE", key));
                    Assert.Equal(oracle.CallS("EXPIRETIME", key), subject.CallS("EXPIRETIME", key));
                    if (type == "+string") Assert.Equal(oracle.CallS("GET", key), subject.CallS("GET", key));
                }
            }
            // The running memory total followed every reallocation (a write that forgot to account would show here).
            foreach (var db in cinnabar.Server.Databases.Take(2))
                Assert.Equal(Commands.LoopAccess.Run(cinnabar.Server, db.ComputeUsedMemory), Commands.LoopAccess.Run(cinnabar.Server, () => db.UsedMemory));
        });
    }
}
