// Redis's quicklist (quicklist.c): a doubly linked list of listpack nodes. A node grows until
// list-max-listpack-size says stop (negative fill: byte size classes 4k..64k; positive: an
// entry count, capped by an 8k safety limit); inner nodes beyond list-compress-depth from
// either end are LZF-compressed and decompressed while accessed. Inserting into a full node
// spills into a neighbour or splits the node and then merges small neighbours, as Redis does.
// An element of packed_threshold bytes or more (1 GB; DEBUG QUICKLIST-PACKED-THRESHOLD) gets a
// PLAIN node of its own: the raw bytes instead of a listpack, never merged, compressed as any node.
using Cinnabar.Keyspace;
using Cinnabar.Protocol;

namespace Cinnabar.DataTypes;

// 56 bytes: header 16, two links, one array (listpack, plain element or LZF, as Redis's
// node->entry with node->container and node->encoding), three ints and four flags. Pushes
// allocate one per node, so every field counts: the array is a plain byte[] field (a Listpack
// view is 16 bytes, as it can start after a key), and mutations store the array back.
public sealed class QuicklistNode
{
    public QuicklistNode? Prev, Next;

    /// <summary>
    /// The entries while raw. While compressed (IsCompressed) the same field holds the LZF bytes
    /// of the listpack instead (read them through CompressedBytes); Quicklist.Access restores it.
    /// A plain node's array is its one element's bytes, exactly Sz long, and no listpack at all.
    /// </summary>
    internal byte[] Entry = null!;

    /// <summary>A view of the node's listpack, for reads; a mutation stores its Buf back into Entry (it may move).</summary>
    public Listpack Lp => new(Entry);

    /// <summary>Entries in the node and the listpack's (or plain element's) byte size (kept while compressed).</summary>
    public int Count, Sz;

    /// <summary>Heap bytes this node was last accounted at in its list's total.</summary>
    internal int Accounted;

    /// <summary>Lp holds LZF bytes (node->encoding == QUICKLIST_NODE_ENCODING_LZF).</summary>
    public bool IsCompressed { get; private set; }

    /// <summary>Decompressed for access; compress again when released (node->recompress).</summary>
    public bool Recompress;

    /// <summary>node->container == QUICKLIST_NODE_CONTAINER_PLAIN: one element, stored as its bytes.</summary>
    public bool IsPlain { get; internal set; }

    /// <summary>node->dont_compress: kept raw while quicklistReplaceEntry works on it.</summary>
    internal bool DontCompress;

    /// <summary>The LZF bytes while compressed, else null.</summary>
    public byte[]? CompressedBytes => IsCompressed ? Entry : null;

    /// <summary>node->entry while raw: the listpack's serialized bytes, or a plain node's element.</summary>
    public ReadOnlySpan<byte> RawBytes => IsPlain ? Entry : Lp.Bytes;

    internal void SetCompressed(byte[] lzf)
    {
        Entry = lzf;
        IsCompressed = true;
    }

    internal void SetRaw(byte[] listpack)
    {
        Entry = listpack;
        IsCompressed = false;
    }

    /// <summary>Makes this a raw plain node holding value (the array is adopted, not copied).</summary>
    internal void SetPlain(byte[] value)
    {
        Entry = value;
        IsPlain = true;
        IsCompressed = false;
        Count = 1;
        Sz = value.Length;
    }
}

public sealed class Quicklist : ISizedValue, IDuplicable
{
    static readonly int[] OptimizationLevel = [4096, 8192, 16384, 32768, 65536];
    const int SizeSafetyLimit = 8192;
    const int SizeEstimateOverhead = 8;
    const int MinCompressBytes = 48;
    const int MinCompressImprove = 8;
    // Heap bytes of the objects themselves on a 64-bit runtime (header + fields, padded to 8):
    // a QuicklistNode is 56 and so is this Quicklist (fill and compress are 16-bit, as Redis's
    // bitfields); the node's array is counted on top.
    const int NodeOverhead = 56;
    const int ListOverhead = 56;
    // FILL_MAX and COMPRESS_MAX: the largest values Redis's 16-bit fields take.
    const int FillMax = short.MaxValue, CompressMax = ushort.MaxValue;

    /// <summary>packed_threshold's default: elements of 1 GB or more get a plain node.</summary>
    public const long DefaultPackedThreshold = 1 << 30;

    // packed_threshold as its distance from the default, so a thread that never set it (0) reads
    // 1 GB. Redis's is a process global; here it belongs to the thread: a server's lists change
    // only on its event-loop thread, so servers embedded in one process (tests) keep their own.
    [ThreadStatic] static long t_packedThresholdDelta;

    // The lowest threshold any thread has set (never raised again): no shorter element is large on
    // any thread, so the usual check is one comparison against a static, as Redis's is.
    static long s_lowestPackedThreshold = DefaultPackedThreshold;

    /// <summary>The size from which an element gets a plain node (isLargeElement), on this thread.</summary>
    public static long PackedThreshold => DefaultPackedThreshold + t_packedThresholdDelta;

    /// <summary>
    /// quicklistisSetPackedThreshold (DEBUG QUICKLIST-PACKED-THRESHOLD): 0 restores the default;
    /// anything above 4 GB - 1 MB is refused. Applies to the calling thread's lists.
    /// </summary>
    public static bool TrySetPackedThreshold(ulong sz)
    {
        if (sz > (1UL << 32) - (1 << 20)) return false;
        if (sz == 0) sz = DefaultPackedThreshold;
        long lowest;
        while ((long)sz < (lowest = Volatile.Read(ref s_lowestPackedThreshold)) &&
               Interlocked.CompareExchange(ref s_lowestPackedThreshold, (long)sz, lowest) != lowest) { }
        t_packedThresholdDelta = (long)sz - DefaultPackedThreshold;
        return true;
    }

    static bool IsLargeElement(int sz) => sz >= s_lowestPackedThreshold && sz >= PackedThreshold;

    public QuicklistNode? Head, Tail;
    public long Count { get; private set; }
    public int Len { get; private set; } // nodes
    readonly short _fill;
    readonly ushort _compress;
    long _bytes = ListOverhead;

    public Quicklist(int fill = -2, int compressDepth = 0)
    {
        _fill = (short)(fill == 0 ? 1 : Math.Clamp(fill, -5, FillMax));
        _compress = (ushort)Math.Clamp(compressDepth, 0, CompressMax);
    }

    /// <summary>list-max-listpack-size: negative for a byte size class, positive for an entry count.</summary>
    public int Fill => _fill;

    /// <summary>list-compress-depth: nodes at each end kept raw (0 = no compression).</summary>
    public int CompressDepth => _compress;

    public long SizeInBytes => _bytes;

    /// <summary>A deep copy node by node (quicklistDup): compressed nodes stay compressed.</summary>
    public object Duplicate()
    {
        var copy = new Quicklist(Fill, CompressDepth) { Count = Count, Len = Len, _bytes = _bytes };
        QuicklistNode? prev = null;
        for (var n = Head; n != null; n = n.Next)
        {
            var d = new QuicklistNode
            {
                Count = n.Count,
                Sz = n.Sz,
                Recompress = n.Recompress,
                Accounted = n.Accounted,
                IsPlain = n.IsPlain,
                Prev = prev,
            };
            // The array is copied whole: a compressed node's LZF bytes, the plain element, or the listpack with its capacity.
            if (n.IsCompressed) d.SetCompressed((byte[])n.Entry.Clone());
            else d.SetRaw((byte[])n.Entry.Clone());
            if (prev == null) copy.Head = d;
            else prev.Next = d;
            prev = d;
        }
        copy.Tail = prev;
        return copy;
    }

    // ------------------------------------------------------------------ fill rules

    static bool SizeMeetsOptimizationRequirement(long sz, int fill)
    {
        if (fill >= 0) return false;
        int offset = -fill - 1;
        return offset < OptimizationLevel.Length && sz <= OptimizationLevel[offset];
    }

    /// <summary>_quicklistNodeAllowInsert for an element that is not large (callers check IsLargeElement first).</summary>
    bool AllowInsert(QuicklistNode? node, int sz)
    {
        if (node == null || node.IsPlain) return false;
        long newSz = node.Sz + sz + SizeEstimateOverhead;
        if (SizeMeetsOptimizationRequirement(newSz, Fill)) return true;
        if (newSz > SizeSafetyLimit) return false;
        return node.Count < Fill;
    }

    bool AllowMerge(QuicklistNode? a, QuicklistNode? b)
    {
        if (a == null || b == null || a.IsPlain || b.IsPlain) return false;
        long mergeSz = a.Sz + b.Sz - 11; // Redis's estimate, from ziplist's header and terminator
        if (SizeMeetsOptimizationRequirement(mergeSz, Fill)) return true;
        if (mergeSz > SizeSafetyLimit) return false;
        return a.Count + b.Count <= Fill;
    }

    // ------------------------------------------------------------------ compression

    void Account(QuicklistNode n)
    {
        int now = NodeOverhead + (int)n.Lp.AllocatedBytes;
        _bytes += now - n.Accounted;
        n.Accounted = now;
    }

    /// <summary>
    /// Makes the node's listpack available (quicklistDecompressNodeForUse when recompress is true)
    /// and returns a view of it; a caller that mutates the view stores its Buf back in n.Entry.
    /// </summary>
    public Listpack Access(QuicklistNode n, bool recompress = true)
    {
        if (n.IsCompressed)
        {
            var raw = new byte[n.Sz];
            if (Lzf.Decompress(n.Entry, raw) != n.Sz) throw new InvalidDataException("quicklist: corrupt compressed node");
            n.SetRaw(raw);
            n.Recompress = recompress;
            Account(n);
        }
        return new Listpack(n.Entry);
    }

    /// <summary>__quicklistCompressNode: listpack or plain element alike, when it is big enough and LZF gains.</summary>
    void CompressNode(QuicklistNode n)
    {
        if (n.IsCompressed || n.DontCompress) return;
        n.Recompress = false;
        var raw = n.RawBytes;
        if (raw.Length < MinCompressBytes) return;
        var buf = new byte[raw.Length];
        int len = Lzf.Compress(raw, buf);
        if (len == 0 || len + MinCompressImprove >= raw.Length) return;
        n.SetCompressed(buf.AsSpan(0, len).ToArray());
        Account(n);
    }

    /// <summary>Releases a node accessed for reading: compressed again if it was compressed before.</summary>
    public void Release(QuicklistNode n)
    {
        if (n.Recompress) CompressNode(n);
    }

    /// <summary>__quicklistCompress: the depth nodes at each end stay raw, node (if inner) and the first inner ones get compressed.</summary>
    void Compress(QuicklistNode? node)
    {
        if (node != null && node.Recompress)
        {
            CompressNode(node);
            return;
        }
        if (CompressDepth == 0 || Len < CompressDepth * 2) return;
        var forward = Head!;
        var reverse = Tail!;
        bool inDepth = false;
        for (int depth = 0; depth < CompressDepth; depth++)
        {
            Access(forward, recompress: false);
            Access(reverse, recompress: false);
            if (forward == node || reverse == node) inDepth = true;
            if (forward == reverse || forward.Next == reverse) return;
            forward = forward.Next!;
            reverse = reverse.Prev!;
        }
        if (!inDepth && node != null) CompressNode(node);
        CompressNode(forward);
        CompressNode(reverse);
    }

    // ------------------------------------------------------------------ node list

    QuicklistNode NewNode()
    {
        var n = new QuicklistNode { Entry = new Listpack().Buf };
        n.Sz = n.Lp.TotalBytes;
        Account(n);
        return n;
    }

    /// <summary>
    /// A node for a push onto an end whose node is full. With a byte-size fill (the default -2:
    /// 8 KiB) the list already holds a full node, so the new one is likely to fill up too: its
    /// listpack is allocated at the size limit once instead of growing by reallocation (1 KiB
    /// LPUSHes reallocated the head node four times per seven pushes, 2.6 KB allocated per push).
    /// The slack is bounded by one node per end of a multi-node list and counted in SizeInBytes.
    /// Values of half the limit or more get an exact node as before (they fill it alone).
    /// </summary>
    QuicklistNode NewPushNode(int valueLength)
    {
        if (Fill >= 0 || Len == 0) return NewNode();
        int limit = OptimizationLevel[Math.Min(-Fill - 1, OptimizationLevel.Length - 1)];
        if (valueLength >= limit / 2) return NewNode();
        var n = new QuicklistNode { Entry = new Listpack(limit).Buf };
        n.Sz = n.Lp.TotalBytes;
        Account(n);
        return n;
    }

    void InsertNode(QuicklistNode? oldNode, QuicklistNode newNode, bool after)
    {
        if (after)
        {
            newNode.Prev = oldNode;
            if (oldNode != null)
            {
                newNode.Next = oldNode.Next;
                if (oldNode.Next != null) oldNode.Next.Prev = newNode;
                oldNode.Next = newNode;
            }
            if (Tail == oldNode) Tail = newNode;
        }
        else
        {
            newNode.Next = oldNode;
            if (oldNode != null)
            {
                newNode.Prev = oldNode.Prev;
                if (oldNode.Prev != null) oldNode.Prev.Next = newNode;
                oldNode.Prev = newNode;
            }
            if (Head == oldNode) Head = newNode;
        }
        if (Len == 0) Head = Tail = newNode;
        Len++;
        if (oldNode != null) Compress(oldNode);
        Compress(newNode);
    }

    void DelNode(QuicklistNode n)
    {
        if (n.Next != null) n.Next.Prev = n.Prev;
        if (n.Prev != null) n.Prev.Next = n.Next;
        if (n == Tail) Tail = n.Prev;
        if (n == Head) Head = n.Next;
        Len--;
        Count -= n.Count;
        _bytes -= n.Accounted;
        n.Prev = n.Next = null;
        // Keep the ends raw now that the list is shorter.
        Compress(null);
    }

    void Sync(QuicklistNode n)
    {
        n.Count = n.Lp.Count;
        n.Sz = n.Lp.TotalBytes;
        Account(n);
    }

    /// <summary>__quicklistCreatePlainNode: a node holding a copy of value.</summary>
    QuicklistNode NewPlainNode(ReadOnlySpan<byte> value)
    {
        var n = new QuicklistNode();
        n.SetPlain(value.ToArray());
        Account(n);
        return n;
    }

    /// <summary>__quicklistInsertPlainNode: value in a plain node of its own before or after oldNode.</summary>
    void InsertPlainNode(QuicklistNode? oldNode, ReadOnlySpan<byte> value, bool after)
    {
        InsertNode(oldNode, NewPlainNode(value), after);
        Count++;
    }

    /// <summary>quicklistAppendPlainNode: RDB loading's plain node becomes the tail as it is (the array is adopted).</summary>
    public void AppendPlainNode(byte[] value)
    {
        var n = new QuicklistNode();
        n.SetPlain(value);
        Account(n);
        Count++;
        InsertNode(Tail, n, after: true);
    }

    /// <summary>quicklistAppendListpack: the listpack becomes a new tail node as it is (RDB loading keeps node boundaries).</summary>
    public void AppendListpack(byte[] listpack)
    {
        var n = new QuicklistNode { Entry = listpack };
        n.Count = n.Lp.Count;
        n.Sz = n.Lp.TotalBytes;
        Account(n);
        Count += n.Count;
        InsertNode(Tail, n, after: true);
    }

    // ------------------------------------------------------------------ push / pop

    public void PushHead(ReadOnlySpan<byte> value)
    {
        if (IsLargeElement(value.Length))
        {
            InsertPlainNode(Head, value, after: false);
            return;
        }
        if (AllowInsert(Head, value.Length))
        {
            var lp = Access(Head!);
            lp.Prepend(value);
            Head!.Entry = lp.Buf;
            Sync(Head!);
            Compress(Head);
        }
        else
        {
            var n = NewPushNode(value.Length);
            var lp = n.Lp;
            lp.Prepend(value);
            n.Entry = lp.Buf;
            Sync(n);
            InsertNode(Head, n, after: false);
        }
        Count++;
    }

    public void PushTail(ReadOnlySpan<byte> value)
    {
        if (IsLargeElement(value.Length))
        {
            InsertPlainNode(Tail, value, after: true);
            return;
        }
        if (AllowInsert(Tail, value.Length))
        {
            var lp = Access(Tail!);
            lp.Append(value);
            Tail!.Entry = lp.Buf;
            Sync(Tail!);
            Compress(Tail);
        }
        else
        {
            var n = NewPushNode(value.Length);
            var lp = n.Lp;
            lp.Append(value);
            n.Entry = lp.Buf;
            Sync(n);
            InsertNode(Tail, n, after: true);
        }
        Count++;
    }

    public void Push(ReadOnlySpan<byte> value, bool head)
    {
        if (head) PushHead(value);
        else PushTail(value);
    }

    /// <summary>The head or tail entry, to be read in place and then removed with DelEntry; null when empty.</summary>
    public Entry? EndEntry(bool head)
    {
        var n = head ? Head : Tail;
        if (n == null) return null;
        var lp = Access(n);
        return new Entry { Node = n, Offset = n.IsPlain ? 0 : head ? lp.First() : lp.Last() };
    }

    /// <summary>quicklistDelIndex for an entry from EndEntry (or an iterator's current entry, not while iterating).</summary>
    public void DelEntry(Entry e) => DelIndex(e.Node, e.Offset);

    /// <summary>
    /// Removes an entry from EndEntry (a pop). The end node keeps its capacity: further pops
    /// empty and free it, further pushes reuse the room; its slack is bounded by the node size
    /// limit and counted in SizeInBytes.
    /// </summary>
    public void PopEntry(Entry e) => DelIndex(e.Node, e.Offset, shrink: false);

    /// <summary>quicklistPop: removes and returns the head or tail element, or null when empty.</summary>
    public byte[]? Pop(bool head)
    {
        var n = head ? Head : Tail;
        if (n == null) return null;
        var lp = Access(n);
        if (n.IsPlain)
        {
            DelNode(n); // the node goes, so its array is the element to return
            return lp.Buf;
        }
        int p = head ? lp.First() : lp.Last();
        var v = lp.GetBytes(p);
        DelIndex(n, p, shrink: false);
        return v;
    }

    // ------------------------------------------------------------------ entries

    /// <summary>An element's position: its node and byte offset in the node's listpack (0 in a plain node).</summary>
    public struct Entry
    {
        public QuicklistNode Node;
        public int Offset;
    }

    /// <summary>Deletes the entry at p in n; returns the offset that followed in n (or -1). Frees an emptied node.</summary>
    int DelIndex(QuicklistNode n, int p, bool shrink = true)
    {
        if (n.IsPlain)
        {
            DelNode(n);
            n.Count = 0; // gone, as an emptied packed node
            return -1;
        }
        var lp = n.Lp;
        int next = lp.Delete(p, shrink);
        n.Entry = lp.Buf;
        Count--;
        n.Count--;
        if (n.Count == 0)
        {
            DelNode(n);
            return -1;
        }
        Sync(n);
        return next;
    }

    /// <summary>quicklistGetIteratorAtIdx: the entry at index (negative from the tail), decompressed for use; null if out of range.</summary>
    public Entry? Index(long index)
    {
        bool forward = index >= 0;
        long target = forward ? index : -index - 1;
        if (target >= Count) return null;
        var n = forward ? Head : Tail;
        long acc = 0;
        while (n != null && acc + n.Count <= target)
        {
            acc += n.Count;
            n = forward ? n.Next : n.Prev;
        }
        if (n == null) return null;
        var lp = Access(n);
        long inNode = target - acc;
        return new Entry { Node = n, Offset = n.IsPlain ? 0 : lp.Seek(forward ? inNode : -inNode - 1) };
    }

    /// <summary>Reads an entry: true with string bytes, false with the integer (a plain element is always bytes).</summary>
    public static bool Get(Entry e, out ReadOnlySpan<byte> str, out long value)
    {
        if (e.Node.IsPlain)
        {
            str = e.Node.Lp.Buf;
            value = 0;
            return true;
        }
        return e.Node.Lp.Get(e.Offset, out str, out value);
    }

    public static byte[] GetBytes(Entry e) => e.Node.IsPlain ? (byte[])e.Node.Lp.Buf.Clone() : e.Node.Lp.GetBytes(e.Offset);

    /// <summary>quicklistCompare: a plain element compares its bytes, a listpack entry as lpCompare does.</summary>
    public static bool EntryEquals(Entry e, ReadOnlySpan<byte> s) =>
        e.Node.IsPlain ? s.SequenceEqual(e.Node.Lp.Buf) : e.Node.Lp.EntryEquals(e.Offset, s);

    /// <summary>
    /// quicklistReplaceEntry: a listpack entry is replaced in place by a value that is not large
    /// (the node may outgrow its fill limit, as in Redis); a plain element by a large one in
    /// place; otherwise the value is inserted after the entry (in its own node when large) and the
    /// entry deleted.
    /// </summary>
    public void Replace(Entry e, ReadOnlySpan<byte> value)
    {
        var node = e.Node;
        bool large = IsLargeElement(value.Length);
        if (!node.IsPlain && !large)
        {
            var lp = Access(node);
            lp.Replace(e.Offset, value);
            node.Entry = lp.Buf;
            Sync(node);
            Compress(node);
        }
        else if (node.IsPlain)
        {
            if (large)
            {
                node.SetPlain(value.ToArray());
                Account(node);
                Compress(node);
            }
            else
            {
                Insert(e, value, after: true);
                DelNode(node);
            }
        }
        else
        {
            // The node stays raw while the plain node goes after the entry (splitting the node when
            // the entry is not its last), so the entry, now the node's last, can be deleted.
            node.DontCompress = true;
            Insert(e, value, after: true);
            if (node.Count == 1) DelNode(node);
            else
            {
                DelIndex(node, node.Lp.Last());
                node.DontCompress = false;
                Compress(node);
                Compress(node.Next!);
            }
        }
    }

    /// <summary>
    /// _quicklistInsert: before or after the entry. A large value gets a plain node next to the
    /// entry's node (splitting it when the entry is inner); others go into the node, spill to a
    /// neighbour, get a new node, or split the node.
    /// </summary>
    public void Insert(Entry e, ReadOnlySpan<byte> value, bool after)
    {
        var node = e.Node;
        var lp = Access(node);
        bool atTail = after && (node.IsPlain || lp.Next(e.Offset) < 0);
        bool atHead = !after && (node.IsPlain || lp.Prev(e.Offset) < 0);
        if (IsLargeElement(value.Length))
        {
            if (node.IsPlain || atTail || atHead)
            {
                InsertPlainNode(node, value, after);
                return;
            }
            var rest = SplitNode(node, e.Offset, after);
            var plain = NewPlainNode(value);
            InsertNode(node, plain, after);
            InsertNode(plain, rest, after);
            Count++;
            return;
        }
        bool full = !AllowInsert(node, value.Length);
        Count++;
        if (!full)
        {
            lp.Insert(value, e.Offset, after ? Listpack.Where.After : Listpack.Where.Before);
            node.Entry = lp.Buf;
            Sync(node);
            Compress(node);
            return;
        }
        if (atTail && node.Next != null && AllowInsert(node.Next, value.Length))
        {
            var next = node.Next;
            var nlp = Access(next);
            nlp.Prepend(value);
            next.Entry = nlp.Buf;
            Sync(next);
            Compress(next);
            Release(node);
            return;
        }
        if (atHead && node.Prev != null && AllowInsert(node.Prev, value.Length))
        {
            var prev = node.Prev;
            var plp = Access(prev);
            plp.Append(value);
            prev.Entry = plp.Buf;
            Sync(prev);
            Compress(prev);
            Release(node);
            return;
        }
        if (atTail || atHead)
        {
            var nn = NewNode();
            var nnlp = nn.Lp;
            nnlp.Append(value);
            nn.Entry = nnlp.Buf;
            Sync(nn);
            Release(node);
            InsertNode(node, nn, after);
            return;
        }
        // Full node, insert in the middle: split at the entry and put the value in the new half.
        var split = SplitNode(node, e.Offset, after);
        var slp = split.Lp;
        if (after) slp.Prepend(value);
        else slp.Append(value);
        split.Entry = slp.Buf;
        Sync(split);
        InsertNode(node, split, after);
        MergeNodes(node);
    }

    /// <summary>_quicklistSplitNode: node keeps [0..offset] (after) or [offset..] (before); the rest moves to a new node.</summary>
    QuicklistNode SplitNode(QuicklistNode node, int offset, bool after)
    {
        var lp = node.Lp;
        int index = 0;
        for (int p = lp.First(); p != offset; p = lp.Next(p)) index++;
        var nn = NewNode();
        var nlp = lp.Clone();
        // after: original keeps 0..index, new gets index+1..; before: original keeps index.., new gets ..index-1
        int origStart = after ? index + 1 : 0;
        int origExtent = after ? -1 : index;
        int newStart = after ? 0 : index;
        int newExtent = after ? index + 1 : -1;
        if (origExtent == -1) lp.DeleteRange(origStart, lp.Count - origStart);
        else lp.DeleteRange(origStart, origExtent);
        node.Entry = lp.Buf;
        if (newExtent == -1) nlp.DeleteRange(newStart, nlp.Count - newStart);
        else nlp.DeleteRange(newStart, newExtent);
        nn.Entry = nlp.Buf;
        Sync(node);
        Sync(nn);
        return nn;
    }

    /// <summary>_quicklistMergeNodes: tries (prev.prev, prev), (next, next.next), (prev, center), (center, next).</summary>
    void MergeNodes(QuicklistNode center)
    {
        QuicklistNode? prev = center.Prev, prevPrev = prev?.Prev, next = center.Next, nextNext = next?.Next;
        if (AllowMerge(prev, prevPrev))
        {
            ListpackMerge(prevPrev!, prev!);
            prev = prevPrev = null;
        }
        if (AllowMerge(next, nextNext))
        {
            ListpackMerge(next!, nextNext!);
            next = nextNext = null;
        }
        QuicklistNode? target = center;
        if (AllowMerge(center, center.Prev)) target = ListpackMerge(center.Prev!, center);
        if (target != null && AllowMerge(target, target.Next)) ListpackMerge(target, target.Next!);
    }

    /// <summary>Appends b's entries to a, frees b; returns a.</summary>
    QuicklistNode ListpackMerge(QuicklistNode a, QuicklistNode b)
    {
        var alp = Access(a, recompress: false);
        alp.AppendAll(Access(b, recompress: false));
        a.Entry = alp.Buf;
        long keep = Count;
        Sync(a);
        DelNode(b);
        Count = keep; // the entries moved, they were not deleted
        Compress(a);
        return a;
    }

    /// <summary>quicklistDelRange: deletes count entries from start (negative from the tail); returns whether any were deleted.</summary>
    public bool DelRange(long start, long count)
    {
        if (count <= 0) return false;
        long extent = count;
        if (start >= 0 && extent > Count - start) extent = Count - start;
        else if (start < 0 && extent > -start) extent = -start;
        var e = Index(start);
        if (e == null) return false;
        var node = e.Value.Node;
        // Index within the node of the first entry to delete.
        long offset = 0;
        if (!node.IsPlain)
            for (int p = node.Lp.First(); p != e.Value.Offset; p = node.Lp.Next(p)) offset++;
        while (extent > 0)
        {
            var next = node!.Next;
            long del;
            bool deleteEntireNode = false;
            if (offset == 0 && extent >= node.Count)
            {
                deleteEntireNode = true;
                del = node.Count;
            }
            else del = Math.Min(extent, node.Count - offset);
            if (deleteEntireNode || node.IsPlain) DelNode(node);
            else
            {
                var lp = Access(node);
                lp.DeleteRange(offset, del);
                node.Entry = lp.Buf;
                Count -= del;
                Sync(node);
                if (node.Count == 0)
                {
                    DelNode(node);
                }
                else Compress(node);
            }
            extent -= del;
            node = next;
            offset = 0;
        }
        return true;
    }

    // ------------------------------------------------------------------ iteration

    /// <summary>
    /// An iterator from either end or from an index; nodes are decompressed while visited. A struct
    /// (kept in the caller's local) so LRANGE and friends allocate nothing to walk the list.
    /// </summary>
    public struct Iterator
    {
        readonly Quicklist _ql;
        readonly bool _forward;
        QuicklistNode? _node;
        int _offset = -1;
        bool _started;
        bool _yieldCurrent;

        internal Iterator(Quicklist ql, bool forward, QuicklistNode? node, int offset)
        {
            _ql = ql;
            _forward = forward;
            _node = node;
            _offset = offset;
            _started = offset >= 0;
            _yieldCurrent = _started; // the first Next() yields the start entry itself
        }

        public bool Next(out Entry e)
        {
            e = default;
            while (_node != null)
            {
                var lp = _ql.Access(_node);
                int p;
                if (_node.IsPlain) p = !_started || _yieldCurrent ? 0 : -1;
                else if (!_started) p = _forward ? lp.First() : lp.Last();
                else if (_yieldCurrent) p = _offset;
                else p = _offset < 0 ? -1 : _forward ? lp.Next(_offset) : lp.Prev(_offset);
                _started = true;
                _yieldCurrent = false;
                if (p >= 0)
                {
                    _offset = p;
                    e = new Entry { Node = _node, Offset = p };
                    return true;
                }
                _ql.Release(_node);
                _node = _forward ? _node.Next : _node.Prev;
                _started = false;
            }
            return false;
        }

        /// <summary>quicklistDelEntry: deletes the current entry; the next Next() continues after it.</summary>
        public void DelEntry(Entry e)
        {
            var node = e.Node;
            var neighbour = _forward ? node.Next : node.Prev;
            int prevOff = node.IsPlain ? -1 : node.Lp.Prev(e.Offset);
            int following = _ql.DelIndex(node, e.Offset);
            int resume = _forward ? following : prevOff;
            if (node.Count == 0 || resume < 0)
            {
                if (node.Count > 0) _ql.Release(node);
                _node = neighbour;
                _started = false;
                return;
            }
            _offset = resume;
            _yieldCurrent = true;
        }

        /// <summary>Recompresses the node the iterator stopped on (quicklistReleaseIterator).</summary>
        public void Release()
        {
            if (_node != null) _ql.Release(_node);
        }
    }

    public Iterator GetIterator(bool fromHead) => new(this, fromHead, fromHead ? Head : Tail, -1);

    /// <summary>An iterator positioned so the first Next() yields the element at index; null when out of range.</summary>
    public Iterator? GetIteratorAtIndex(long index, bool forward)
    {
        var e = Index(index);
        if (e == null) return null;
        return new Iterator(this, forward, e.Value.Node, e.Value.Offset);
    }

    /// <summary>
    /// addListRangeReply: replies count elements from index start on (both in range) as bulk
    /// strings, node by node through Listpack.ReplyBulks; compressed nodes are decompressed
    /// while read and compressed again after, as the iterator does.
    /// </summary>
    public void ReplyRange(long start, long count, ReplyWriter reply)
    {
        var e = Index(start);
        if (e == null) return;
        var node = e.Value.Node;
        int p = e.Value.Offset;
        while (count > 0 && node != null)
        {
            var lp = Access(node);
            if (node.IsPlain)
            {
                reply.Bulk(lp.Buf);
                count--;
            }
            else
            {
                if (p < 0) p = lp.First();
                count -= lp.ReplyBulks(ref p, (int)Math.Min(count, int.MaxValue), reply);
            }
            Release(node);
            node = node.Next;
            p = -1;
        }
    }

    /// <summary>All elements, head to tail (tests, DEBUG, RDB).</summary>
    public List<byte[]> ToList()
    {
        var list = new List<byte[]>((int)Math.Min(Count, 1 << 20));
        var it = GetIterator(true);
        while (it.Next(out var e)) list.Add(GetBytes(e));
        return list;
    }

    /// <summary>Checks the invariants (tests): counts, links, sizes, compression of ends.</summary>
    public void Verify()
    {
        long total = 0;
        int len = 0;
        QuicklistNode? prev = null;
        long bytes = ListOverhead;
        for (var n = Head; n != null; prev = n, n = n.Next)
        {
            if (n.Prev != prev) throw new InvalidOperationException("bad prev link");
            if (n.Count == 0) throw new InvalidOperationException("empty node");
            if (n.IsPlain)
            {
                if (n.Count != 1 || (!n.IsCompressed && n.Lp.Buf.Length != n.Sz)) throw new InvalidOperationException("plain node count/sz out of sync");
            }
            else if (!n.IsCompressed && (n.Lp.Count != n.Count || n.Lp.TotalBytes != n.Sz)) throw new InvalidOperationException("node count/sz out of sync");
            if (n.DontCompress) throw new InvalidOperationException("dont_compress left set");
            bool nearEnd = len < CompressDepth;
            if (n.IsCompressed && (CompressDepth == 0 || nearEnd)) throw new InvalidOperationException("end node compressed");
            total += n.Count;
            len++;
            bytes += n.Accounted;
        }
        if (prev != Tail) throw new InvalidOperationException("bad tail");
        if (total != Count || len != Len) throw new InvalidOperationException($"count {total}/{Count} len {len}/{Len}");
        if (bytes != _bytes) throw new InvalidOperationException("memory accounting drift");
        int fromTail = 0;
        for (var n = Tail; n != null && fromTail < CompressDepth; n = n.Prev, fromTail++)
            if (n.IsCompressed) throw new InvalidOperationException("tail-end node compressed");
    }
}
