// Key extraction on the hot paths (client tracking, ACL key checks, cluster routing) allocates
// nothing: KeySpecs.GetKeys reads the argument vector as slices of one buffer, as the query
// buffer holds it, and fills a reused GetKeysResult. Measured as HotPathAllocationTests does:
// GC.GetAllocatedBytesForCurrentThread over 10,000 extractions after a warm-up, least of five.
using System.Text;
using Cinnabar.Commands;
using Cinnabar.Protocol;

namespace Cinnabar.Tests.Performance;

public class KeyExtractionAllocationTests
{
    static readonly CommandTable Table = CommandTable.LoadDefault();

    static CommandArgs Slices(params string[] argv)
    {
        var buf = Encoding.UTF8.GetBytes(string.Concat(argv));
        var args = new CommandArgs();
        int off = 0;
        foreach (var a in argv)
        {
            args.Add(buf, off, a.Length);
            off += a.Length;
        }
        return args;
    }

    /// <summary>The bytes 10,000 extractions allocate (the least of five attempts, for tiered JIT's one-offs) and the keys found.</summary>
    static (long Allocated, string Keys) Measure(params string[] argv)
    {
        var cmd = Table.LookupAny(argv[0])!;
        var args = Slices(argv);
        var result = new GetKeysResult();
        for (int i = 0; i < 2000; i++) KeySpecs.GetKeys(cmd, args, result); // warm-up: JIT, parsed specs
        long least = long.MaxValue;
        for (int attempt = 0; attempt < 5 && least > 0; attempt++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 10_000; i++) KeySpecs.GetKeys(cmd, args, result);
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return (least, string.Join(",", result.Keys.ToArray().Select(k => argv[k.Pos])));
    }

    [Theory]
    [InlineData("k", "get", "k")]
    [InlineData("k", "set", "k", "v")]
    [InlineData("k", "set", "k", "v", "EX", "10", "GET")]
    [InlineData("a,b,c", "mset", "a", "1", "b", "2", "c", "3")]
    [InlineData("dst,a,b", "zunionstore", "dst", "2", "a", "b", "WEIGHTS", "1", "2")]
    [InlineData("l,out", "sort", "l", "BY", "w_*", "LIMIT", "0", "10", "GET", "#", "STORE", "out")]
    [InlineData("s1,s2", "xread", "COUNT", "2", "STREAMS", "s1", "s2", "0", "0")]
    public void KeyExtractionAllocatesNothing(string keys, params string[] argv)
    {
        var (allocated, found) = Measure(argv);
        Assert.Equal(keys, found);
        Assert.Equal(0, allocated);
    }
}
