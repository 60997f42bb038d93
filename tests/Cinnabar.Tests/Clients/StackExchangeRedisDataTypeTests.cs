// The data types as an application uses them through StackExchange.Redis's IDatabase: strings,
// hashes, lists, sets and sorted sets, each checked by the values that come back, on Cinnabar
// and on redis-server 7.0.15 alike.
using Cinnabar.Tests.Support;
using StackExchange.Redis;

namespace Cinnabar.Tests.Clients;

public sealed class StackExchangeRedisDataTypeTests(ClientTargets targets) : IClassFixture<ClientTargets>
{
    [RequiresToolsTheory("redis-server"), Targets]
    public void Strings_set_get_append_and_count(Target target)
    {
        var db = targets.EmptyDatabase(target);
        Assert.True(db.StringSet("greeting", "hello"));
        Assert.False(db.StringSet("greeting", "other", when: When.NotExists));
        Assert.Equal(10, db.StringAppend("greeting", "world"));
        Assert.Equal("helloworld", db.StringGet("greeting"));
        Assert.Equal("llowo", db.StringGetRange("greeting", 2, 6));
        Assert.Equal(10, db.StringLength("greeting"));
        Assert.Equal("helloworld", db.StringGetSet("greeting", "bye"));
        Assert.Equal("bye", db.StringGetDelete("greeting"));
        Assert.True(db.StringGet("greeting").IsNull);

        Assert.Equal(5, db.StringIncrement("counter", 5));
        Assert.Equal(3, db.StringDecrement("counter", 2));
        Assert.Equal(4.5, db.StringIncrement("counter", 1.5));
        Assert.Equal(3, db.StringSetRange("range", 0, "abc"));
        Assert.Equal(3, db.StringBitCount("range", 0, 0));

        Assert.True(db.StringSet([new("a", "1"), new("b", "2")]));
        Assert.False(db.StringSet([new("b", "3"), new("c", "3")], When.NotExists));
        Assert.Equal(["1", "2", null], db.StringGet(["a", "b", "c"]).Select(v => (string?)v));
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public void Strings_keep_binary_values_intact(Target target)
    {
        var db = targets.EmptyDatabase(target);
        byte[] value = [0, 1, 2, 13, 10, 255, 128, 0];
        Assert.True(db.StringSet("bytes", value));
        Assert.Equal(value, (byte[]?)db.StringGet("bytes"));
        var large = new string('x', 100_000);
        Assert.True(db.StringSet("large", large));
        Assert.Equal(large, db.StringGet("large"));
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public void Hashes_set_get_increment_and_scan(Target target)
    {
        var db = targets.EmptyDatabase(target);
        db.HashSet("user", [new("name", "ada"), new("born", "1815")]);
        Assert.True(db.HashSet("user", "lang", "analytical"));
        Assert.False(db.HashSet("user", "lang", "other", When.NotExists));
        Assert.Equal("ada", db.HashGet("user", "name"));
        Assert.Equal(["ada", null], db.HashGet("user", ["name", "missing"]).Select(v => (string?)v));
        Assert.Equal(1852, db.HashIncrement("user", "born", 37));
        Assert.Equal(0.5, db.HashIncrement("user", "ratio", 0.5));
        Assert.Equal(4, db.HashLength("user"));
        Assert.True(db.HashExists("user", "ratio"));
        Assert.Equal(10, db.HashStringLength("user", "lang"));
        Assert.True(db.HashDelete("user", "ratio"));
        Assert.False(db.HashDelete("user", "ratio"));

        var all = db.HashGetAll("user").ToDictionary(e => (string)e.Name!, e => (string?)e.Value);
        Assert.Equal(new Dictionary<string, string?> { ["name"] = "ada", ["born"] = "1852", ["lang"] = "analytical" }, all);
        Assert.Equal(["born", "lang", "name"], db.HashKeys("user").Select(k => (string)k!).Order());
        Assert.Equal(["1852", "ada", "analytical"], db.HashValues("user").Select(k => (string)k!).Order());

        for (int i = 0; i < 300; i++) db.HashSet("wide", "field" + i, i);
        var scanned = db.HashScan("wide", "field1*", pageSize: 20).Select(e => (string)e.Name!).ToList();
        Assert.Equal(111, scanned.Count); // field1, field10-19, field100-199
        Assert.Equal(scanned.Count, scanned.Distinct().Count());
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public void Lists_push_pop_range_and_move(Target target)
    {
        var db = targets.EmptyDatabase(target);
        Assert.Equal(3, db.ListRightPush("list", ["b", "c", "d"]));
        Assert.Equal(4, db.ListLeftPush("list", "a"));
        Assert.Equal(["a", "b", "c", "d"], db.ListRange("list").Select(v => (string?)v));
        Assert.Equal(["b", "c"], db.ListRange("list", 1, 2).Select(v => (string?)v));
        Assert.Equal("c", db.ListGetByIndex("list", -2));
        Assert.Equal(5, db.ListInsertAfter("list", "b", "b2"));
        Assert.Equal(-1, db.ListInsertBefore("list", "missing", "x"));
        db.ListSetByIndex("list", 0, "A");
        Assert.Equal(1, db.ListRemove("list", "b2"));
        Assert.Equal(2, db.ListPosition("list", "c"));
        Assert.Equal("A", db.ListLeftPop("list"));
        Assert.Equal(["d", "c"], db.ListRightPop("list", 2).Select(v => (string?)v));
        Assert.Equal(1, db.ListLength("list"));

        db.ListRightPush("source", ["1", "2", "3"]);
        Assert.Equal("1", db.ListMove("source", "dest", ListSide.Left, ListSide.Right));
        Assert.Equal("3", db.ListRightPopLeftPush("source", "dest"));
        Assert.Equal(["3", "1"], db.ListRange("dest").Select(v => (string?)v));
        Assert.Equal(["2"], db.ListRange("source").Select(v => (string?)v));
        db.ListRightPush("trim", ["a", "b", "c", "d", "e"]);
        db.ListTrim("trim", 1, -2);
        Assert.Equal(["b", "c", "d"], db.ListRange("trim").Select(v => (string?)v));

        var popped = db.ListLeftPop(["empty", "trim"], 2);
        Assert.Equal("trim", popped.Key);
        Assert.Equal(["b", "c"], popped.Values.Select(v => (string?)v));
        Assert.True(db.ListLeftPop("empty").IsNull);
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public void Sets_add_remove_and_combine(Target target)
    {
        var db = targets.EmptyDatabase(target);
        Assert.Equal(4, db.SetAdd("odd", ["1", "3", "5", "7"]));
        Assert.Equal(3, db.SetAdd("prime", ["2", "3", "5"]));
        Assert.False(db.SetAdd("prime", "3"));
        Assert.True(db.SetAdd("prime", "7"));
        Assert.True(db.SetContains("odd", "5"));
        Assert.Equal([true, false], db.SetContains("odd", ["7", "8"]));
        Assert.Equal(4, db.SetLength("odd"));

        Assert.Equal(["3", "5", "7"], Sorted(db.SetCombine(SetOperation.Intersect, "odd", "prime")));
        Assert.Equal(["1", "2", "3", "5", "7"], Sorted(db.SetCombine(SetOperation.Union, "odd", "prime")));
        Assert.Equal(["1"], Sorted(db.SetCombine(SetOperation.Difference, "odd", "prime")));
        Assert.Equal(3, db.SetCombineAndStore(SetOperation.Intersect, "both", "odd", "prime"));
        Assert.Equal(3, db.SetIntersectionLength(["odd", "prime"]));
        Assert.Equal(2, db.SetIntersectionLength(["odd", "prime"], limit: 2));

        Assert.True(db.SetMove("odd", "prime", "1"));
        Assert.Equal(["1", "2", "3", "5", "7"], Sorted(db.SetMembers("prime")));
        Assert.Equal(2, db.SetRemove("prime", ["1", "2", "99"]));
        var popped = db.SetPop("both");
        Assert.Contains((string?)popped, new[] { "3", "5", "7" });
        Assert.Equal(2, db.SetLength("both"));
        Assert.Equal(3, db.SetRandomMembers("prime", 10).Length);
        Assert.Equal(["5", "7"], db.SetScan("odd", "[57]", pageSize: 1).Select(v => (string)v!).Order());
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public void Sorted_sets_score_rank_and_range(Target target)
    {
        var db = targets.EmptyDatabase(target);
        Assert.Equal(4, db.SortedSetAdd("board", [new("ann", 10), new("bob", 20), new("cid", 15), new("dan", -1.5)]));
        Assert.False(db.SortedSetAdd("board", "ann", 12));
        Assert.False(db.SortedSetAdd("board", "bob", 5, SortedSetWhen.GreaterThan));
        Assert.Equal(12, db.SortedSetScore("board", "ann"));
        Assert.Null(db.SortedSetScore("board", "zed"));
        Assert.Equal([12.0, null], db.SortedSetScores("board", ["ann", "zed"]));
        Assert.Equal(22, db.SortedSetIncrement("board", "ann", 10));
        Assert.Equal(3, db.SortedSetRank("board", "ann"));
        Assert.Equal(0, db.SortedSetRank("board", "ann", Order.Descending));

        Assert.Equal(["dan", "cid", "bob", "ann"], db.SortedSetRangeByRank("board").Select(v => (string?)v));
        Assert.Equal(
            [("ann", 22.0), ("bob", 20.0)],
            db.SortedSetRangeByRankWithScores("board", 0, 1, Order.Descending).Select(e => ((string)e.Element!, e.Score)));
        Assert.Equal(["cid", "bob"], db.SortedSetRangeByScore("board", 15, 20).Select(v => (string?)v));
        Assert.Equal(["bob"], db.SortedSetRangeByScore("board", 15, 20, Exclude.Start).Select(v => (string?)v));
        Assert.Equal(1, db.SortedSetLength("board", 0, 20, Exclude.Stop));
        Assert.Equal(2, db.SortedSetRangeAndStore("board", "copy", 1, 2));
        Assert.Equal(["cid", "bob"], db.SortedSetRangeByRank("copy").Select(v => (string?)v));

        db.SortedSetAdd("lex", [new("a", 0), new("b", 0), new("c", 0), new("d", 0)]);
        Assert.Equal(["b", "c"], db.SortedSetRangeByValue("lex", "b", "c").Select(v => (string?)v));
        Assert.Equal(3, db.SortedSetLengthByValue("lex", "b", default(RedisValue)));
        Assert.Equal(2, db.SortedSetRemoveRangeByValue("lex", "a", "b"));

        var lowest = db.SortedSetPop("board", 2);
        Assert.Equal([("dan", -1.5), ("cid", 15.0)], lowest.Select(e => ((string)e.Element!, e.Score)));
        Assert.Equal(["bob"], db.SortedSetCombine(SetOperation.Intersect, ["board", "copy"]).Select(v => (string?)v));
        Assert.Equal(1, db.SortedSetRemoveRangeByScore("board", 20, 20));
        Assert.Equal(1, db.SortedSetRemoveRangeByRank("board", 0, 0));
        Assert.Equal(0, db.SortedSetLength("board"));
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public void Bitmaps_hyperloglogs_and_geo_answer_as_redis_does(Target target)
    {
        var db = targets.EmptyDatabase(target);
        Assert.False(db.StringSetBit("bits", 7, true));
        Assert.False(db.StringSetBit("bits", 12, true));
        Assert.True(db.StringGetBit("bits", 7));
        Assert.Equal(2, db.StringBitCount("bits"));
        Assert.Equal(12, db.StringBitPosition("bits", true, 1));
        db.StringSet("mask", new byte[] { 0xff, 0x00 });
        Assert.Equal(2, db.StringBitOperation(Bitwise.And, "and", ["bits", "mask"]));
        Assert.Equal(new byte[] { 0x01, 0x00 }, (byte[]?)db.StringGet("and"));

        Assert.True(db.HyperLogLogAdd("visitors", [.. Enumerable.Range(0, 1000).Select(i => (RedisValue)("u" + i))]));
        Assert.False(db.HyperLogLogAdd("visitors", "u1"));
        long estimate = db.HyperLogLogLength("visitors");
        Assert.InRange(estimate, 980, 1020);
        db.HyperLogLogAdd("more", [.. Enumerable.Range(500, 1000).Select(i => (RedisValue)("u" + i))]);
        db.HyperLogLogMerge("all", "visitors", "more");
        Assert.InRange(db.HyperLogLogLength("all"), 1470, 1530);

        Assert.Equal(3, db.GeoAdd("cities", [new(2.3522, 48.8566, "paris"), new(-0.1276, 51.5072, "london"), new(13.4050, 52.5200, "berlin")]));
        Assert.InRange(db.GeoDistance("cities", "paris", "london", GeoUnit.Kilometers)!.Value, 340, 345);
        var paris = db.GeoPosition("cities", "paris")!.Value;
        Assert.Equal((2.3522, 48.8566), (Math.Round(paris.Longitude, 4), Math.Round(paris.Latitude, 4)));
        Assert.Equal("u09tvw0f640", db.GeoHash("cities", "paris"));
        var near = db.GeoSearch("cities", "paris", new GeoSearchCircle(1000, GeoUnit.Kilometers), order: Order.Ascending, options: GeoRadiusOptions.WithDistance);
        Assert.Equal(["paris", "london", "berlin"], near.Select(r => (string)r.Member!));
        Assert.Equal(0, near[0].Distance);
        Assert.Null(db.GeoDistance("cities", "paris", "nowhere"));

        db.StringSet([new("lcs1", "ohmytext"), new("lcs2", "mynewtext")]);
        Assert.Equal("mytext", db.StringLongestCommonSubsequence("lcs1", "lcs2"));
        Assert.Equal(6, db.StringLongestCommonSubsequenceLength("lcs1", "lcs2"));
    }

    static string[] Sorted(RedisValue[] values) => [.. values.Select(v => (string)v!).Order()];
}
