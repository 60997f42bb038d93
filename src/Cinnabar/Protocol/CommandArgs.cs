// The argument vector of one command: slices of a byte buffer (normally the client's query
// buffer), so parsing and dispatch copy nothing. Handlers read arguments as spans; anything
// stored in the keyspace is copied out explicitly.
using System.Runtime.CompilerServices;

namespace Cinnabar.Protocol;

public sealed class CommandArgs
{
    byte[][] _bufs = new byte[8][];
    int[] _offsets = new int[8];
    int[] _lengths = new int[8];

    public int Count { get; private set; }

    /// <summary>The arguments' total length (Redis's c->argv_len_sum).</summary>
    public long LengthSum { get; private set; }

    public void Clear()
    {
        Count = 0;
        LengthSum = 0;
    }

    public void EnsureCapacity(int n)
    {
        if (_offsets.Length >= n) return;
        int size = Math.Max(n, _offsets.Length * 2);
        Array.Resize(ref _bufs, size);
        Array.Resize(ref _offsets, size);
        Array.Resize(ref _lengths, size);
    }

    public void Add(byte[] buffer, int offset, int length)
    {
        if (Count == _offsets.Length) EnsureCapacity(Count + 1);
        _bufs[Count] = buffer;
        _offsets[Count] = offset;
        _lengths[Count] = length;
        Count++;
        LengthSum += length;
    }

    /// <summary>Adds an argument that owns its bytes (inline commands, MULTI queues, scripts).</summary>
    public void Add(byte[] owned) => Add(owned, 0, owned.Length);

    public void Add(string s) => Add(System.Text.Encoding.UTF8.GetBytes(s));

    /// <summary>The query buffer moved (compacted by delta bytes, possibly into a new array): re-point its slices.</summary>
    internal void Relocate(byte[] from, byte[] to, int delta)
    {
        for (int i = 0; i < Count; i++)
        {
            if (!ReferenceEquals(_bufs[i], from)) continue;
            _bufs[i] = to;
            _offsets[i] -= delta;
        }
    }

    public ReadOnlySpan<byte> this[int i]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => new(_bufs[i], _offsets[i], _lengths[i]);
    }

    public int Length(int i) => _lengths[i];

    public byte[] ToArray(int i) => this[i].ToArray();

    public string ToStringAt(int i) => System.Text.Encoding.UTF8.GetString(this[i]);

    /// <summary>A deep copy that does not alias the query buffer (for MULTI queues and blocking).</summary>
    public CommandArgs Clone()
    {
        var c = new CommandArgs();
        c.EnsureCapacity(Count);
        for (int i = 0; i < Count; i++) c.Add(ToArray(i));
        return c;
    }

    /// <summary>Replaces the contents with owned copies of the given arguments.</summary>
    public void SetFrom(IReadOnlyList<byte[]> args)
    {
        Clear();
        EnsureCapacity(args.Count);
        foreach (var a in args) Add(a);
    }

    /// <summary>Case-insensitive ASCII comparison of argument i with an upper- or lower-case literal.</summary>
    public bool Is(int i, string literal)
    {
        var a = this[i];
        if (a.Length != literal.Length) return false;
        for (int k = 0; k < a.Length; k++)
        {
            int x = a[k] | 0x20, y = literal[k] | 0x20;
            if (x != y) return false;
        }
        return true;
    }
}
