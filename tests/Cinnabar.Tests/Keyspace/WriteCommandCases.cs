// The write commands the write-scope tests run: each case is a setup (on a flushed server) and
// one command, with the keys whose old values the command changes or removes ("1/k" is key k
// of db 1). The copy-on-write test checks the pre-write hook saw those keys' old values; the
// dirty-count test compares the command's rdb_changes_since_last_save delta with redis-server's,
// including the cases that change nothing (no keys). "$DUMP:key" in a command is replaced by
// DUMP of key taken on the same server after the setup.
namespace Cinnabar.Tests.Keyspace;

public sealed record WriteCommandCase(string Name, string[][] Setup, string[] Command, string[] Keys);

public static class WriteCommandCases
{
    static WriteCommandCase C(string name, string setup, string command, params string[] keys) =>
        new(name, setup.Length == 0 ? [] : setup.Split(';').Select(s => Words(s.Trim())).ToArray(), Words(command), keys);

    /// <summary>Words split on spaces; "" stands for an empty argument.</summary>
    static string[] Words(string s) => s.Split(' ').Select(w => w == "\"\"" ? "" : w).ToArray();

    static string Many(string prefix, int n) => string.Join(' ', Enumerable.Range(0, n).Select(i => prefix + i));

    public static readonly WriteCommandCase[] All =
    [
        // strings
        C("SET over a string", "SET k hello", "SET k world2", "k"),
        C("SET in place, same length", "SET k hello", "SET k jelly", "k"),
        C("SET in place, int over int", "SET k 12", "SET k 99", "k"),
        C("SET over a list", "RPUSH k a b", "SET k v", "k"),
        C("SET KEEPTTL", "SET k v EX 100", "SET k w KEEPTTL", "k"),
        C("SET EX over a string", "SET k v", "SET k w EX 100", "k"),
        C("SETEX", "SET k v", "SETEX k 100 w", "k"),
        C("SETRANGE inside", "SET k hello", "SETRANGE k 1 EL", "k"),
        C("SETRANGE growing", "SET k hello", "SETRANGE k 10 x", "k"),
        C("SETRANGE on an int", "SET k 1234", "SETRANGE k 1 9", "k"),
        C("APPEND", "SET k hello", "APPEND k world", "k"),
        C("APPEND to an int", "SET k 12", "APPEND k 3", "k"),
        C("INCR int-encoded", "SET k 41", "INCR k", "k"),
        C("INCR raw digits", "SETRANGE k 0 41", "INCR k", "k"),
        C("INCRBY", "SET k 10", "INCRBY k 5", "k"),
        C("DECR", "SET k 10", "DECR k", "k"),
        C("DECRBY", "SET k 10", "DECRBY k 3", "k"),
        C("INCRBYFLOAT", "SET k 1.5", "INCRBYFLOAT k 2.25", "k"),
        C("SETBIT changing a bit", "SET k a", "SETBIT k 7 0", "k"),
        C("SETBIT growing", "SET k a", "SETBIT k 100 1", "k"),
        C("BITFIELD SET", "SET k abc", "BITFIELD k SET u8 0 255", "k"),
        C("BITFIELD INCRBY", "SET k abc", "BITFIELD k INCRBY u8 8 1", "k"),
        C("BITFIELD growing with unchanged values", "SET k a", "BITFIELD k SET u8 100 0 SET u8 100 0", "k"),
        C("BITOP onto an existing key", "SET a abc; SET b bcd; SET d old", "BITOP AND d a b", "d"),
        C("BITOP of nothing deletes", "SET d old", "BITOP OR d nokey1 nokey2", "d"),
        C("GETSET", "SET k v", "GETSET k w", "k"),
        C("GETDEL", "SET k v", "GETDEL k", "k"),
        C("GETEX EX", "SET k v", "GETEX k EX 100", "k"),
        C("GETEX PERSIST", "SET k v EX 100", "GETEX k PERSIST", "k"),
        C("GETEX PXAT in the past", "SET k v", "GETEX k PXAT 1", "k"),
        C("MSET", "SET a 1; SET b 2", "MSET a x b y c z", "a", "b"),
        C("PFADD sparse", "PFADD h a b c", "PFADD h d e f", "h"),
        C("PFADD dense", "PFADD h " + Many("e", 3000), "PFADD h x1 x2 x3 x4 x5", "h"),
        C("PFADD sparse to dense", "PFADD h " + Many("e", 600), "PFADD h " + Many("f", 800), "h"),
        C("PFMERGE", "PFADD h a b; PFADD g c d", "PFMERGE h g", "h"),
        C("PFCOUNT writes its cache", "PFADD h a b c", "PFCOUNT h", "h"),
        // lists
        C("LPUSH", "RPUSH l a b c", "LPUSH l x y", "l"),
        C("RPUSH", "RPUSH l a b c", "RPUSH l x", "l"),
        C("LPUSHX", "RPUSH l a", "LPUSHX l x", "l"),
        C("LPOP", "RPUSH l a b c", "LPOP l", "l"),
        C("RPOP with count", "RPUSH l a b c", "RPOP l 2", "l"),
        C("LPOP of the last element", "RPUSH l a", "LPOP l", "l"),
        C("LSET", "RPUSH l a b c", "LSET l 1 x", "l"),
        C("LINSERT", "RPUSH l a b c", "LINSERT l BEFORE b x", "l"),
        C("LREM", "RPUSH l a b a c", "LREM l 0 a", "l"),
        C("LTRIM", "RPUSH l a b c d", "LTRIM l 1 2", "l"),
        C("LTRIM to nothing", "RPUSH l a b", "LTRIM l 5 10", "l"),
        C("LMOVE", "RPUSH l a b; RPUSH m x", "LMOVE l m LEFT RIGHT", "l", "m"),
        C("RPOPLPUSH rotating", "RPUSH l a b c", "RPOPLPUSH l l", "l"),
        C("LMPOP", "RPUSH l a b c", "LMPOP 1 l LEFT COUNT 2", "l"),
        C("BLPOP served at once", "RPUSH l a b", "BLPOP l 0", "l"),
        C("BLMOVE served at once", "RPUSH l a; RPUSH m b", "BLMOVE l m RIGHT LEFT 0", "l", "m"),
        // hashes
        C("HSET", "HSET h f v", "HSET h f w g x", "h"),
        C("HSET converting to hashtable", "HSET h f v", "HSET h g " + new string('x', 100), "h"),
        C("HSETNX", "HSET h f v", "HSETNX h g w", "h"),
        C("HDEL", "HSET h f v g w", "HDEL h f", "h"),
        C("HDEL of the last field", "HSET h f v", "HDEL h f", "h"),
        C("HINCRBY", "HSET h n 5", "HINCRBY h n 3", "h"),
        C("HINCRBYFLOAT", "HSET h n 5", "HINCRBYFLOAT h n 0.5", "h"),
        // sets
        C("SADD to an intset", "SADD s 1 2 3", "SADD s 4", "s"),
        C("SADD converting to hashtable", "SADD s 1 2 3", "SADD s x", "s"),
        C("SREM", "SADD s a b c", "SREM s a", "s"),
        C("SREM of the last member", "SADD s a", "SREM s a", "s"),
        C("SPOP", "SADD s a b c", "SPOP s", "s"),
        C("SPOP with count", "SADD s " + Many("m", 20), "SPOP s 3", "s"),
        C("SPOP with a count keeping few", "SADD s " + Many("m", 20), "SPOP s 18", "s"),
        C("SPOP of the whole set", "SADD s a b c", "SPOP s 10", "s"),
        C("SMOVE", "SADD s a b; SADD t c", "SMOVE s t a", "s", "t"),
        C("SINTERSTORE over a key", "SADD a 1 2 3; SADD b 2 3 4; SET d x", "SINTERSTORE d a b", "d"),
        C("SUNIONSTORE over a key", "SADD a 1 2; SADD b 3; SADD d 9", "SUNIONSTORE d a b", "d"),
        C("SDIFFSTORE empty deletes", "SADD a 1 2; SADD d 9", "SDIFFSTORE d a a", "d"),
        // sorted sets
        C("ZADD", "ZADD z 1 a 2 b", "ZADD z 3 c", "z"),
        C("ZADD updating a score", "ZADD z 1 a 2 b", "ZADD z 5 a", "z"),
        C("ZADD converting to skiplist", "ZADD z 1 a", "ZADD z 2 " + new string('m', 100), "z"),
        C("ZINCRBY", "ZADD z 1 a", "ZINCRBY z 2 a", "z"),
        C("ZREM", "ZADD z 1 a 2 b", "ZREM z a", "z"),
        C("ZREM of the last member", "ZADD z 1 a", "ZREM z a", "z"),
        C("ZPOPMIN", "ZADD z 1 a 2 b", "ZPOPMIN z", "z"),
        C("ZPOPMAX with count", "ZADD z 1 a 2 b 3 c", "ZPOPMAX z 2", "z"),
        C("ZREMRANGEBYSCORE", "ZADD z 1 a 2 b 3 c", "ZREMRANGEBYSCORE z 1 2", "z"),
        C("ZREMRANGEBYRANK", "ZADD z 1 a 2 b 3 c", "ZREMRANGEBYRANK z 0 0", "z"),
        C("ZUNIONSTORE over a key", "ZADD a 1 x; ZADD b 2 y; ZADD d 9 q", "ZUNIONSTORE d 2 a b", "d"),
        C("ZINTERSTORE empty deletes", "ZADD a 1 x; ZADD b 2 y; ZADD d 9 q", "ZINTERSTORE d 2 a b", "d"),
        C("ZRANGESTORE", "ZADD a 1 x 2 y; SET d v", "ZRANGESTORE d a 0 -1", "d"),
        C("BZPOPMIN served at once", "ZADD z 1 a 2 b", "BZPOPMIN z 0", "z"),
        C("GEOADD", "GEOADD g 13.361389 38.115556 Palermo", "GEOADD g 15.087269 37.502669 Catania", "g"),
        C("GEOSEARCHSTORE over a key", "GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania; SET d v",
            "GEOSEARCHSTORE d g FROMLONLAT 15 37 BYRADIUS 200 km", "d"),
        C("SORT STORE over a key", "RPUSH l 3 1 2; SET d v", "SORT l STORE d", "d"),
        // keyspace
        C("DEL", "SET a 1; RPUSH b x", "DEL a b nokey", "a", "b"),
        C("UNLINK", "SADD a 1", "UNLINK a", "a"),
        C("RENAME over an existing key", "SET a 1; HSET b f v", "RENAME a b", "a", "b"),
        C("RENAMENX", "RPUSH a x", "RENAMENX a b", "a"),
        C("MOVE", "SET a 1; SELECT 1; SET b 2; SELECT 0", "MOVE a 1", "a"),
        C("COPY REPLACE", "SET a 1; SET b 2", "COPY a b REPLACE", "b"),
        C("COPY to another db", "HSET a f v; SELECT 1; SET a 2; SELECT 0", "COPY a a DB 1 REPLACE", "1/a"),
        C("RESTORE REPLACE", "SET src payload; SET k old", "RESTORE k 0 $DUMP:src REPLACE", "k"),
        C("EXPIRE", "SET k v", "EXPIRE k 100", "k"),
        C("PEXPIRE over a TTL", "SET k v EX 100", "PEXPIRE k 5000", "k"),
        C("EXPIREAT in the past deletes", "SET k v", "EXPIREAT k 1", "k"),
        C("PERSIST", "SET k v EX 100", "PERSIST k", "k"),
        C("FLUSHDB", "SET a 1; RPUSH b x; SELECT 1; SET c 3; SELECT 0", "FLUSHDB", "a", "b"),
        C("FLUSHALL", "SET a 1; SELECT 1; SADD c 3; SELECT 0", "FLUSHALL", "a", "1/c"),
        C("SWAPDB", "SET a 1; SELECT 1; ZADD c 1 x; SELECT 0", "SWAPDB 0 1", "a", "1/c"),
        // changing nothing (dirty-count cases)
        C("SADD of a present member", "SADD s a", "SADD s a"),
        C("SREM of a missing member", "SADD s a", "SREM s b"),
        C("LREM that removes nothing", "RPUSH l a", "LREM l 0 b"),
        C("LINSERT without its pivot", "RPUSH l a", "LINSERT l BEFORE x y"),
        C("SETRANGE with an empty value", "SET k hello", "SETRANGE k 2 \"\""),
        C("SETBIT to the same bit", "SET k a", "SETBIT k 1 1"),
        C("HSETNX of a present field", "HSET h f v", "HSETNX h f w"),
        C("HDEL of a missing field", "HSET h f v", "HDEL h g"),
        C("ZADD NX of a present member", "ZADD z 1 a", "ZADD z NX 5 a"),
        C("ZREM of a missing member", "ZADD z 1 a", "ZREM z b"),
        C("PFADD of present elements", "PFADD h a b", "PFADD h a b"),
        C("PFCOUNT with a valid cache", "PFADD h a b; PFCOUNT h", "PFCOUNT h"),
        C("SMOVE to a set holding the member", "SADD s a; SADD t a", "SMOVE s t a"),
        C("SET NX of a present key", "SET k v", "SET k w NX"),
        C("DEL of missing keys", "", "DEL a b"),
        C("EXPIRE NX over a TTL", "SET k v EX 100", "EXPIRE k 200 NX"),
        C("PERSIST without a TTL", "SET k v", "PERSIST k"),
        C("BITFIELD OVERFLOW FAIL", "SET k a", "BITFIELD k OVERFLOW FAIL INCRBY u8 0 300"),
        C("BITFIELD SET and INCRBY leaving the value", "SET k a", "BITFIELD k SET u8 0 97 INCRBY u8 0 0"),
        C("LTRIM keeping everything", "RPUSH l a b", "LTRIM l 0 -1"),
        C("SINTERSTORE of nothing onto nothing", "", "SINTERSTORE d a b"),
        C("LPUSHX on a missing key", "", "LPUSHX l a"),
        C("RENAME onto itself", "SET a 1", "RENAME a a"),
        C("FLUSHDB of an empty db", "", "FLUSHDB"),
    ];

    public static WriteCommandCase Named(string name) => All.Single(c => c.Name == name);

    /// <summary>Theory data: the names of the cases that change keys.</summary>
    public static IEnumerable<object[]> WithKeys() => All.Where(c => c.Keys.Length > 0).Select(c => new object[] { c.Name });

    /// <summary>Theory data: the names of all cases.</summary>
    public static IEnumerable<object[]> Every() => All.Select(c => new object[] { c.Name });
}
