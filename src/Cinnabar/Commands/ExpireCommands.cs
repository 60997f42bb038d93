// Expiry commands (Redis's expire.c): EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT with NX/XX/GT/LT,
// TTL, PTTL, EXPIRETIME, PEXPIRETIME and PERSIST. All four setters share ExpireGeneric, which
// turns the argument into an absolute unix-ms deadline (rejecting overflow as Redis does) and
// deletes the key at once when the deadline is already past (a "del" event, not "expired").
using Cinnabar.Networking;
using Cinnabar.Server;

namespace Cinnabar.Commands;

public static class ExpireCommands
{
    [Flags]
    enum ExpireFlags
    {
        None = 0,
        Nx = 1,
        Xx = 2,
        Gt = 4,
        Lt = 8,
    }

    /// <summary>parseExtendedExpireArgumentsOrReply.</summary>
    static bool TryParseExpireFlags(Client c, out ExpireFlags flags)
    {
        flags = ExpireFlags.None;
        for (int j = 3; j < c.Args.Count; j++)
        {
            if (c.Args.Is(j, "nx")) flags |= ExpireFlags.Nx;
            else if (c.Args.Is(j, "xx")) flags |= ExpireFlags.Xx;
            else if (c.Args.Is(j, "gt")) flags |= ExpireFlags.Gt;
            else if (c.Args.Is(j, "lt")) flags |= ExpireFlags.Lt;
            else
            {
                c.Reply.Error("Unsupported option " + c.Args.ToStringAt(j));
                return false;
            }
        }
        if (flags.HasFlag(ExpireFlags.Nx) && (flags & (ExpireFlags.Xx | ExpireFlags.Gt | ExpireFlags.Lt)) != 0)
        {
            c.Reply.Error("NX and XX, GT or LT options at the same time are not compatible");
            return false;
        }
        if (flags.HasFlag(ExpireFlags.Gt) && flags.HasFlag(ExpireFlags.Lt))
        {
            c.Reply.Error("GT and LT options at the same time are not compatible");
            return false;
        }
        return true;
    }

    /// <summary>expireGenericCommand: basetimeMs is now for relative forms, 0 for the -AT forms.</summary>
    static void ExpireGeneric(Client c, long basetimeMs, bool seconds)
    {
        var key = c.Args[1];
        if (!TryParseExpireFlags(c, out var flags)) return;
        if (!Arguments.TryGetLong(c, 2, out long when)) return;
        string invalid = string.Format(System.Globalization.CultureInfo.InvariantCulture, Errors.InvalidExpire, c.Cmd!.FullName);
        if (seconds)
        {
            if (when > long.MaxValue / 1000 || when < long.MinValue / 1000)
            {
                c.Reply.Error(invalid);
                return;
            }
            when *= 1000;
        }
        if (when > long.MaxValue - basetimeMs)
        {
            c.Reply.Error(invalid);
            return;
        }
        when += basetimeMs;

        var o = c.Db.LookupWrite(key);
        if (o == null)
        {
            c.Reply.Integer(0);
            return;
        }
        if (flags != ExpireFlags.None)
        {
            long current = c.Db.GetExpire(key);
            // A key without a TTL counts as an infinite TTL: GT never succeeds on it, LT always does.
            bool refused = (flags.HasFlag(ExpireFlags.Nx) && current != -1)
                || (flags.HasFlag(ExpireFlags.Xx) && current == -1)
                || (flags.HasFlag(ExpireFlags.Gt) && (current == -1 || when <= current))
                || (flags.HasFlag(ExpireFlags.Lt) && current != -1 && when >= current);
            if (refused)
            {
                c.Reply.Integer(0);
                return;
            }
        }

        // checkAlreadyExpired: a replica or a loading server keeps the key and waits for the DEL.
        var w = c.Db.BeginWrite(key, o);
        if (when <= c.Server.NowMs && !c.Server.Loading && !c.Server.IsReplica)
        {
            StringCommands.PropagateAsDeletion(c, key);
            w.Delete();
            w.End(NotifyClass.Generic, "del");
            c.Reply.Integer(1);
            return;
        }
        w.SetExpire(when);
        if (basetimeMs != 0 || seconds)
        {
            // Propagated as PEXPIREAT with the absolute time (NX/XX/GT/LT kept), so every copy expires together.
            var argv = c.Server.Propagation.ReplaceArgv(c.Args.Count).Add("PEXPIREAT"u8).Add(key).Add(when);
            for (int j = 3; j < c.Args.Count; j++) argv.Add(c.Args[j]);
        }
        c.Reply.Integer(1);
        w.End(NotifyClass.Generic, "expire");
    }

    [Command("expire")]
    static void Expire(Client c) => ExpireGeneric(c, c.Server.NowMs, seconds: true);

    [Command("pexpire")]
    static void PExpire(Client c) => ExpireGeneric(c, c.Server.NowMs, seconds: false);

    [Command("expireat")]
    static void ExpireAt(Client c) => ExpireGeneric(c, 0, seconds: true);

    [Command("pexpireat")]
    static void PExpireAt(Client c) => ExpireGeneric(c, 0, seconds: false);

    /// <summary>ttlGenericCommand: -2 for a missing key, -1 without TTL; seconds round to nearest.</summary>
    static void TtlGeneric(Client c, bool outputMs, bool outputAbsolute)
    {
        var key = c.Args[1];
        if (c.Db.LookupRead(key, touch: false) == null)
        {
            c.Reply.Integer(-2);
            return;
        }
        long expire = c.Db.GetExpire(key);
        if (expire == -1)
        {
            c.Reply.Integer(-1);
            return;
        }
        long ttl = outputAbsolute ? expire : expire - c.Server.NowMs;
        if (ttl < 0) ttl = 0;
        c.Reply.Integer(outputMs ? ttl : (ttl + 500) / 1000);
    }

    [Command("ttl")]
    static void Ttl(Client c) => TtlGeneric(c, outputMs: false, outputAbsolute: false);

    [Command("pttl")]
    static void PTtl(Client c) => TtlGeneric(c, outputMs: true, outputAbsolute: false);

    [Command("expiretime")]
    static void ExpireTime(Client c) => TtlGeneric(c, outputMs: false, outputAbsolute: true);

    [Command("pexpiretime")]
    static void PExpireTime(Client c) => TtlGeneric(c, outputMs: true, outputAbsolute: true);

    [Command("persist")]
    static void Persist(Client c)
    {
        var key = c.Args[1];
        var o = c.Db.LookupWrite(key);
        if (o == null || c.Db.GetExpire(key) == -1)
        {
            c.Reply.Integer(0);
            return;
        }
        var w = c.Db.BeginWrite(key, o);
        w.RemoveExpire();
        w.End(NotifyClass.Generic, "persist");
        c.Reply.Integer(1);
    }
}
