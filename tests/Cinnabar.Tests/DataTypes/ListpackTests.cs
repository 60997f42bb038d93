// Listpack: Redis's exact bytes for a known vector (taken from redis-server 7.0's DUMP of a
// small hash) and a randomized model test against a List<byte[]> over every operation.
using System.Text;
using Cinnabar.DataTypes;

namespace Cinnabar.Tests.DataTypes;

public class ListpackTests
{
    static byte[] B(string s) => Encoding.Latin1.GetBytes(s);

    [Fact]
    public void BytesMatchRedisForMixedStringsAndIntegers()
    {
        var lp = new Listpack();
        foreach (var s in new[] { "a", "1", "bb", "-5000", "c", "100000", "d", "4294967296", "e", "127" }) lp.Append(B(s));
        var expected = Convert.FromHexString("2E0000000A00816102010182626203F178EC03816302F2A0860104816402F40000000001000000098165027F01FF");
        Assert.Equal(expected, lp.ToArray());
        Assert.True(Listpack.Validate(lp.Bytes));
    }

    [Theory]
    [InlineData("0", true)]
    [InlineData("-1", true)]
    [InlineData("-4096", true)]
    [InlineData("9223372036854775807", true)]
    [InlineData("-9223372036854775808", true)]
    [InlineData("9223372036854775808", false)]
    [InlineData("007", false)]
    [InlineData("-0", false)]
    [InlineData("+1", false)]
    [InlineData(" 1", false)]
    [InlineData("", false)]
    public void CanonicalIntegerStringsAreStoredAsIntegers(string s, bool asInt)
    {
        var lp = new Listpack();
        int p = lp.Append(B(s));
        bool isStr = lp.Get(p, out var str, out long v);
        Assert.Equal(!asInt, isStr);
        Assert.Equal(s, asInt ? v.ToString(System.Globalization.CultureInfo.InvariantCulture) : Encoding.Latin1.GetString(str));
    }

    [Fact]
    public void LongStringsUse12And32BitLengths()
    {
        var lp = new Listpack();
        var s1 = new string('x', 4095);
        var s2 = new string('y', 70000);
        lp.Append(B(s1));
        lp.Append(B(s2));
        Assert.Equal(s2, Encoding.Latin1.GetString(lp.GetBytes(lp.Last())));
        Assert.Equal(s1, Encoding.Latin1.GetString(lp.GetBytes(lp.Prev(lp.Last()))));
        Assert.True(Listpack.Validate(lp.Bytes));
    }

    [Fact]
    public void CountAbove65535IsTrackedAndHeaderSaysUnknown()
    {
        var lp = new Listpack();
        for (int i = 0; i < 70000; i++) lp.Append(B("7"));
        Assert.Equal(70000, lp.Count);
        Assert.Equal(0xFF, lp.Bytes[4]);
        Assert.Equal(0xFF, lp.Bytes[5]);
        Assert.Equal(70000, new Listpack(lp.ToArray()).Count);
    }

    [Fact]
    public void CountBackBelow65535IsWrittenToTheHeaderAgainWhenCounted()
    {
        var lp = new Listpack();
        for (int i = 0; i < 65536; i++) lp.Append(B("7"));
        for (int i = 0; i < 11; i++) lp.Delete(lp.First());
        // lpDelete leaves an unknown count unknown; lpLength counts and stores it once it fits.
        Assert.Equal(0xFFFF, BitConverter.ToUInt16(lp.Bytes[4..6]));
        Assert.Equal(65525, lp.Count);
        Assert.Equal(65525, BitConverter.ToUInt16(lp.Bytes[4..6]));
    }

    [Fact]
    public void GrowingMutationsMoveToANewArrayThatTheOwnerStoresBack()
    {
        var lp = new Listpack();
        var before = lp.Buf;
        lp.Append(B("a value that does not fit in seven bytes"));
        Assert.NotSame(before, lp.Buf);
        Assert.Equal(1, new Listpack(lp.Buf).Count);
    }

    static string RandomValue(Random r)
    {
        switch (r.Next(10))
        {
            case 0: return r.Next(0, 128).ToString(System.Globalization.CultureInfo.InvariantCulture);
            case 1: return r.Next(-5000, 5000).ToString(System.Globalization.CultureInfo.InvariantCulture);
            case 2: return r.Next(-9000000, 9000000).ToString(System.Globalization.CultureInfo.InvariantCulture);
            case 3: return r.NextInt64(long.MinValue, long.MaxValue).ToString(System.Globalization.CultureInfo.InvariantCulture);
            case 4: return "0" + r.Next(100);
            case 5: return new string((char)('a' + r.Next(26)), r.Next(0, 64));
            case 6: return new string('m', r.Next(64, 300));
            case 7: return r.Next(50) == 0 ? new string('L', r.Next(4096, 20000)) : "x";
            case 8: return "-0";
            default: return r.Next(int.MinValue, int.MaxValue).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    [Fact]
    public void RandomizedOperationsMatchModel()
    {
        int seed = Environment.TickCount;
        try
        {
            RunModel(seed, 6000);
        }
        catch (Exception e)
        {
            throw new Xunit.Sdk.XunitException($"listpack model failed with seed {seed}: {e}");
        }
    }

    static void RunModel(int seed, int steps)
    {
        var r = new Random(seed);
        var lp = new Listpack();
        var model = new List<string>();
        for (int step = 0; step < steps; step++)
        {
            string v = RandomValue(r);
            int op = r.Next(9);
            if (model.Count > 200 && op < 4) op = 5; // keep it bounded
            switch (op)
            {
                case 0: lp.Append(B(v)); model.Add(v); break;
                case 1: lp.Prepend(B(v)); model.Insert(0, v); break;
                case 2 when model.Count > 0:
                    {
                        int i = r.Next(model.Count);
                        bool after = r.Next(2) == 0;
                        int p = lp.Insert(B(v), lp.Seek(i), after ? Listpack.Where.After : Listpack.Where.Before);
                        model.Insert(after ? i + 1 : i, v);
                        Assert.Equal(v, Encoding.Latin1.GetString(lp.GetBytes(p)));
                        break;
                    }
                case 3 when model.Count > 0:
                    {
                        int i = r.Next(model.Count);
                        lp.Replace(lp.Seek(i - (r.Next(2) == 0 ? 0 : model.Count)), B(v));
                        model[i] = v;
                        break;
                    }
                case 4 when model.Count > 0:
                case 5 when model.Count > 0:
                    {
                        int i = r.Next(model.Count);
                        int next = lp.Delete(lp.Seek(i));
                        model.RemoveAt(i);
                        Assert.Equal(i < model.Count ? lp.Seek(i) : -1, next);
                        break;
                    }
                case 6 when model.Count > 0:
                    {
                        int i = r.Next(model.Count);
                        int n = r.Next(1, 10);
                        bool neg = r.Next(2) == 0;
                        lp.DeleteRange(neg ? i - model.Count : i, n);
                        model.RemoveRange(i, Math.Min(n, model.Count - i));
                        break;
                    }
                case 7 when model.Count > 0:
                    {
                        string needle = r.Next(2) == 0 ? model[r.Next(model.Count)] : v;
                        int p = lp.Find(lp.First(), B(needle));
                        int expect = model.IndexOf(needle);
                        Assert.Equal(expect < 0 ? -1 : lp.Seek(expect), p);
                        break;
                    }
                default:
                    Assert.Equal(-1, lp.Seek(model.Count));
                    Assert.Equal(-1, lp.Seek(-model.Count - 1));
                    break;
            }
            Assert.Equal(model.Count, lp.Count);
            if (step % 25 == 0 || model.Count < 5) CheckAll(lp, model);
        }
        CheckAll(lp, model);
    }

    static void CheckAll(Listpack lp, List<string> model)
    {
        Assert.True(Listpack.Validate(lp.Bytes));
        var fwd = new List<string>();
        for (int p = lp.First(); p >= 0; p = lp.Next(p)) fwd.Add(Encoding.Latin1.GetString(lp.GetBytes(p)));
        Assert.Equal(model, fwd);
        var back = new List<string>();
        for (int p = lp.Last(); p >= 0; p = lp.Prev(p)) back.Add(Encoding.Latin1.GetString(lp.GetBytes(p)));
        back.Reverse();
        Assert.Equal(model, back);
        for (int i = 0; i < model.Count; i += 7)
        {
            Assert.True(lp.EntryEquals(lp.Seek(i), B(model[i])));
            Assert.True(lp.EntryEquals(lp.Seek(i - model.Count), B(model[i])));
        }
    }

    [Fact]
    public void AListpackAfterAKeyKeepsTheKeyBytesThroughGrowthDeletionAndShrinking()
    {
        // A keyspace hash or zset's array: [key][listpack], the listpack viewed from the key's length.
        var key = B("hash:000000001");
        var plain = new Listpack();
        var buf = new byte[key.Length + plain.TotalBytes];
        key.CopyTo(buf, 0);
        plain.Bytes.CopyTo(buf.AsSpan(key.Length));
        var lp = new Listpack(buf, key.Length);
        Assert.Equal(0, lp.Count);
        Assert.Equal(-1, lp.First());
        for (int i = 0; i < 40; i++)
        {
            lp.Append(B("field" + i));
            lp.Append(B(new string('v', i % 3 == 0 ? 300 : 5)));
            plain.Append(B("field" + i));
            plain.Append(B(new string('v', i % 3 == 0 ? 300 : 5)));
        }
        lp.Prepend(B("first"));
        plain.Prepend(B("first"));
        lp.Replace(lp.Seek(3), B("12345"));
        plain.Replace(plain.Seek(3), B("12345"));
        lp.DeleteRange(10, 50);
        plain.DeleteRange(10, 50);
        for (int p = lp.Seek(5); p >= 0 && lp.Count > 8;) p = lp.Delete(p);
        for (int p = plain.Seek(5); p >= 0 && plain.Count > 8;) p = plain.Delete(p);
        lp.Shrink();

        Assert.Equal(key, lp.Buf.AsSpan(0, key.Length).ToArray());
        Assert.Equal(key.Length, lp.Offset);
        Assert.Equal(plain.Bytes.ToArray(), lp.Bytes.ToArray()); // the same listpack, byte for byte
        Assert.True(Listpack.Validate(lp.Bytes));
        Assert.Equal(key.Length + lp.TotalBytes, lp.Buf.Length);
        var fromTail = new List<string>();
        for (int p = lp.Last(); p >= 0; p = lp.Prev(p)) fromTail.Add(Encoding.Latin1.GetString(lp.GetBytes(p)));
        var plainTail = new List<string>();
        for (int p = plain.Last(); p >= 0; p = plain.Prev(p)) plainTail.Add(Encoding.Latin1.GetString(plain.GetBytes(p)));
        Assert.Equal(plainTail, fromTail);
    }
}
