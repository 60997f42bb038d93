// With `maxmemory 100mb` the process must hold about 100 MB of data plus a bounded overhead,
// however much is written: 300 MB of 1 KB values go through the socket under allkeys-lru and
// the managed heap (after a full GC) and the working set are measured against the limit. This
// checks that the used-memory estimate tracks what the runtime really holds. It runs alone in the
// heap-measurement collection: GC.GetTotalMemory is process-wide, and other test classes' servers
// and clients would count in the delta (CI once measured 150 MB that way).
using System.Globalization;
using Cinnabar.Tests.Support;
using Xunit.Abstractions;

namespace Cinnabar.Tests.Keyspace;

[Collection(HeapMeasurementCollection.Name)]
public sealed class MaxmemoryFootprintTests(ITestOutputHelper output)
{
    const long Limit = 100L * 1024 * 1024;

    static long InfoField(RespClient c, string field)
    {
        foreach (var line in c.Call("INFO", "memory").Text!.Split("\r\n"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal)) return long.Parse(line[(field.Length + 1)..], CultureInfo.InvariantCulture);
        throw new InvalidOperationException(field);
    }

    [Fact]
    public void Maxmemory100MbHoldsTheHeapNearTheLimitAfter300MbOfWrites()
    {
        using var fx = new ServerFixture(cfg =>
        {
            cfg.Set("maxmemory", "100mb", startup: true);
            cfg.Set("maxmemory-policy", "allkeys-lru", startup: true);
        });
        using var c = fx.Connect();
        GC.Collect();
        long heapBefore = GC.GetTotalMemory(true);
        var value = new string('v', 1024);
        const int total = 300 * 1024; // 300 MB of values
        for (int i = 0; i < total; i += 100)
        {
            var buf = new List<byte>(110 * 1024);
            for (int j = i; j < i + 100; j++) buf.AddRange(RespClient.Encode("SET", "key:" + j, value));
            c.SendRaw(buf.ToArray());
            for (int j = 0; j < 100; j++) Assert.False(c.Read().IsError);
        }
        long used = InfoField(c, "used_memory");
        long keys = c.Call("DBSIZE").Integer;
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        long heap = GC.GetTotalMemory(true) - heapBefore;
        long workingSet = Environment.WorkingSet;
        output.WriteLine($"keys={keys} used_memory={used / 1048576.0:F1}MB heap_delta={heap / 1048576.0:F1}MB working_set={workingSet / 1048576.0:F1}MB");
        Assert.InRange(used, Limit - 1024 * 1024, Limit + 64 * 1024);
        Assert.InRange(keys, 80_000, 102_400);
        // The estimate is close to what the heap really holds: within 25% of the limit.
        Assert.InRange(heap, Limit * 3 / 4, Limit * 5 / 4);
    }
}
