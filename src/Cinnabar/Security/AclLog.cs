// The ACL security log (acl.c's ACLLog / addACLLogEntry): denied commands, keys, channels and
// failed AUTHs, newest first, bounded by acllog-max-len. An event like one of the ten newest
// (same reason, context, object and user, within 60 s) bumps that entry's count and moves it
// to the front instead of adding another.
namespace Cinnabar.Security;

public enum AclLogContext { TopLevel, Multi, Lua, Module }

public sealed class AclLogEntry
{
    public long Count = 1;
    public AclDenial Reason;
    public AclLogContext Context;
    public byte[] Object = [];
    public string Username = "";
    public long CreatedMs;
    public string ClientInfo = "";

    public string ReasonName => Reason switch
    {
        AclDenial.Command => "command",
        AclDenial.Key => "key",
        AclDenial.Channel => "channel",
        AclDenial.Auth => "auth",
        _ => "unknown",
    };

    public string ContextName => Context switch
    {
        AclLogContext.TopLevel => "toplevel",
        AclLogContext.Multi => "multi",
        AclLogContext.Lua => "lua",
        AclLogContext.Module => "module",
        _ => "unknown",
    };
}

public sealed class AclLog
{
    const long GroupingMaxDeltaMs = 60000;
    readonly LinkedList<AclLogEntry> _entries = new();

    public int Count => _entries.Count;

    public IEnumerable<AclLogEntry> Newest => _entries;

    public void Reset() => _entries.Clear();

    public void Add(AclLogEntry e, long maxLen)
    {
        int toScan = 10;
        for (var node = _entries.First; node != null && toScan-- > 0; node = node.Next)
        {
            var cur = node.Value;
            if (cur.Reason != e.Reason || cur.Context != e.Context || Math.Abs(cur.CreatedMs - e.CreatedMs) > GroupingMaxDeltaMs
                || !cur.Object.AsSpan().SequenceEqual(e.Object) || cur.Username != e.Username)
                continue;
            _entries.Remove(node);
            _entries.AddFirst(node);
            cur.ClientInfo = e.ClientInfo;
            cur.CreatedMs = e.CreatedMs;
            cur.Count++;
            return;
        }
        _entries.AddFirst(e);
        while (_entries.Count > maxLen) _entries.RemoveLast();
    }
}
