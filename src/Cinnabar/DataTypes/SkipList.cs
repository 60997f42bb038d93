// Redis's zskiplist (t_zset.c): elements ordered by (score, member bytes), each node with a
// random number of levels (p = 0.25, at most 32) and per-level spans, so rank lookups and
// rank → element are O(log n) like score and lex range seeks. A backward pointer on level 0
// makes reverse iteration cheap. The member → score dict lives next to it in ZSet.
using Cinnabar.Keyspace;

namespace Cinnabar.DataTypes;

/// <summary>A score interval (zrangespec): min/max with exclusive flags.</summary>
public readonly record struct ScoreRange(double Min, double Max, bool MinEx, bool MaxEx)
{
    public bool ValueGteMin(double v) => MinEx ? v > Min : v >= Min;
    public bool ValueLteMax(double v) => MaxEx ? v < Max : v <= Max;
    public bool Contains(double v) => ValueGteMin(v) && ValueLteMax(v);

    /// <summary>Whether no value can be in the range (zslIsInRange's first test).</summary>
    public bool IsEmpty => Min > Max || (Min == Max && (MinEx || MaxEx));
}

/// <summary>A lex interval (zlexrangespec): null Min means "-", null Max means "+" (the shared.minstring/maxstring).</summary>
public sealed class LexRange
{
    public byte[]? Min, Max;
    public bool MinInf, MaxInf; // "-" as Min/Max, or "+" as Min/Max
    public bool MinPlus, MaxMinus; // "+" given as Min or "-" given as Max: the range is empty
    public bool MinEx, MaxEx;

    /// <summary>sdscmplex: compares with the special infinite strings.</summary>
    int CmpMin(ReadOnlySpan<byte> v)
    {
        if (MinInf) return 1; // v > -inf
        if (MinPlus) return -1; // v < +inf
        return v.SequenceCompareTo(Min);
    }

    int CmpMax(ReadOnlySpan<byte> v)
    {
        if (MaxInf) return -1;
        if (MaxMinus) return 1;
        return v.SequenceCompareTo(Max);
    }

    public bool ValueGteMin(ReadOnlySpan<byte> v) => MinEx ? CmpMin(v) > 0 : CmpMin(v) >= 0;
    public bool ValueLteMax(ReadOnlySpan<byte> v) => MaxEx ? CmpMax(v) < 0 : CmpMax(v) <= 0;
    public bool Contains(ReadOnlySpan<byte> v) => ValueGteMin(v) && ValueLteMax(v);

    /// <summary>The range is empty whatever the set holds (zslIsInLexRange's first test).</summary>
    public bool IsEmpty
    {
        get
        {
            if (MinPlus || MaxMinus) return true;
            if (MinInf || MaxInf) return false;
            int cmp = Min.AsSpan().SequenceCompareTo(Max);
            return cmp > 0 || (cmp == 0 && (MinEx || MaxEx));
        }
    }

    /// <summary>zslParseLexRangeItem for both ends; false on a malformed item.</summary>
    public static bool TryParse(ReadOnlySpan<byte> min, ReadOnlySpan<byte> max, out LexRange range)
    {
        range = new LexRange();
        if (!ParseItem(min, out range.Min, out bool minMinus, out bool minPlus, out range.MinEx)) return false;
        if (!ParseItem(max, out range.Max, out bool maxMinus, out bool maxPlus, out range.MaxEx)) return false;
        range.MinInf = minMinus;
        range.MinPlus = minPlus;
        range.MaxInf = maxPlus;
        range.MaxMinus = maxMinus;
        return true;
    }

    static bool ParseItem(ReadOnlySpan<byte> s, out byte[]? value, out bool minus, out bool plus, out bool ex)
    {
        value = null;
        minus = plus = ex = false;
        if (s.Length == 0) return false;
        switch (s[0])
        {
            case (byte)'+':
                if (s.Length != 1) return false;
                plus = true;
                return true;
            case (byte)'-':
                if (s.Length != 1) return false;
                minus = true;
                return true;
            case (byte)'(':
                ex = true;
                value = s[1..].ToArray();
                return true;
            case (byte)'[':
                value = s[1..].ToArray();
                return true;
            default:
                return false;
        }
    }
}

public sealed class SkipList
{
    public const int MaxLevel = 32;
    const double P = 0.25;

    public sealed class Node
    {
        public byte[] Ele;
        public double Score;
        public Node? Backward;
        public readonly Node?[] Forward;
        public readonly long[] Span;

        public Node(int level, double score, byte[] ele)
        {
            Ele = ele;
            Score = score;
            Forward = new Node?[level];
            Span = new long[level];
        }

        public int Level => Forward.Length;
    }

    readonly Node _header = new(MaxLevel, 0, []);
    readonly Random _random;

    // zslInsert/zslDelete's update[] and rank[] vectors: stack arrays in C, per-thread scratch
    // here so a write allocates only its node. Cleared after use so no unlinked node stays reachable.
    [ThreadStatic] static Node[]? t_update;
    [ThreadStatic] static long[]? t_rank;

    static Node[] UpdateScratch() => t_update ??= new Node[MaxLevel];

    static void Release(Node[] update) => Array.Clear(update);

    public Node? Tail { get; private set; }
    public long Length { get; private set; }
    public int Level { get; private set; } = 1;

    /// <summary>Heap bytes of the member arrays (header and padding included), for memory accounting.</summary>
    public long ElementBytes { get; private set; }

    /// <summary>Sum of the nodes' levels: each level costs a Forward and a Span slot (16 bytes).</summary>
    public long LevelSum { get; private set; }

    public SkipList(Random? random = null) => _random = random ?? Random.Shared;

    public Node? First => _header.Forward[0];

    /// <summary>zslRandomLevel: each extra level with probability 1/4.</summary>
    int RandomLevel()
    {
        int level = 1;
        while (level < MaxLevel && _random.Next(0x10000) < (int)(P * 0x10000)) level++;
        return level;
    }

    static int Compare(double s1, ReadOnlySpan<byte> e1, double s2, ReadOnlySpan<byte> e2) =>
        s1 < s2 ? -1 : s1 > s2 ? 1 : e1.SequenceCompareTo(e2);

    /// <summary>zslInsert: the caller guarantees the member is not already present.</summary>
    public Node Insert(double score, byte[] ele)
    {
        var update = UpdateScratch();
        var rank = t_rank ??= new long[MaxLevel];
        var x = _header;
        for (int i = Level - 1; i >= 0; i--)
        {
            rank[i] = i == Level - 1 ? 0 : rank[i + 1];
            while (x.Forward[i] is { } f && Compare(f.Score, f.Ele, score, ele) < 0)
            {
                rank[i] += x.Span[i];
                x = f;
            }
            update[i] = x;
        }
        int level = RandomLevel();
        if (level > Level)
        {
            for (int i = Level; i < level; i++)
            {
                rank[i] = 0;
                update[i] = _header;
                update[i].Span[i] = Length;
            }
            Level = level;
        }
        var n = new Node(level, score, ele);
        for (int i = 0; i < level; i++)
        {
            n.Forward[i] = update[i].Forward[i];
            update[i].Forward[i] = n;
            n.Span[i] = update[i].Span[i] - (rank[0] - rank[i]);
            update[i].Span[i] = rank[0] - rank[i] + 1;
        }
        for (int i = level; i < Level; i++) update[i].Span[i]++;
        n.Backward = update[0] == _header ? null : update[0];
        if (n.Forward[0] != null) n.Forward[0]!.Backward = n;
        else Tail = n;
        Length++;
        ElementBytes += ObjectSize.ByteArray(ele.Length);
        LevelSum += level;
        Release(update);
        return n;
    }

    /// <summary>zslDeleteNode: unlinks x given the update vector.</summary>
    void DeleteNode(Node x, Node[] update)
    {
        for (int i = 0; i < Level; i++)
        {
            if (update[i].Forward[i] == x)
            {
                update[i].Span[i] += x.Span[i] - 1;
                update[i].Forward[i] = x.Forward[i];
            }
            else update[i].Span[i]--;
        }
        if (x.Forward[0] != null) x.Forward[0]!.Backward = x.Backward;
        else Tail = x.Backward;
        while (Level > 1 && _header.Forward[Level - 1] == null) Level--;
        Length--;
        ElementBytes -= ObjectSize.ByteArray(x.Ele.Length);
        LevelSum -= x.Level;
    }

    Node FindUpdate(double score, ReadOnlySpan<byte> ele, Node[] update)
    {
        var x = _header;
        for (int i = Level - 1; i >= 0; i--)
        {
            while (x.Forward[i] is { } f && Compare(f.Score, f.Ele, score, ele) < 0) x = f;
            update[i] = x;
        }
        return x;
    }

    /// <summary>zslDelete: removes the node with this score and member; false when absent.</summary>
    public bool Delete(double score, ReadOnlySpan<byte> ele)
    {
        var update = UpdateScratch();
        var x = FindUpdate(score, ele, update).Forward[0];
        bool found = x != null && x.Score == score && x.Ele.AsSpan().SequenceEqual(ele);
        if (found) DeleteNode(x!, update);
        Release(update);
        return found;
    }

    /// <summary>zslUpdateScore: moves the member to its new score, in place when the order is unchanged.</summary>
    public Node UpdateScore(double curScore, ReadOnlySpan<byte> ele, double newScore)
    {
        var update = UpdateScratch();
        var x = FindUpdate(curScore, ele, update).Forward[0]!;
        if ((x.Backward == null || x.Backward.Score < newScore) &&
            (x.Forward[0] == null || x.Forward[0]!.Score > newScore))
        {
            x.Score = newScore;
            Release(update);
            return x;
        }
        DeleteNode(x, update);
        return Insert(newScore, x.Ele); // Insert reuses (and releases) the scratch vector
    }

    /// <summary>zslGetRank: 1-based rank of the element, 0 when absent.</summary>
    public long GetRank(double score, ReadOnlySpan<byte> ele)
    {
        long rank = 0;
        var x = _header;
        for (int i = Level - 1; i >= 0; i--)
        {
            while (x.Forward[i] is { } f && Compare(f.Score, f.Ele, score, ele) <= 0)
            {
                rank += x.Span[i];
                x = f;
            }
            if (x != _header && x.Ele.AsSpan().SequenceEqual(ele)) return rank;
        }
        return 0;
    }

    /// <summary>zslGetElementByRank: the node at a 1-based rank, or null.</summary>
    public Node? GetElementByRank(long rank)
    {
        long traversed = 0;
        var x = _header;
        for (int i = Level - 1; i >= 0; i--)
        {
            while (x.Forward[i] != null && traversed + x.Span[i] <= rank)
            {
                traversed += x.Span[i];
                x = x.Forward[i]!;
            }
            if (traversed == rank) return x;
        }
        return null;
    }

    public bool IsInRange(ScoreRange r)
    {
        if (r.IsEmpty) return false;
        if (Tail == null || !r.ValueGteMin(Tail.Score)) return false;
        var first = _header.Forward[0];
        return first != null && r.ValueLteMax(first.Score);
    }

    /// <summary>zslFirstInRange.</summary>
    public Node? FirstInRange(ScoreRange r)
    {
        if (!IsInRange(r)) return null;
        var x = _header;
        for (int i = Level - 1; i >= 0; i--)
            while (x.Forward[i] is { } f && !r.ValueGteMin(f.Score)) x = f;
        x = x.Forward[0]!;
        return r.ValueLteMax(x.Score) ? x : null;
    }

    /// <summary>zslLastInRange.</summary>
    public Node? LastInRange(ScoreRange r)
    {
        if (!IsInRange(r)) return null;
        var x = _header;
        for (int i = Level - 1; i >= 0; i--)
            while (x.Forward[i] is { } f && r.ValueLteMax(f.Score)) x = f;
        return r.ValueGteMin(x.Score) ? x : null;
    }

    public bool IsInLexRange(LexRange r)
    {
        if (r.IsEmpty) return false;
        if (Tail == null || !r.ValueGteMin(Tail.Ele)) return false;
        var first = _header.Forward[0];
        return first != null && r.ValueLteMax(first.Ele);
    }

    public Node? FirstInLexRange(LexRange r)
    {
        if (!IsInLexRange(r)) return null;
        var x = _header;
        for (int i = Level - 1; i >= 0; i--)
            while (x.Forward[i] is { } f && !r.ValueGteMin(f.Ele)) x = f;
        x = x.Forward[0]!;
        return r.ValueLteMax(x.Ele) ? x : null;
    }

    public Node? LastInLexRange(LexRange r)
    {
        if (!IsInLexRange(r)) return null;
        var x = _header;
        for (int i = Level - 1; i >= 0; i--)
            while (x.Forward[i] is { } f && r.ValueLteMax(f.Ele)) x = f;
        return r.ValueGteMin(x.Ele) ? x : null;
    }

    /// <summary>Removes every node from the first one matching start while keep returns true; calls removed for each.</summary>
    long DeleteWhile(Func<Node, bool> beforeStart, Func<Node, bool> inRange, Action<Node> removed)
    {
        var update = UpdateScratch();
        var x = _header;
        for (int i = Level - 1; i >= 0; i--)
        {
            while (x.Forward[i] is { } f && beforeStart(f)) x = f;
            update[i] = x;
        }
        long n = 0;
        var y = x.Forward[0];
        while (y != null && inRange(y))
        {
            var next = y.Forward[0];
            DeleteNode(y, update);
            removed(y);
            n++;
            y = next;
        }
        Release(update);
        return n;
    }

    /// <summary>zslDeleteRangeByScore.</summary>
    public long DeleteRangeByScore(ScoreRange r, Action<Node> removed) =>
        DeleteWhile(f => !r.ValueGteMin(f.Score), f => r.ValueLteMax(f.Score), removed);

    /// <summary>zslDeleteRangeByLex.</summary>
    public long DeleteRangeByLex(LexRange r, Action<Node> removed) =>
        DeleteWhile(f => !r.ValueGteMin(f.Ele), f => r.ValueLteMax(f.Ele), removed);

    /// <summary>zslDeleteRangeByRank: 1-based inclusive ranks.</summary>
    public long DeleteRangeByRank(long start, long end, Action<Node> removed)
    {
        var update = UpdateScratch();
        long traversed = 0;
        var x = _header;
        for (int i = Level - 1; i >= 0; i--)
        {
            while (x.Forward[i] != null && traversed + x.Span[i] < start)
            {
                traversed += x.Span[i];
                x = x.Forward[i]!;
            }
            update[i] = x;
        }
        traversed++;
        long n = 0;
        var y = x.Forward[0];
        while (y != null && traversed <= end)
        {
            var next = y.Forward[0];
            DeleteNode(y, update);
            removed(y);
            n++;
            traversed++;
            y = next;
        }
        Release(update);
        return n;
    }
}
