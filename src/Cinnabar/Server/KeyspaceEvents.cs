// Keyspace notifications (notify.c): the notify-keyspace-events flag classes and the single
// entry point write commands call after a change, notifyKeyspaceEvent(class, event, key, db).
// When no class is enabled the call returns at once; delivery on __keyspace@db__:key and
// __keyevent@db__:event is done by the Pub/Sub mechanism through the Publish hook.
namespace Cinnabar.Server;

[Flags]
public enum NotifyClass
{
    None = 0,
    Keyspace = 1 << 0,   // K
    Keyevent = 1 << 1,   // E
    Generic = 1 << 2,    // g
    String = 1 << 3,     // $
    List = 1 << 4,       // l
    Set = 1 << 5,        // s
    Hash = 1 << 6,       // h
    ZSet = 1 << 7,       // z
    Expired = 1 << 8,    // x
    Evicted = 1 << 9,    // e
    Stream = 1 << 10,    // t
    KeyMiss = 1 << 11,   // m
    Module = 1 << 12,    // d
    New = 1 << 13,       // n
    All = Generic | String | List | Set | Hash | ZSet | Expired | Evicted | Stream | Module, // A
}

public sealed class KeyspaceEvents(ServerConfig config)
{
    public NotifyClass Flags => config.NotifyKeyspaceEvents;

    /// <summary>Delivers (channel, message) to subscribers; installed by Pub/Sub.</summary>
    public Action<byte[], byte[]>? Publish;

    public static bool TryParseFlags(string s, out NotifyClass flags)
    {
        flags = NotifyClass.None;
        foreach (char ch in s)
        {
            flags |= ch switch
            {
                'A' => NotifyClass.All,
                'g' => NotifyClass.Generic,
                '$' => NotifyClass.String,
                'l' => NotifyClass.List,
                's' => NotifyClass.Set,
                'h' => NotifyClass.Hash,
                'z' => NotifyClass.ZSet,
                'x' => NotifyClass.Expired,
                'e' => NotifyClass.Evicted,
                'K' => NotifyClass.Keyspace,
                'E' => NotifyClass.Keyevent,
                't' => NotifyClass.Stream,
                'm' => NotifyClass.KeyMiss,
                'd' => NotifyClass.Module,
                'n' => NotifyClass.New,
                _ => (NotifyClass)(-1),
            };
            if ((int)flags == -1 || flags < 0) return false;
        }
        return true;
    }

    /// <summary>keyspaceEventsFlagsToString: the canonical spelling CONFIG GET returns.</summary>
    public static string FlagsToString(NotifyClass f)
    {
        var sb = new System.Text.StringBuilder();
        if ((f & NotifyClass.All) == NotifyClass.All) sb.Append('A');
        else
        {
            if (f.HasFlag(NotifyClass.Generic)) sb.Append('g');
            if (f.HasFlag(NotifyClass.String)) sb.Append('$');
            if (f.HasFlag(NotifyClass.List)) sb.Append('l');
            if (f.HasFlag(NotifyClass.Set)) sb.Append('s');
            if (f.HasFlag(NotifyClass.Hash)) sb.Append('h');
            if (f.HasFlag(NotifyClass.ZSet)) sb.Append('z');
            if (f.HasFlag(NotifyClass.Expired)) sb.Append('x');
            if (f.HasFlag(NotifyClass.Evicted)) sb.Append('e');
            if (f.HasFlag(NotifyClass.Stream)) sb.Append('t');
            if (f.HasFlag(NotifyClass.Module)) sb.Append('d');
            if (f.HasFlag(NotifyClass.New)) sb.Append('n');
        }
        if (f.HasFlag(NotifyClass.Keyspace)) sb.Append('K');
        if (f.HasFlag(NotifyClass.Keyevent)) sb.Append('E');
        if (f.HasFlag(NotifyClass.KeyMiss)) sb.Append('m');
        return sb.ToString();
    }

    /// <summary>notifyKeyspaceEvent: call after every change with the event name Redis uses.</summary>
    public void Notify(NotifyClass type, string eventName, ReadOnlySpan<byte> key, int dbid)
    {
        if ((Flags & type) == 0 || Publish == null) return;
        var ev = System.Text.Encoding.ASCII.GetBytes(eventName);
        if (Flags.HasFlag(NotifyClass.Keyspace))
        {
            var ch = Concat($"__keyspace@{dbid}__:", key);
            Publish(ch, ev);
        }
        if (Flags.HasFlag(NotifyClass.Keyevent))
        {
            var ch = System.Text.Encoding.ASCII.GetBytes($"__keyevent@{dbid}__:{eventName}");
            Publish(ch, key.ToArray());
        }
    }

    static byte[] Concat(string prefix, ReadOnlySpan<byte> key)
    {
        var p = System.Text.Encoding.ASCII.GetBytes(prefix);
        var r = new byte[p.Length + key.Length];
        p.CopyTo(r, 0);
        key.CopyTo(r.AsSpan(p.Length));
        return r;
    }
}
