// Redis's radix tree (rax.c): an ordered map from byte strings to values, the index streams are
// built on (stream IDs as 128-bit big-endian keys -> listpack nodes, consumer groups by name,
// pending-entry lists by ID). Nodes are a compressed trie (each edge carries a byte string, every
// non-key node but the root branches), which is the shape rax.c keeps: NodeCount reports the node
// count rax.c would have (its compressed nodes hang below branching nodes as separate nodes), so
// XINFO's radix-tree-nodes matches. Iteration is ordered, with raxSeek's operators (^ $ = >= > <= <);
// as in rax.c, inserting or removing keys invalidates iterators (re-seek), overwriting a value does not.
namespace Cinnabar.DataTypes;

public enum RaxSeek { First, Last, Equal, GreaterOrEqual, Greater, LessOrEqual, Less }

public sealed class Rax<T> where T : class
{
    sealed class Node(byte[] label)
    {
        public byte[] Label = label;    // the bytes of the edge leading into this node (never mutated: shared when one byte)
        public Node[] Children = [];    // the first ChildCount, sorted by their label's first byte
        public int ChildCount;
        public bool IsKey;
        public T? Value;

        public int IndexOf(byte b)
        {
            var ch = Children;
            for (int i = 0; i < ChildCount; i++)
            {
                byte f = ch[i].Label[0];
                if (f == b) return i;
                if (f > b) return ~i;
            }
            return ~ChildCount;
        }

        public void InsertChild(int at, Node n)
        {
            // Room doubles (up to the 256 a byte can branch to), so a dense node's inserts do not
            // copy its children each time, as rax.c's memmove in a realloc'd node would.
            if (ChildCount == Children.Length) Array.Resize(ref Children, Math.Min(256, Math.Max(2, ChildCount * 2)));
            Array.Copy(Children, at, Children, at + 1, ChildCount - at);
            Children[at] = n;
            ChildCount++;
        }

        public void RemoveChild(int at)
        {
            ChildCount--;
            Array.Copy(Children, at + 1, Children, at, ChildCount - at);
            Children[ChildCount] = null!;
            if (ChildCount == 0) Children = [];
            else if (ChildCount * 4 <= Children.Length && Children.Length > 4) Array.Resize(ref Children, ChildCount * 2);
        }

        public void SetOnlyChild(Node n)
        {
            Children = [n, null!];
            ChildCount = 1;
        }
    }

    /// <summary>One shared array per single-byte label: most edges near the leaves are one byte long.</summary>
    static readonly byte[][] OneByteLabels = Enumerable.Range(0, 256).Select(b => new[] { (byte)b }).ToArray();

    static byte[] NewLabel(ReadOnlySpan<byte> bytes) => bytes.Length == 1 ? OneByteLabels[bytes[0]] : bytes.ToArray();

    readonly Node _root = new([]);

    /// <summary>raxSize: the number of keys.</summary>
    public long Count { get; private set; }

    /// <summary>
    /// rax->numnodes: the nodes rax.c would allocate for these keys. Counted by a walk (XINFO
    /// only): one per trie node, plus one for every multi-byte edge below a branching node,
    /// which rax.c stores as a compressed node of its own.
    /// </summary>
    public long NodeCount => CountNodes(_root);

    static long CountNodes(Node n)
    {
        long c = 1;
        bool branching = n.ChildCount > 1;
        for (int i = 0; i < n.ChildCount; i++)
        {
            var ch = n.Children[i];
            if (branching && ch.Label.Length > 1) c++;
            c += CountNodes(ch);
        }
        return c;
    }

    /// <summary>Heap bytes of the trie's nodes (an estimate: the node objects, labels and child arrays).</summary>
    public long SizeInBytes => Count * 96 + 48;

    /// <summary>raxFind: the value stored at key, or null.</summary>
    public T? Find(ReadOnlySpan<byte> key)
    {
        var n = FindNode(key);
        return n is { IsKey: true } ? n.Value : null;
    }

    public bool ContainsKey(ReadOnlySpan<byte> key) => FindNode(key) is { IsKey: true };

    Node? FindNode(ReadOnlySpan<byte> key)
    {
        var n = _root;
        int pos = 0;
        while (pos < key.Length)
        {
            int i = n.IndexOf(key[pos]);
            if (i < 0) return null;
            var ch = n.Children[i];
            if (!key[pos..].StartsWith(ch.Label)) return null;
            pos += ch.Label.Length;
            n = ch;
        }
        return n;
    }

    /// <summary>raxInsert: adds key or overwrites its value; true when the key is new.</summary>
    public bool Insert(ReadOnlySpan<byte> key, T value) => InsertGeneric(key, value, overwrite: true);

    /// <summary>raxTryInsert: adds key only if it is absent; false (and nothing changed) when present.</summary>
    public bool TryInsert(ReadOnlySpan<byte> key, T value) => InsertGeneric(key, value, overwrite: false);

    bool InsertGeneric(ReadOnlySpan<byte> key, T value, bool overwrite)
    {
        var n = _root;
        int pos = 0;
        while (true)
        {
            if (pos == key.Length)
            {
                if (n.IsKey)
                {
                    if (overwrite) n.Value = value;
                    return false;
                }
                n.IsKey = true;
                n.Value = value;
                Count++;
                return true;
            }
            int i = n.IndexOf(key[pos]);
            if (i < 0)
            {
                n.InsertChild(~i, new Node(NewLabel(key[pos..])) { IsKey = true, Value = value });
                Count++;
                return true;
            }
            var ch = n.Children[i];
            int common = key[pos..].CommonPrefixLength(ch.Label);
            if (common == ch.Label.Length)
            {
                n = ch;
                pos += common;
                continue;
            }
            // The key leaves (or ends inside) the child's edge: split the edge at the divergence.
            var mid = new Node(NewLabel(ch.Label.AsSpan(0, common)));
            mid.SetOnlyChild(ch);
            ch.Label = NewLabel(ch.Label.AsSpan(common));
            n.Children[i] = mid;
            pos += common;
            if (pos == key.Length)
            {
                mid.IsKey = true;
                mid.Value = value;
            }
            else
            {
                var leaf = new Node(NewLabel(key[pos..])) { IsKey = true, Value = value };
                mid.InsertChild(key[pos] < ch.Label[0] ? 0 : 1, leaf);
            }
            Count++;
            return true;
        }
    }

    /// <summary>raxRemove: deletes key, returning its value (null when absent). Nodes left non-branching are merged.</summary>
    public T? Remove(ReadOnlySpan<byte> key)
    {
        // Only the last two steps of the path matter: the parent and grandparent, with the child index taken from each.
        Node? parent = null, grand = null;
        int pi = 0, gi = 0;
        var n = _root;
        int pos = 0;
        while (pos < key.Length)
        {
            int i = n.IndexOf(key[pos]);
            if (i < 0) return null;
            var ch = n.Children[i];
            if (!key[pos..].StartsWith(ch.Label)) return null;
            (grand, gi, parent, pi) = (parent, pi, n, i);
            pos += ch.Label.Length;
            n = ch;
        }
        if (!n.IsKey) return null;
        var old = n.Value;
        n.IsKey = false;
        n.Value = null;
        Count--;
        if (parent == null) return old; // the root keeps its shape
        if (n.ChildCount == 0)
        {
            parent.RemoveChild(pi);
            // The parent may now be a non-key node with one child: fold it into that child.
            if (grand != null && !parent.IsKey && parent.ChildCount == 1) Merge(grand, gi, parent);
        }
        else if (n.ChildCount == 1) Merge(parent, pi, n);
        return old;
    }

    /// <summary>Replaces the non-key, single-child node at parent.Children[i] with its child, joining the edges.</summary>
    static void Merge(Node parent, int i, Node n)
    {
        var only = n.Children[0];
        var label = new byte[n.Label.Length + only.Label.Length];
        n.Label.CopyTo(label, 0);
        only.Label.CopyTo(label, n.Label.Length);
        only.Label = label;
        parent.Children[i] = only;
    }

    /// <summary>The last key and its value (raxSeek "$" then raxNext), or false when empty.</summary>
    public bool TryGetLast(Span<byte> key, out int keyLength, out T? value)
    {
        var n = _root;
        keyLength = 0;
        while (n.ChildCount > 0)
        {
            n = n.Children[n.ChildCount - 1];
            n.Label.CopyTo(key[keyLength..]);
            keyLength += n.Label.Length;
        }
        value = n.IsKey ? n.Value : null;
        return n.IsKey;
    }

    /// <summary>The first key and its value (raxSeek "^" then raxNext), or false when empty.</summary>
    public bool TryGetFirst(Span<byte> key, out int keyLength, out T? value)
    {
        var n = _root;
        keyLength = 0;
        while (!n.IsKey)
        {
            if (n.ChildCount == 0)
            {
                value = null;
                return false;
            }
            n = n.Children[0];
            n.Label.CopyTo(key[keyLength..]);
            keyLength += n.Label.Length;
        }
        value = n.Value;
        return true;
    }

    /// <summary>raxFree: drops every key.</summary>
    public void Clear()
    {
        _root.Children = [];
        _root.ChildCount = 0;
        _root.IsKey = false;
        _root.Value = null;
        Count = 0;
    }

    public Iterator GetIterator() => new(this);

    /// <summary>
    /// raxIterator: Seek positions it; the first Next or Prev after a seek returns the element
    /// found (rax.c's JUST_SEEKED), later ones move. Key is valid until the iterator moves.
    /// </summary>
    public sealed class Iterator
    {
        Rax<T>? _rax;
        Node[] _nodes = new Node[8];
        int[] _idx = new int[8];
        int _depth = -1;           // _nodes[0.._depth] is the path to the current node
        byte[] _key = new byte[32];
        int _keyLen;
        bool _justSeeked, _eof = true;

        internal Iterator(Rax<T>? rax) => _rax = rax;

        /// <summary>Points a reusable iterator at another rax (or none, to drop the reference); seek before use.</summary>
        public void Attach(Rax<T>? rax)
        {
            if (rax == null) Array.Clear(_nodes); // a detached iterator keeps no nodes alive
            _rax = rax;
            _eof = true;
            _depth = -1;
        }

        public ReadOnlySpan<byte> Key => _key.AsSpan(0, _keyLen);
        public T Value => _nodes[_depth].Value!;

        /// <summary>raxEOF: the last seek or move found nothing.</summary>
        public bool Eof => _eof;

        /// <summary>Overwrites the current key's value (the raxInsert of an existing key that does not invalidate iterators).</summary>
        public void SetValue(T value) => _nodes[_depth].Value = value;

        public bool Next()
        {
            if (_eof) return false;
            if (_justSeeked)
            {
                _justSeeked = false;
                return true;
            }
            FirstFromChild(0);
            return !_eof;
        }

        public bool Prev()
        {
            if (_eof) return false;
            if (_justSeeked)
            {
                _justSeeked = false;
                return true;
            }
            RetreatUp();
            return !_eof;
        }

        public bool Seek(RaxSeek op, ReadOnlySpan<byte> key = default)
        {
            _depth = 0;
            _nodes[0] = _rax!._root;
            _keyLen = 0;
            _eof = false;
            _justSeeked = true;
            switch (op)
            {
                case RaxSeek.First: Leftmost(); break;
                case RaxSeek.Last: Rightmost(); break;
                case RaxSeek.Equal: SeekEqual(key); break;
                case RaxSeek.GreaterOrEqual: SeekGreater(key, strict: false); break;
                case RaxSeek.Greater: SeekGreater(key, strict: true); break;
                case RaxSeek.LessOrEqual: SeekLess(key, strict: false); break;
                case RaxSeek.Less: SeekLess(key, strict: true); break;
            }
            return !_eof;
        }

        void Push(int childIndex)
        {
            var parent = _nodes[_depth];
            var ch = parent.Children[childIndex];
            if (_depth + 2 > _nodes.Length)
            {
                Array.Resize(ref _nodes, _nodes.Length * 2);
                Array.Resize(ref _idx, _idx.Length * 2);
            }
            _idx[_depth] = childIndex;
            _depth++;
            _nodes[_depth] = ch;
            if (_keyLen + ch.Label.Length > _key.Length) Array.Resize(ref _key, Math.Max(_key.Length * 2, _keyLen + ch.Label.Length));
            ch.Label.CopyTo(_key, _keyLen);
            _keyLen += ch.Label.Length;
        }

        void Pop()
        {
            _keyLen -= _nodes[_depth].Label.Length;
            _depth--;
        }

        /// <summary>The first key at or below the current node (preorder: a node's key precedes its children's).</summary>
        void Leftmost()
        {
            while (!_nodes[_depth].IsKey)
            {
                if (_nodes[_depth].ChildCount == 0)
                {
                    _eof = true; // only an empty root has neither
                    return;
                }
                Push(0);
            }
        }

        /// <summary>The last key at or below the current node: the deepest last child (a leaf is always a key).</summary>
        void Rightmost()
        {
            while (_nodes[_depth].ChildCount > 0) Push(_nodes[_depth].ChildCount - 1);
            if (!_nodes[_depth].IsKey) _eof = true;
        }

        /// <summary>The first key after the current node's whole subtree.</summary>
        void AdvanceUp()
        {
            while (_depth > 0)
            {
                Pop();
                int next = _idx[_depth] + 1;
                if (next < _nodes[_depth].ChildCount)
                {
                    Push(next);
                    Leftmost();
                    return;
                }
            }
            _eof = true;
        }

        /// <summary>The last key before the current node (the node's earlier siblings' subtrees, then its ancestors).</summary>
        void RetreatUp()
        {
            while (_depth > 0)
            {
                Pop();
                int prev = _idx[_depth] - 1;
                if (prev >= 0)
                {
                    Push(prev);
                    Rightmost();
                    return;
                }
                if (_nodes[_depth].IsKey) return;
            }
            _eof = true;
        }

        void SeekEqual(ReadOnlySpan<byte> key)
        {
            int pos = 0;
            while (pos < key.Length)
            {
                var n = _nodes[_depth];
                int i = n.IndexOf(key[pos]);
                if (i < 0 || !key[pos..].StartsWith(n.Children[i].Label))
                {
                    _eof = true;
                    return;
                }
                Push(i);
                pos += n.Children[i].Label.Length;
            }
            if (!_nodes[_depth].IsKey) _eof = true;
        }

        void SeekGreater(ReadOnlySpan<byte> key, bool strict)
        {
            int pos = 0;
            while (true)
            {
                var n = _nodes[_depth];
                if (pos == key.Length)
                {
                    // The current node's path is the key: it qualifies unless strict; its subtree is greater.
                    if (n.IsKey && !strict) return;
                    FirstFromChild(0);
                    return;
                }
                int i = n.IndexOf(key[pos]);
                if (i < 0)
                {
                    FirstFromChild(~i); // the first child greater than the key's byte
                    return;
                }
                var label = n.Children[i].Label;
                int common = key[pos..].CommonPrefixLength(label);
                if (common == label.Length)
                {
                    Push(i);
                    pos += common;
                    continue;
                }
                // The whole child subtree is greater than the key, or smaller: then continue after it.
                FirstFromChild(pos + common == key.Length || label[common] > key[pos + common] ? i : i + 1);
                return;
            }
        }

        void SeekLess(ReadOnlySpan<byte> key, bool strict)
        {
            int pos = 0;
            while (true)
            {
                var n = _nodes[_depth];
                if (pos == key.Length)
                {
                    if (n.IsKey && !strict) return;
                    RetreatUp(); // everything below is greater
                    return;
                }
                int i = n.IndexOf(key[pos]);
                if (i < 0)
                {
                    BeforeChild(~i); // children from ~i on are greater
                    return;
                }
                var label = n.Children[i].Label;
                int common = key[pos..].CommonPrefixLength(label);
                if (common == label.Length)
                {
                    Push(i);
                    pos += common;
                    continue;
                }
                if (pos + common < key.Length && label[common] < key[pos + common])
                {
                    Push(i); // the whole child subtree is smaller: its last key
                    Rightmost();
                    return;
                }
                BeforeChild(i); // the child subtree is greater
                return;
            }
        }

        /// <summary>The first key from the current node's child i on: that child's subtree, or after the node's whole subtree.</summary>
        void FirstFromChild(int i)
        {
            if (i < _nodes[_depth].ChildCount)
            {
                Push(i);
                Leftmost();
            }
            else AdvanceUp();
        }

        /// <summary>The last key before the current node's child i: an earlier sibling's subtree, the node itself, or further up.</summary>
        void BeforeChild(int i)
        {
            if (i > 0)
            {
                Push(i - 1);
                Rightmost();
            }
            else if (!_nodes[_depth].IsKey) RetreatUp();
        }
    }
}
