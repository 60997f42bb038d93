// TEMPORARY: scans until the per-slot key index lands (instance methods of Database replace these).
using Cinnabar.Keyspace;

namespace Cinnabar.Cluster;

static class SlotKeysFallback
{
    public static long CountKeysInSlot(this Database db, int slot)
    {
        long n = 0;
        foreach (var e in db.Main.Entries()) if (KeyHashSlot.Of(e.KeySpan) == slot) n++;
        return n;
    }

    public static List<byte[]> GetKeysInSlot(this Database db, int slot, int count)
    {
        var keys = new List<byte[]>();
        foreach (var e in db.Main.Entries())
        {
            if (keys.Count >= count) break;
            if (KeyHashSlot.Of(e.KeySpan) == slot) keys.Add(e.KeySpan.ToArray());
        }
        return keys;
    }

    public static int DeleteKeysInSlot(this Database db, int slot)
    {
        var keys = GetKeysInSlot(db, slot, int.MaxValue);
        foreach (var k in keys) db.Delete(k);
        return keys.Count;
    }
}
