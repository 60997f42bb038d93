// Stream DUMP payloads between redis-server 7.0.15 and Cinnabar: the same XADD/XDEL/XTRIM/XSETID
// history dumps to the same bytes on both (nodes, metadata), payloads restore both ways, a
// redis-server stream with consumer groups (PELs, consumers, claims) restores in Cinnabar and
// dumps back byte for byte, a 5.0-6.2 type-15 payload loads with the metadata Redis derives,
// corrupt payloads are "Bad data format" (as redis-server says with sanitize-dump-payload yes,
// where it checks them), and DEBUG DIGEST(-VALUE) of a stream is redis-server's.
using Cinnabar.DataTypes;
using Cinnabar.Tests.Support;
using static Cinnabar.Tests.Support.StreamHistories;

namespace Cinnabar.Tests.Interop;

[Collection(RedisServerCollection.Name)]
public class StreamDumpInteropTests(RedisServerFixture redis)
{
    public static TheoryData<string> Histories => new(Plain.Keys);

    [RequiresToolsTheory("redis-server")]
    [MemberData(nameof(Histories))]
    public void TheSameHistoryDumpsToTheSameBytes(string name)
    {
        using var cinnabar = new ServerFixture();
        using var r = redis.Connect();
        using var c = cinnabar.Connect();
        Build(r, name);
        Build(c, name);
        var payload = r.Call("DUMP", "s").Text!;
        Assert.Equal(payload, c.Call("DUMP", "s").Text);
        Assert.Equal(r.CallS("XRANGE", "s", "-", "+"), c.CallS("XRANGE", "s", "-", "+"));
        r.Call("DEL", "s");
    }

    [RequiresToolsTheory("redis-server")]
    [MemberData(nameof(Histories))]
    public void PayloadsRestoreBothWays(string name)
    {
        using var cinnabar = new ServerFixture();
        using var r = redis.Connect();
        using var c = cinnabar.Connect();
        Build(r, name);
        Build(c, name);
        string expected = XinfoFull(r, "s");

        // Cinnabar's payload in redis-server: the stream redis-server built itself.
        var fromCinnabar = c.Call("DUMP", "s").Text!;
        r.Call("DEL", "t");
        Assert.Equal("OK", r.Call("RESTORE", "t", "0", fromCinnabar).Text);
        Assert.Equal(expected, XinfoFull(r, "t"));

        // redis-server's payload in Cinnabar: the same entries, and the same bytes dumped back.
        var fromRedis = r.Call("DUMP", "s").Text!;
        Assert.Equal("OK", c.Call("RESTORE", "t", "0", fromRedis).Text);
        Assert.Equal(r.CallS("XRANGE", "s", "-", "+"), c.CallS("XRANGE", "t", "-", "+"));
        Assert.Equal(fromRedis, c.Call("DUMP", "t").Text);
        Assert.Equal("stream", c.Call("TYPE", "t").Text);
        r.Call("DEL", "s", "t");
    }

    [RequiresToolsFact("redis-server")]
    public void AStreamWithConsumerGroupsRestoresInCinnabarAndDumpsBackByteForByte()
    {
        using var cinnabar = new ServerFixture();
        using var r = redis.Connect();
        using var c = cinnabar.Connect();
        r.Call("DEL", "g", "g:empty");
        Run(r, Groups("g"));
        foreach (var key in new[] { "g", "g:empty" })
        {
            var payload = r.Call("DUMP", key).Text!;
            Assert.Equal("OK", c.Call("RESTORE", key, "0", payload).Text);
            Assert.Equal(payload, c.Call("DUMP", key).Text);
            Assert.Equal(r.CallS("XRANGE", key, "-", "+"), c.CallS("XRANGE", key, "-", "+"));

            // And back: Cinnabar's payload restores in redis-server to the same groups, PELs and consumers.
            r.Call("DEL", key + ":back");
            Assert.Equal("OK", r.Call("RESTORE", key + ":back", "0", c.Call("DUMP", key).Text!).Text);
            Assert.Equal(r.CallS("XINFO", "STREAM", key, "FULL"), r.CallS("XINFO", "STREAM", key + ":back", "FULL"));
        }
        // The restored groups are live: XREADGROUP delivers the next entries to a restored group.
        Assert.Equal(r.CallS("XREADGROUP", "GROUP", "g1", "bob", "STREAMS", "g", ">"),
            c.CallS("XREADGROUP", "GROUP", "g1", "bob", "STREAMS", "g", ">"));
        Assert.Equal(StreamPayload.MaskTimes(r.Call("DUMP", "g").Text!), StreamPayload.MaskTimes(c.Call("DUMP", "g").Text!));
        r.Call("DEL", "g", "g:empty", "g:back", "g:empty:back");
    }

    [RequiresToolsFact("redis-server")]
    public void MaskingSeenAndDeliveryTimesLeavesOnlyTheHistory()
    {
        // What a comparison of two servers running the same group history must mask: consumer
        // seen times and NACK delivery times are the wall clock when a command ran (XCLAIM TIME
        // fixes a delivery time, never a seen time). Two runs some milliseconds apart differ
        // exactly there.
        using var r = redis.Connect();
        r.Call("DEL", "m1", "m1:empty", "m2", "m2:empty");
        Run(r, Groups("m1"));
        Thread.Sleep(5);
        Run(r, Groups("m2"));
        var p1 = r.Call("DUMP", "m1").Text!;
        var p2 = r.Call("DUMP", "m2").Text!;
        Assert.NotEqual(p1, p2);
        Assert.Equal(StreamPayload.MaskTimes(p1), StreamPayload.MaskTimes(p2));
        r.Call("DEL", "m1", "m1:empty", "m2", "m2:empty");
    }

    [RequiresToolsFact("redis-server")]
    public void TheSameGroupHistoryDumpsToTheSameBytesBesidesTheTimes()
    {
        using var cinnabar = new ServerFixture();
        using var r = redis.Connect();
        using var c = cinnabar.Connect();
        r.Call("DEL", "h", "h:empty");
        Run(r, Groups("h"));
        Run(c, Groups("h"));
        foreach (var key in new[] { "h", "h:empty" })
            Assert.Equal(StreamPayload.MaskTimes(r.Call("DUMP", key).Text!), StreamPayload.MaskTimes(c.Call("DUMP", key).Text!));
        r.Call("DEL", "h", "h:empty");
    }

    [RequiresToolsFact("redis-server")]
    public void AType15PayloadLoadsWithTheMetadataRedisDerives()
    {
        // A 5.0-6.2 stream: no first ID, max deleted ID, entries added or group read counters. Both
        // servers derive them (first live entry, entries added = length, read counters estimated
        // from the group's last ID) and dump the result as type 19: the bytes must agree.
        using var cinnabar = new ServerFixture();
        using var r = redis.Connect();
        using var c = cinnabar.Connect();
        r.Call("DEL", "v", "v:empty");
        Run(r, Groups("v"));
        r.Call("XDEL", "v", "1-1"); // the first live entry is not the first node's first
        r.Call("XGROUP", "CREATE", "v", "at-first", "3-1");
        r.Call("XGROUP", "CREATE", "v", "at-last", "$");
        r.Call("XGROUP", "CREATE", "v", "before-first", "0-1");
        foreach (var key in new[] { "v", "v:empty" })
        {
            var v1 = StreamPayload.Parse(r.Call("DUMP", key).Text!).Serialize(v1: true);
            r.Call("DEL", key + ":v1");
            Assert.Equal("OK", r.Call("RESTORE", key + ":v1", "0", v1).Text);
            Assert.Equal("OK", c.Call("RESTORE", key + ":v1", "0", v1).Text);
            Assert.Equal(r.Call("DUMP", key + ":v1").Text, c.Call("DUMP", key + ":v1").Text);
        }
        r.Call("DEL", "v", "v:empty", "v:v1", "v:empty:v1");
    }

    // ------------------------------------------------------------------ corrupt payloads

    /// <summary>What redis-server 7.0.15 answers: refuses always, only with sanitize-dump-payload yes (deep checks), or loads it.</summary>
    public enum RedisVerdict { Refuses, RefusesWhenSanitizing, Accepts }

    /// <summary>name → (the corruption of the hand-built stream, what redis-server does with it). Cinnabar refuses them all.</summary>
    static readonly Dictionary<string, (Func<StreamPayload, string> Corrupt, RedisVerdict Redis)> Corruptions = new()
    {
        ["node-key-not-16-bytes"] = (p => With(p, q => q.Nodes[0] = q.Nodes[0] with { Key = q.Nodes[0].Key[..15] }), RedisVerdict.Refuses),
        ["empty-listpack"] = (p => With(p, q => q.Nodes[0] = q.Nodes[0] with { Listpack = StreamPayload.ListpackOf() }), RedisVerdict.Refuses),
        ["listpack-header-wrong-size"] = (p => With(p, q =>
        {
            var lp = (byte[])q.Nodes[0].Listpack.Clone();
            lp[0]++;
            q.Nodes[0] = q.Nodes[0] with { Listpack = lp };
        }), RedisVerdict.Refuses),
        ["master-entry-terminator-not-zero"] = (p => Node(p, 2L, 0L, 1L, "f", 1L, 2L, 0L, 0L, "a", 4L, 2L, 0L, 1L, "b", 4L), RedisVerdict.RefusesWhenSanitizing),
        ["lp-count-wrong"] = (p => Node(p, 2L, 0L, 1L, "f", 0L, 2L, 0L, 0L, "a", 5L, 2L, 0L, 1L, "b", 4L), RedisVerdict.RefusesWhenSanitizing),
        ["fewer-entries-than-counted"] = (p => Node(p, 3L, 0L, 1L, "f", 0L, 2L, 0L, 0L, "a", 4L, 2L, 0L, 1L, "b", 4L), RedisVerdict.RefusesWhenSanitizing),
        ["entry-fields-run-past-the-end"] = (p => Node(p, 2L, 0L, 1L, "f", 0L, 2L, 0L, 0L, "a", 4L, 0L, 0L, 1L, 3L, "x", "y", 8L), RedisVerdict.RefusesWhenSanitizing),
        ["flag-not-an-integer"] = (p => Node(p, 2L, 0L, 1L, "f", 0L, 2L, 0L, 0L, "a", 4L, "two", 0L, 1L, "b", 4L), RedisVerdict.RefusesWhenSanitizing),
        // Checks Redis does not make at all (it relies on them holding), which Cinnabar's code relies on too.
        ["ids-not-increasing"] = (p => Node(p, 2L, 0L, 1L, "f", 0L, 2L, 0L, 1L, "a", 4L, 2L, 0L, 0L, "b", 4L), RedisVerdict.Accepts),
        ["id-below-master"] = (p => Node(p, 2L, 0L, 1L, "f", 0L, 2L, 0L, 0L, "a", 4L, 2L, -1L, 1L, "b", 4L), RedisVerdict.Accepts),
        ["unknown-flag-bits"] = (p => Node(p, 2L, 0L, 1L, "f", 0L, 2L, 0L, 0L, "a", 4L, 6L, 0L, 1L, "b", 4L), RedisVerdict.Accepts),
        ["live-count-disagrees-with-flags"] = (p => Node(p, 2L, 0L, 1L, "f", 0L, 3L, 0L, 0L, "a", 4L, 2L, 0L, 1L, "b", 4L), RedisVerdict.Accepts),
        ["length-not-the-live-entries"] = (p => With(p, q => q.Length = 5), RedisVerdict.Accepts),
        ["last-id-below-the-last-entry"] = (p => With(p, q => q.LastId = new StreamId(1, 1)), RedisVerdict.Accepts),
        ["nodes-overlap"] = (p => With(p, q =>
        {
            q.Nodes.Add(new(StreamPayload.Key(1, 2), StreamPayload.ListpackOf(1L, 0L, 1L, "f", 0L, 2L, 0L, 0L, "c", 4L)));
            q.Length = 3;
        }), RedisVerdict.Accepts),
        ["duplicate-group"] = (p => With(p, q => q.Groups.Add(q.Groups[0])), RedisVerdict.Refuses),
        ["duplicate-group-pel-entry"] = (p => With(p, q => q.Groups[0].Pel.Add(q.Groups[0].Pel[0])), RedisVerdict.Refuses),
        ["duplicate-consumer"] = (p => With(p, q => q.Groups[0].Consumers.Add(q.Groups[0].Consumers[1])), RedisVerdict.Refuses),
        ["consumer-pel-entry-not-in-group-pel"] = (p => With(p, q => q.Groups[0].Consumers[1].Pel.Add(StreamPayload.Key(1, 2))), RedisVerdict.Refuses),
        ["group-pel-entry-without-consumer"] = (p => With(p, q => q.Groups[0].Consumers[0].Pel.Clear()), RedisVerdict.RefusesWhenSanitizing),
        ["pel-entry-owned-twice"] = (p => With(p, q => q.Groups[0].Consumers[1].Pel.Add(StreamPayload.Key(1, 1))), RedisVerdict.Refuses),
        ["truncated-in-groups"] = (p => StreamPayload.WithFooter(System.Text.Encoding.Latin1.GetBytes(p.Serialize())[..^14]), RedisVerdict.Refuses),
    };

    static string With(StreamPayload p, Action<StreamPayload> change)
    {
        change(p);
        return p.Serialize();
    }

    static string Node(StreamPayload p, params object[] elements) =>
        With(p, q => q.Nodes[0] = q.Nodes[0] with { Listpack = StreamPayload.ListpackOf(elements) });

    public static TheoryData<string> CorruptionNames => new(Corruptions.Keys);

    [Fact]
    public void TheHandBuiltStreamIsValid()
    {
        using var cinnabar = new ServerFixture();
        using var c = cinnabar.Connect();
        var payload = HandBuilt().Serialize();
        Assert.Equal("OK", c.Call("RESTORE", "k", "0", payload).Text);
        Assert.Equal(payload, c.Call("DUMP", "k").Text);
        Assert.Equal("*[*[\"1-1\", *[\"f\", \"a\"]], *[\"1-2\", *[\"f\", \"b\"]]]", c.CallS("XRANGE", "k", "-", "+"));
    }

    [RequiresToolsTheory("redis-server")]
    [MemberData(nameof(CorruptionNames))]
    public void ACorruptPayloadIsBadDataFormatAndChangesNothing(string name)
    {
        var (corrupt, verdict) = Corruptions[name];
        string payload = corrupt(HandBuilt());
        using var cinnabar = new ServerFixture();
        using var c = cinnabar.Connect();
        Assert.Equal("-ERR Bad data format", c.CallS("RESTORE", "k", "0", payload));
        Assert.Equal(0, c.Call("EXISTS", "k").Integer);
        c.Call("SET", "k", "kept");
        Assert.Equal("-ERR Bad data format", c.CallS("RESTORE", "k", "0", payload, "REPLACE"));
        Assert.Equal("kept", c.Call("GET", "k").Text);

        // redis-server: without sanitization (its default) and with it.
        using var r = redis.Connect();
        r.Call("DEL", "k");
        Assert.Equal(verdict == RedisVerdict.Refuses ? "-ERR Bad data format" : "+OK", r.CallS("RESTORE", "k", "0", payload));
        r.Call("DEL", "k");
        r.Call("CONFIG", "SET", "sanitize-dump-payload", "yes");
        try
        {
            Assert.Equal(verdict == RedisVerdict.Accepts ? "+OK" : "-ERR Bad data format", r.CallS("RESTORE", "k", "0", payload));
        }
        finally
        {
            r.Call("CONFIG", "SET", "sanitize-dump-payload", "no");
            r.Call("DEL", "k");
        }
    }

    // ------------------------------------------------------------------ digest

    [RequiresToolsFact("redis-server")]
    public void DigestsOfStreamsAreRedisServers()
    {
        using var cinnabar = new ServerFixture();
        using var r = redis.Connect();
        using var c = cinnabar.Connect();
        r.Call("FLUSHALL");
        foreach (var name in Plain.Keys)
        {
            Build(r, name);
            Build(c, name);
            Assert.Equal(r.CallS("DEBUG", "DIGEST-VALUE", "s"), c.CallS("DEBUG", "DIGEST-VALUE", "s"));
            r.Call("RENAME", "s", name);
            c.Call("RENAME", "s", name);
        }
        // Groups are not part of a stream's digest; a TTL is.
        Run(r, Groups("g"));
        foreach (var key in new[] { "g", "g:empty" }) c.Call("RESTORE", key, "0", r.Call("DUMP", key).Text!);
        r.Call("PEXPIRE", "g", "100000");
        c.Call("PEXPIRE", "g", "100000");
        Assert.Equal(r.CallS("DEBUG", "DIGEST-VALUE", "g", "g:empty"), c.CallS("DEBUG", "DIGEST-VALUE", "g", "g:empty"));
        Assert.Equal(r.CallS("DEBUG", "DIGEST"), c.CallS("DEBUG", "DIGEST"));
        r.Call("FLUSHALL");
    }
}
