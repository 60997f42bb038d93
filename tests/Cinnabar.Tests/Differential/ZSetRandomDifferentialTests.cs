// Randomized differential tests for sorted sets and geo: thousands of random commands (adds with
// every flag, removals, rank/score ranges, pops, set algebra, stores, long members forcing the
// skiplist; geo searches around random points at every scale) run against redis-server 7.0 and
// Cinnabar, and every reply must be identical. The seed is printed so a failure can be replayed.
using System.Globalization;
using Cinnabar.Tests.Support;
using Xunit.Abstractions;

namespace Cinnabar.Tests.Differential;

[Collection(RedisServerCollection.Name)]
public class ZSetRandomDifferentialTests(RedisServerFixture redis, ITestOutputHelper output)
{
    static string I(double d) => d.ToString(CultureInfo.InvariantCulture);

    [RequiresToolsFact("redis-server")]
    public void RandomSortedSetCommandsMatchRedis()
    {
        static string Member(Random r) => r.Next(10) == 0 ? new string('x', r.Next(60, 70)) : "m" + r.Next(300);
        static string Bound(Random r) => r.Next(4) switch { 0 => "-inf", 1 => "+inf", 2 => I(r.Next(-5, 50)), _ => "(" + r.Next(-5, 50) };
        RandomDifferential.Run(redis, output, Environment.TickCount, r =>
        {
            string k = "z" + r.Next(1, 4);
            if (r.Next(3) == 0)
            {
                var add = new List<string> { "ZADD", k };
                add.AddRange(r.Next(6) switch { 0 => ["NX"], 1 => ["XX"], 2 => ["GT", "CH"], 3 => ["LT"], _ => [] });
                for (int n = r.Next(1, 8); n > 0; n--) add.AddRange([I(r.Next(0, 160) / 4.0), Member(r)]);
                return add.ToArray();
            }
            return r.Next(20) switch
            {
                0 => ["ZREM", k, Member(r), Member(r)],
                1 => ["ZINCRBY", k, I(r.Next(-3, 4)), Member(r)],
                2 => ["ZRANK", k, Member(r)],
                3 => ["ZREVRANK", k, Member(r)],
                4 => ["ZRANGE", k, I(r.Next(-20, 20)), I(r.Next(-20, 20)), "WITHSCORES"],
                5 => ["ZRANGE", k, Bound(r), Bound(r), "BYSCORE", "LIMIT", I(r.Next(0, 5)), I(r.Next(-1, 10))],
                6 => ["ZREVRANGEBYSCORE", k, Bound(r), Bound(r), "WITHSCORES"],
                7 => ["ZCOUNT", k, Bound(r), Bound(r)],
                8 => ["ZREMRANGEBYRANK", k, I(r.Next(-10, 10)), I(r.Next(-10, 10))],
                9 => ["ZREMRANGEBYSCORE", k, Bound(r), Bound(r)],
                10 => ["ZPOPMIN", k, I(r.Next(0, 4))],
                11 => ["ZPOPMAX", k],
                12 => ["ZUNIONSTORE", "z3", "2", "z1", "z2", "WEIGHTS", "1", "2"],
                13 => ["ZINTER", "2", "z1", "z2", "WITHSCORES", "AGGREGATE", "MAX"],
                14 => ["ZDIFF", "2", "z1", "z2"],
                15 => ["ZINTERCARD", "2", "z1", "z2", "LIMIT", I(r.Next(0, 5))],
                16 => ["ZRANGESTORE", "z3", k, "0", I(r.Next(0, 200))],
                17 => ["OBJECT", "ENCODING", k],
                18 => ["ZMSCORE", k, Member(r), Member(r)],
                _ => ["ZMPOP", "2", k, "z2", r.Next(2) == 0 ? "MIN" : "MAX", "COUNT", I(r.Next(1, 4))],
            };
        }, 3000);
    }

    [RequiresToolsFact("redis-server")]
    public void RandomGeoSearchesMatchRedis()
    {
        int seed = Environment.TickCount;
        var layout = new Random(seed);
        double cx = layout.NextDouble() * 358 - 179, cy = layout.NextDouble() * 168 - 84;
        double spread = new[] { 0.01, 0.1, 1, 5, 30 }[layout.Next(5)];
        string X(Random r) => I(Math.Round(Math.Clamp(cx + (r.NextDouble() * 2 - 1) * spread, -180, 180), 5));
        string Y(Random r) => I(Math.Round(Math.Clamp(cy + (r.NextDouble() * 2 - 1) * spread, -85, 85), 5));
        // Distinct coordinates, so no two members tie on distance (their order would be qsort's).
        var add = new List<string> { "GEOADD", "g" };
        var seen = new HashSet<string>();
        for (int i = 0; i < 150;)
        {
            string x = X(layout), y = Y(layout);
            if (seen.Add(x + "," + y)) add.AddRange([x, y, "p" + i++]);
        }
        RandomDifferential.Run(redis, output, seed, r =>
        {
            string unit = new[] { "m", "km", "mi", "ft" }[r.Next(4)];
            string radius = I(new[] { 1, 10, 100, 1000, 5000, 50000, 500000 }[r.Next(7)] * r.NextDouble());
            return r.Next(7) switch
            {
                0 => ["GEOSEARCH", "g", "FROMLONLAT", X(r), Y(r), "BYRADIUS", radius, unit, "WITHDIST", "WITHCOORD", "WITHHASH"],
                1 => ["GEOSEARCH", "g", "FROMLONLAT", X(r), Y(r), "BYBOX", radius, radius, unit, "ASC", "WITHDIST"],
                2 => ["GEORADIUS", "g", X(r), Y(r), radius, unit, "COUNT", "3", "WITHDIST"],
                3 => ["GEOSEARCH", "g", "FROMMEMBER", "p" + r.Next(150), "BYRADIUS", radius, unit, "DESC"],
                4 => ["GEOSEARCH", "g", "FROMLONLAT", X(r), Y(r), "BYRADIUS", radius, unit, "COUNT", "2", "ANY"],
                5 => ["GEODIST", "g", "p" + r.Next(150), "p" + r.Next(150), unit],
                _ => ["GEOPOS", "g", "p" + r.Next(150), "p" + r.Next(150)],
            };
        }, 600, prepare: c => Assert.Equal(":150", c.CallS(add.ToArray())));
    }
}
