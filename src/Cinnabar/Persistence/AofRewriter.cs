// The AOF-format base of a rewrite (aof.c's rewriteAppendOnlyFileRio), for aof-use-rdb-preamble
// no: per non-empty db a SELECT, then per key the fewest commands that rebuild it — SET for a
// string, RPUSH / SADD / ZADD / HMSET in batches of AOF_REWRITE_ITEMS_PER_CMD (64) items, a
// stream as one XADD per entry, XSETID and its groups' XGROUP CREATE / XCLAIM — and PEXPIREAT
// for a key with a TTL; with aof-timestamp-enabled a #TS line first. Output is buffered and
// written to the stream in 64 KB blocks.
using System.Buffers.Text;
using Cinnabar.DataTypes;
using Cinnabar.Keyspace;
using Cinnabar.Protocol;

namespace Cinnabar.Persistence;

public static class AofRewriter
{
    const int ItemsPerCmd = 64; // AOF_REWRITE_ITEMS_PER_CMD

    public static void Write(CinnabarServer server, Stream output, bool timestamp)
    {
        var w = new Writer(output);
        if (timestamp) WriteTimestamp(w);
        WriteFunctions(server, w);
        foreach (var db in server.Databases)
        {
            if (db.Count == 0) continue;
            WriteSelect(w, db.Id);
            foreach (var o in db.Main.Entries())
            {
                WriteKey(w, o, db.GetExpire(o.KeySpan));
                w.FlushIfFull();
            }
        }
        w.Flush();
    }

    /// <summary>The #TS annotation a base starts with under aof-timestamp-enabled.</summary>
    internal static void WriteTimestamp(Writer w) =>
        w.Raw(System.Text.Encoding.ASCII.GetBytes($"#TS:{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}\r\n"));

    /// <summary>rewriteFunctions: each function library as FUNCTION LOAD of its code, before the keys.</summary>
    internal static void WriteFunctions(CinnabarServer server, Writer w)
    {
        foreach (var lib in server.Lua.Functions.Libraries)
        {
            w.Count(3);
            w.Bulk("FUNCTION"u8);
            w.Bulk("LOAD"u8);
            w.Bulk(lib.Code);
        }
    }

    internal static void WriteSelect(Writer w, int db)
    {
        w.Raw("*2\r\n$6\r\nSELECT\r\n"u8);
        w.Bulk(db);
    }

    /// <summary>The commands that rebuild one key (and its TTL as PEXPIREAT; expire -1 for none).</summary>
    internal static void WriteKey(Writer w, RedisObject o, long expire)
    {
        var key = o.KeySpan;
        switch (o.Type)
        {
            case ObjType.String:
                w.Raw("*3\r\n$3\r\nSET\r\n"u8);
                w.Bulk(key);
                w.Bulk(o.StringBytes());
                break;
            case ObjType.List:
                RewriteList(w, key, (Quicklist)o.Ptr!);
                break;
            case ObjType.Set:
                RewriteSet(w, key, o);
                break;
            case ObjType.ZSet:
                RewriteSortedSet(w, key, o);
                break;
            case ObjType.Hash:
                RewriteHash(w, key, o);
                break;
            case ObjType.Stream:
                RewriteStream(w, key, (RedisStream)o.Ptr!);
                break;
            default:
                throw new NotSupportedException("AOF rewrite: no form for " + RedisObject.TypeName(o.Type));
        }
        if (expire != -1)
        {
            w.Raw("*3\r\n$9\r\nPEXPIREAT\r\n"u8);
            w.Bulk(key);
            w.Bulk(expire);
        }
    }

    /// <summary>The header of the next batch: "*&lt;2+n*per&gt;", the command, the key (n = items left, at most 64).</summary>
    static void BatchHeader(Writer w, ReadOnlySpan<byte> cmd, ReadOnlySpan<byte> key, long itemsLeft, int perItem)
    {
        long n = Math.Min(itemsLeft, ItemsPerCmd);
        w.Count(2 + n * perItem);
        w.Bulk(cmd);
        w.Bulk(key);
    }

    static void RewriteList(Writer w, ReadOnlySpan<byte> key, Quicklist ql)
    {
        long items = ql.Count, count = 0;
        var it = ql.GetIterator(fromHead: true);
        while (it.Next(out var e))
        {
            if (count == 0) BatchHeader(w, "RPUSH"u8, key, items, 1);
            if (Quicklist.Get(e, out var s, out long v)) w.Bulk(s);
            else w.Bulk(v);
            if (++count == ItemsPerCmd) count = 0;
            items--;
        }
    }

    static void RewriteSet(Writer w, ReadOnlySpan<byte> key, RedisObject o)
    {
        long count = 0;
        if (o.Ptr is Intset iset)
        {
            long items = iset.Count;
            for (int i = 0; i < iset.Count; i++)
            {
                if (count == 0) BatchHeader(w, "SADD"u8, key, items, 1);
                w.Bulk(iset.Get(i));
                if (++count == ItemsPerCmd) count = 0;
                items--;
            }
            return;
        }
        var d = (StringDict)o.Ptr!;
        long left = d.Count;
        foreach (var e in d.Entries())
        {
            if (count == 0) BatchHeader(w, "SADD"u8, key, left, 1);
            w.Bulk(e.Key);
            if (++count == ItemsPerCmd) count = 0;
            left--;
        }
    }

    static void RewriteSortedSet(Writer w, ReadOnlySpan<byte> key, RedisObject o)
    {
        var z = new ZSet(o);
        long items = z.Length, count = 0;
        foreach (var (ele, score) in z.All())
        {
            if (count == 0) BatchHeader(w, "ZADD"u8, key, items, 2);
            w.Bulk(System.Text.Encoding.ASCII.GetBytes(ReplyWriter.FormatDouble(score)));
            w.Bulk(ele);
            if (++count == ItemsPerCmd) count = 0;
            items--;
        }
    }

    static void RewriteHash(Writer w, ReadOnlySpan<byte> key, RedisObject o)
    {
        long count = 0;
        if (o.Ptr is byte[])
        {
            var lp = o.EmbeddedListpack;
            long items = lp.Count / 2;
            for (int p = lp.First(); p >= 0; p = lp.Next(p))
            {
                if (count == 0) BatchHeader(w, "HMSET"u8, key, items, 2);
                WriteEntry(w, lp, p);
                p = lp.Next(p);
                WriteEntry(w, lp, p);
                if (++count == ItemsPerCmd) count = 0;
                items--;
            }
            return;
        }
        var d = (StringDict)o.Ptr!;
        long left = d.Count;
        foreach (var e in d.Entries())
        {
            if (count == 0) BatchHeader(w, "HMSET"u8, key, left, 2);
            w.Bulk(e.Key);
            w.Bulk(e.Value!);
            if (++count == ItemsPerCmd) count = 0;
            left--;
        }
    }

    /// <summary>
    /// rewriteStreamObject: an XADD per live entry (an empty stream: XADD MAXLEN 0 of a throwaway
    /// entry), XSETID for the last ID and the 7.0 metadata, then per group XGROUP CREATE with its
    /// read counter and per consumer XGROUP CREATECONSUMER (no pending entries) or an XCLAIM
    /// FORCE of each pending entry with its delivery time and count.
    /// </summary>
    static void RewriteStream(Writer w, ReadOnlySpan<byte> key, RedisStream s)
    {
        Span<byte> id = stackalloc byte[StreamId.MaxFormattedLength];
        if (s.Length > 0)
        {
            using var it = StreamIterator.Start(s, null, null, rev: false);
            while (it.GetId(out var entryId, out long numFields))
            {
                w.Count(3 + numFields * 2);
                w.Bulk("XADD"u8);
                w.Bulk(key);
                w.Bulk(id[..entryId.Format(id)]);
                for (long i = 0; i < numFields; i++)
                {
                    it.GetField(out var field, out var value);
                    w.Bulk(field);
                    w.Bulk(value);
                }
            }
        }
        else
        {
            w.Count(7);
            w.Bulk("XADD"u8);
            w.Bulk(key);
            w.Bulk("MAXLEN"u8);
            w.Bulk("0"u8);
            w.Bulk("0-1"u8);
            w.Bulk("x"u8);
            w.Bulk("y"u8);
        }

        w.Count(7);
        w.Bulk("XSETID"u8);
        w.Bulk(key);
        w.Bulk(id[..s.LastId.Format(id)]);
        w.Bulk("ENTRIESADDED"u8);
        w.Bulk(s.EntriesAdded);
        w.Bulk("MAXDELETEDID"u8);
        w.Bulk(id[..s.MaxDeletedEntryId.Format(id)]);

        if (s.Groups == null) return;
        var gi = s.Groups.GetIterator();
        gi.Seek(RaxSeek.First);
        while (gi.Next())
        {
            var group = gi.Value;
            w.Count(7);
            w.Bulk("XGROUP"u8);
            w.Bulk("CREATE"u8);
            w.Bulk(key);
            w.Bulk(gi.Key);
            w.Bulk(id[..group.LastId.Format(id)]);
            w.Bulk("ENTRIESREAD"u8);
            w.Bulk(group.EntriesRead);

            var ci = group.Consumers.GetIterator();
            ci.Seek(RaxSeek.First);
            while (ci.Next())
            {
                var consumer = ci.Value;
                if (consumer.Pel.Count == 0)
                {
                    w.Count(5);
                    w.Bulk("XGROUP"u8);
                    w.Bulk("CREATECONSUMER"u8);
                    w.Bulk(key);
                    w.Bulk(gi.Key);
                    w.Bulk(consumer.Name);
                    continue;
                }
                var pi = consumer.Pel.GetIterator();
                pi.Seek(RaxSeek.First);
                while (pi.Next())
                {
                    var nack = pi.Value;
                    w.Count(12);
                    w.Bulk("XCLAIM"u8);
                    w.Bulk(key);
                    w.Bulk(gi.Key);
                    w.Bulk(consumer.Name);
                    w.Bulk("0"u8);
                    w.Bulk(id[..StreamId.Decode(pi.Key).Format(id)]);
                    w.Bulk("TIME"u8);
                    w.Bulk(nack.DeliveryTime);
                    w.Bulk("RETRYCOUNT"u8);
                    w.Bulk(nack.DeliveryCount);
                    w.Bulk("JUSTID"u8);
                    w.Bulk("FORCE"u8);
                }
            }
        }
    }

    static void WriteEntry(Writer w, Listpack lp, int p)
    {
        if (lp.Get(p, out var s, out long v)) w.Bulk(s);
        else w.Bulk(v);
    }

    /// <summary>rio over a stream: bulk strings, bulk integers and counts into a reused 64 KB block.</summary>
    internal sealed class Writer(Stream output)
    {
        byte[] _buf = new byte[1 << 16];
        int _len;

        /// <summary>Bytes buffered and not yet written to the stream.</summary>
        public int Pending => _len;

        public void Raw(ReadOnlySpan<byte> bytes)
        {
            if (_len + bytes.Length > _buf.Length)
            {
                Flush();
                if (bytes.Length > _buf.Length) Array.Resize(ref _buf, bytes.Length);
            }
            bytes.CopyTo(_buf.AsSpan(_len));
            _len += bytes.Length;
        }

        /// <summary>rioWriteBulkCount('*', n).</summary>
        public void Count(long n) => Header((byte)'*', n);

        public void Bulk(ReadOnlySpan<byte> s)
        {
            Header((byte)'$', s.Length);
            Raw(s);
            Raw("\r\n"u8);
        }

        /// <summary>rioWriteBulkLongLong.</summary>
        public void Bulk(long v)
        {
            Span<byte> digits = stackalloc byte[20];
            Utf8Formatter.TryFormat(v, digits, out int n);
            Bulk(digits[..n]);
        }

        void Header(byte prefix, long n)
        {
            Span<byte> h = stackalloc byte[24];
            h[0] = prefix;
            Utf8Formatter.TryFormat(n, h[1..], out int w);
            h[1 + w] = (byte)'\r';
            h[2 + w] = (byte)'\n';
            Raw(h[..(3 + w)]);
        }

        public void FlushIfFull()
        {
            if (_len >= _buf.Length / 2) Flush();
        }

        public void Flush()
        {
            output.Write(_buf, 0, _len);
            _len = 0;
        }
    }
}
