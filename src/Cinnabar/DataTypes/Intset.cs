// Redis's intset (intset.c): a sorted array of distinct integers in ONE byte array, byte for
// byte Redis's layout so RDB and DUMP can emit it as is:
//   <encoding u32 LE: 2, 4 or 8> <length u32 LE> <length values, little-endian, ascending>
// Every value has the width of the widest one; adding a wider value upgrades the whole array
// (never downgraded). Lookups are binary searches; inserts and removals move the tail.
using System.Buffers.Binary;
using Cinnabar.Keyspace;

namespace Cinnabar.DataTypes;

public sealed class Intset : IDuplicable, ISizedValue
{
    public const int HeaderSize = 8;
    const int Enc16 = 2, Enc32 = 4, Enc64 = 8;

    // The serialized bytes live at the start of _buf; capacity beyond Redis's exact size avoids
    // one reallocation per insert (Redis reallocs every time; the moved tail costs the same).
    byte[] _buf;

    public Intset()
    {
        _buf = new byte[HeaderSize + 8];
        SetEncoding(Enc16);
    }

    /// <summary>Adopts serialized intset bytes (RDB load). Call Validate first for untrusted input.</summary>
    public Intset(byte[] bytes) => _buf = bytes;

    public int Encoding => (int)BinaryPrimitives.ReadUInt32LittleEndian(_buf);
    public int Count => (int)BinaryPrimitives.ReadUInt32LittleEndian(_buf.AsSpan(4));

    /// <summary>intsetBlobLen: the exact serialized size.</summary>
    public int BlobLength => HeaderSize + Count * Encoding;

    public ReadOnlySpan<byte> Bytes => _buf.AsSpan(0, BlobLength);

    public long SizeInBytes => ObjectSize.ByteArray(_buf.Length) + 24; // + this object: header and buffer reference

    public object Duplicate() => new Intset(Bytes.ToArray());

    void SetEncoding(int enc) => BinaryPrimitives.WriteUInt32LittleEndian(_buf, (uint)enc);
    void SetCount(int n) => BinaryPrimitives.WriteUInt32LittleEndian(_buf.AsSpan(4), (uint)n);

    /// <summary>_intsetValueEncoding: the narrowest width that holds v.</summary>
    public static int ValueEncoding(long v) =>
        v < int.MinValue || v > int.MaxValue ? Enc64 : v < short.MinValue || v > short.MaxValue ? Enc32 : Enc16;

    static long Read(byte[] buf, int enc, int pos)
    {
        var s = buf.AsSpan(HeaderSize + pos * enc);
        return enc switch
        {
            Enc64 => BinaryPrimitives.ReadInt64LittleEndian(s),
            Enc32 => BinaryPrimitives.ReadInt32LittleEndian(s),
            _ => BinaryPrimitives.ReadInt16LittleEndian(s),
        };
    }

    static void Write(byte[] buf, int enc, int pos, long v)
    {
        var s = buf.AsSpan(HeaderSize + pos * enc);
        switch (enc)
        {
            case Enc64: BinaryPrimitives.WriteInt64LittleEndian(s, v); break;
            case Enc32: BinaryPrimitives.WriteInt32LittleEndian(s, (int)v); break;
            default: BinaryPrimitives.WriteInt16LittleEndian(s, (short)v); break;
        }
    }

    /// <summary>intsetGet: the value at a position (0-based, ascending order).</summary>
    public long Get(int pos) => Read(_buf, Encoding, pos);

    /// <summary>intsetSearch: true with the position when found, else false with the insert position.</summary>
    bool Search(long v, out int pos)
    {
        int n = Count, enc = Encoding;
        if (n == 0)
        {
            pos = 0;
            return false;
        }
        // The ends first: appends and prepends of monotonic input skip the binary search.
        if (v > Read(_buf, enc, n - 1))
        {
            pos = n;
            return false;
        }
        if (v < Read(_buf, enc, 0))
        {
            pos = 0;
            return false;
        }
        int min = 0, max = n - 1;
        while (max >= min)
        {
            int mid = (int)(((uint)min + (uint)max) >> 1);
            long cur = Read(_buf, enc, mid);
            if (v > cur) min = mid + 1;
            else if (v < cur) max = mid - 1;
            else
            {
                pos = mid;
                return true;
            }
        }
        pos = min;
        return false;
    }

    public bool Contains(long v) => ValueEncoding(v) <= Encoding && Search(v, out _);

    void EnsureCapacity(int bytes)
    {
        if (_buf.Length >= bytes) return;
        Array.Resize(ref _buf, Math.Max(bytes, Math.Min(_buf.Length * 2, bytes + 4096)));
    }

    /// <summary>intsetAdd: inserts v keeping order; false when already present.</summary>
    public bool Add(long v)
    {
        int venc = ValueEncoding(v);
        if (venc > Encoding)
        {
            UpgradeAndAdd(v, venc);
            return true;
        }
        if (Search(v, out int pos)) return false;
        int n = Count, enc = Encoding;
        EnsureCapacity(HeaderSize + (n + 1) * enc);
        Buffer.BlockCopy(_buf, HeaderSize + pos * enc, _buf, HeaderSize + (pos + 1) * enc, (n - pos) * enc);
        Write(_buf, enc, pos, v);
        SetCount(n + 1);
        return true;
    }

    /// <summary>intsetUpgradeAndAdd: widens every value, then v goes at an end (it is out of the old range).</summary>
    void UpgradeAndAdd(long v, int newEnc)
    {
        int oldEnc = Encoding, n = Count;
        int prepend = v < 0 ? 1 : 0;
        EnsureCapacity(HeaderSize + (n + 1) * newEnc);
        // Back to front, so no value is overwritten before it was read.
        for (int i = n - 1; i >= 0; i--) Write(_buf, newEnc, i + prepend, Read(_buf, oldEnc, i));
        SetEncoding(newEnc);
        Write(_buf, newEnc, prepend == 1 ? 0 : n, v);
        SetCount(n + 1);
    }

    /// <summary>intsetRemove: false when v is absent.</summary>
    public bool Remove(long v)
    {
        if (ValueEncoding(v) > Encoding || !Search(v, out int pos)) return false;
        int n = Count, enc = Encoding;
        Buffer.BlockCopy(_buf, HeaderSize + (pos + 1) * enc, _buf, HeaderSize + pos * enc, (n - pos - 1) * enc);
        SetCount(n - 1);
        if (_buf.Length > 64 && BlobLength < _buf.Length / 4) Array.Resize(ref _buf, BlobLength * 2);
        return true;
    }

    /// <summary>intsetRandom.</summary>
    public long Random() => Get(System.Random.Shared.Next(Count));

    /// <summary>intsetValidateIntegrity: sane encoding, exact size, strictly ascending values.</summary>
    public static bool Validate(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < HeaderSize) return false;
        uint enc = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        if (enc is not (Enc16 or Enc32 or Enc64)) return false;
        uint n = BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]);
        if ((ulong)HeaderSize + (ulong)n * enc != (ulong)bytes.Length || n == 0) return false;
        var arr = bytes.ToArray();
        for (int i = 1; i < n; i++)
            if (Read(arr, (int)enc, i) <= Read(arr, (int)enc, i - 1)) return false;
        return true;
    }
}
