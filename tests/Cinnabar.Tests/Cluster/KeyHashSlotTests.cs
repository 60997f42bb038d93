// The key-to-slot function against Redis's own figures: the CRC16 check value, the examples of the
// cluster specification (hash tags), and slots that `redis-cli cluster keyslot` printed for
// redis-server 7.0.15 with cluster-enabled, including binary, empty and long keys.
using System.Text;
using Cinnabar.Cluster;

namespace Cinnabar.Tests.Cluster;

public class KeyHashSlotTests
{
    static int Slot(string key) => KeyHashSlot.Of(Encoding.Latin1.GetBytes(key));

    [Fact]
    public void Crc16IsXmodemWithRedisCheckValue() => Assert.Equal(0x31C3, KeyHashSlot.Crc16("123456789"u8));

    [Fact]
    public void Crc16OfNothingIsZero() => Assert.Equal(0, KeyHashSlot.Crc16([]));

    [Fact]
    public void FooIsInSlot12182() => Assert.Equal(12182, Slot("foo"));

    [Fact]
    public void KeysWithTheSameHashTagShareASlot()
    {
        Assert.Equal(Slot("user1000"), Slot("{user1000}.following"));
        Assert.Equal(Slot("{user1000}.following"), Slot("{user1000}.followers"));
    }

    [Fact]
    public void AnEmptyTagHashesTheWholeKey() => Assert.Equal(KeyHashSlot.Crc16("foo{}{bar}"u8) & 16383, Slot("foo{}{bar}"));

    [Fact]
    public void TheTagEndsAtTheFirstClosingBrace() => Assert.Equal(Slot("{bar"), Slot("foo{{bar}}zap"));

    [Fact]
    public void OnlyTheFirstTagCounts() => Assert.Equal(Slot("bar"), Slot("foo{bar}{zap}"));

    [Theory]
    [InlineData("", 0)]
    [InlineData("a", 15495)]
    [InlineData("foo", 12182)]
    [InlineData("bar", 5061)]
    [InlineData("{user1000}.following", 3443)]
    [InlineData("{user1000}.followers", 3443)]
    [InlineData("foo{}{bar}", 8363)]
    [InlineData("foo{{bar}}zap", 4015)]
    [InlineData("foo{bar}{zap}", 5061)]
    [InlineData("{bar", 4015)]
    [InlineData("zap", 6469)]
    [InlineData("{", 4092)]
    [InlineData("}", 12090)]
    [InlineData("{}", 15257)]
    [InlineData("}{", 12793)]
    [InlineData("a{b}c", 3300)]
    [InlineData("{a}", 15495)]
    [InlineData("x{}", 2608)]
    [InlineData("{}x", 10595)]
    [InlineData("123456789", 12739)]
    [InlineData("abc{", 3048)]
    [InlineData("abc{d", 15757)]
    [InlineData("key:0", 2592)]
    [InlineData("key:1", 6657)]
    [InlineData("hello world", 15332)]
    [InlineData("{foo}x", 12182)]
    [InlineData("\xff\x00\x01", 8002)]
    public void SlotMatchesRedisServer(string key, int slot) => Assert.Equal(slot, Slot(key));

    [Fact]
    public void ALongKeyMatchesRedisServer() => Assert.Equal(15858, Slot(new string('k', 1000)));

    [Fact]
    public void EverySlotIsInRange()
    {
        var rng = new Random(7);
        var key = new byte[24];
        for (int i = 0; i < 10_000; i++)
        {
            rng.NextBytes(key);
            int slot = KeyHashSlot.Of(key.AsSpan(0, rng.Next(key.Length + 1)));
            Assert.InRange(slot, 0, KeyHashSlot.Slots - 1);
        }
    }

    [Fact]
    public void ComputingASlotAllocatesNothing()
    {
        var keys = new[] { "foo"u8.ToArray(), "{user1000}.following"u8.ToArray(), new byte[300] };
        int sink = 0;
        foreach (var k in keys) sink += KeyHashSlot.Of(k); // warm-up (JIT)
        // The least of a few attempts: tiered JIT's stubs may allocate once on this thread mid-run.
        long least = long.MaxValue;
        for (int attempt = 0; attempt < 5 && least > 0; attempt++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 10_000; i++) sink += KeyHashSlot.Of(keys[i % keys.Length]);
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.True(sink > 0);
        Assert.Equal(0, least);
    }
}
