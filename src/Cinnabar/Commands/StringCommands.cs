// String commands (Redis's t_string.c): GET and SET for now.
using Cinnabar.Keyspace;
using Cinnabar.Networking;

namespace Cinnabar.Commands;

public static class StringCommands
{
    [Command("get")]
    static void Get(Client c)
    {
        var o = c.Db.LookupRead(c.Args[1]);
        if (o == null)
        {
            c.Reply.Null();
            return;
        }
        if (o.Type != ObjType.String)
        {
            c.Reply.Error(Errors.WrongType);
            return;
        }
        if (o.Encoding == ObjEncoding.Int) c.Reply.BulkLong(o.IntValue);
        else c.Reply.Bulk((byte[])o.Ptr!);
    }

    [Command("set")]
    static void Set(Client c)
    {
        c.Db.SetKey(c.Args[1], RedisObject.CreateStringEncoded(c.Args[2]));
        c.Server.Stats.Dirty++;
        c.Reply.Ok();
    }
}
