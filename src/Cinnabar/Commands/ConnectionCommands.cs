// Connection commands (Redis's PING, ECHO, SELECT, QUIT, AUTH, HELLO, RESET): the protocol
// handshake, authentication as an ACL user (Security/Acl.cs; the one-argument AUTH is the
// default user's requirepass), database selection and RESET back to a fresh connection's state.
using Cinnabar.Networking;
using Cinnabar.Protocol;

namespace Cinnabar.Commands;

public static class ConnectionCommands
{
    [Command("ping")]
    static void Ping(Client c)
    {
        if (c.Args.Count > 2)
        {
            c.Reply.Error("wrong number of arguments for 'ping' command");
            return;
        }
        // In RESP2 a subscribed client gets ["pong", msg] (Redis's pubsub context reply).
        if (c.HasFlag(ClientFlags.PubSub) && c.Reply.Protocol == 2)
        {
            c.Reply.ArrayLen(2);
            c.Reply.Bulk("pong"u8);
            c.Reply.Bulk(c.Args.Count == 1 ? [] : c.Args[1]);
            return;
        }
        if (c.Args.Count == 1) c.Reply.Pong();
        else c.Reply.Bulk(c.Args[1]);
    }

    [Command("echo")]
    static void Echo(Client c) => c.Reply.Bulk(c.Args[1]);

    [Command("select")]
    static void Select(Client c)
    {
        if (!RespParser.TryParseLong(c.Args[1], out long id) || id < int.MinValue || id > int.MaxValue)
        {
            c.Reply.Error("value is not an integer or out of range");
            return;
        }
        if (c.Server.Cluster != null && id != 0)
        {
            c.Reply.Error("SELECT is not allowed in cluster mode");
            return;
        }
        if (id < 0 || id >= c.Server.Databases.Length)
        {
            c.Reply.Error("DB index is out of range");
            return;
        }
        c.Db = c.Server.Databases[id];
        c.Reply.Ok();
    }

    [Command("quit")]
    static void Quit(Client c)
    {
        c.Reply.Ok();
        c.Flags |= ClientFlags.CloseAfterReply;
    }

    [Command("auth")]
    static void Auth(Client c)
    {
        if (c.Args.Count > 3)
        {
            c.Reply.Error("syntax error");
            return;
        }
        if (c.Args.Count == 2 && c.Server.Acl.DefaultUser.HasFlag(Security.UserFlags.NoPass))
        {
            c.Reply.Error("AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
            return;
        }
        byte[] user = c.Args.Count == 3 ? c.Args[1].ToArray() : "default"u8.ToArray();
        if (c.Server.Acl.Authenticate(c, user, c.Args[c.Args.Count - 1].ToArray())) c.Reply.Ok();
        else c.Reply.Error(WrongPass);
    }

    const string WrongPass = "-WRONGPASS invalid username-password pair or user is disabled.";

    [Command("hello")]
    static void Hello(Client c)
    {
        var args = c.Args;
        long ver = 0;
        int next = 1;
        if (args.Count >= 2)
        {
            if (!Arguments.TryGetLong(c, 1, out ver, "Protocol version is not an integer or out of range")) return;
            next = 2;
            if (ver < 2 || ver > 3)
            {
                c.Reply.Error("-NOPROTO unsupported protocol version");
                return;
            }
        }
        // Redis 7.0 applies each option as it reads it: an AUTH or SETNAME before a bad option
        // stays done, and SETNAME works before the authentication check.
        for (int j = next; j < args.Count; j++)
        {
            int moreargs = args.Count - 1 - j;
            if (args.Is(j, "AUTH") && moreargs >= 2)
            {
                if (!c.Server.Acl.Authenticate(c, args[j + 1].ToArray(), args[j + 2].ToArray()))
                {
                    c.Reply.Error(WrongPass);
                    return;
                }
                j += 2;
            }
            else if (args.Is(j, "SETNAME") && moreargs >= 1)
            {
                if (!ClientCommands.SetNameOrReply(c, args.ToStringAt(j + 1))) return;
                j++;
            }
            else
            {
                c.Reply.ErrorWithRawBytes($"Syntax error in HELLO option '{Arguments.CStr(args[j])}'");
                return;
            }
        }
        if (c.Server.AuthRequired(c))
        {
            c.Reply.Error("-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
            return;
        }
        if (ver != 0) c.Reply.Protocol = (int)ver;
        var r = c.Reply;
        r.MapLen(7);
        r.Bulk("server"u8); r.Bulk("redis"u8);
        r.Bulk("version"u8); r.Bulk(CinnabarServer.RedisVersion);
        r.Bulk("proto"u8); r.Integer(r.Protocol);
        r.Bulk("id"u8); r.Integer(c.Id);
        r.Bulk("mode"u8); r.Bulk("standalone"u8);
        r.Bulk("role"u8); r.Bulk(c.Server.IsReplica ? "replica"u8 : "master"u8);
        r.Bulk("modules"u8); r.EmptyArray();
    }

    /// <summary>
    /// RESET (clearClientConnectionState): back to a fresh connection's state: db 0, RESP2, no
    /// name, replies on, default user (unauthenticated if a password is set). MULTI/WATCH,
    /// Pub/Sub, tracking and MONITOR drop their own state (CinnabarServer.ClearClientConnectionState).
    /// </summary>
    [Command("reset")]
    static void Reset(Client c)
    {
        if (c.HasFlag(ClientFlags.Master | ClientFlags.Replica) && !c.HasFlag(ClientFlags.Monitor))
        {
            c.Reply.Error("can only reset normal client connections");
            return;
        }
        c.Server.ClearClientConnectionState(c);
        c.Db = c.Server.Databases[0];
        c.Reply.Protocol = 2;
        c.Name = null;
        c.Server.Acl.SetDefaultAuth(c);
        c.Flags &= ~(ClientFlags.Monitor | ClientFlags.PubSub | ClientFlags.NoEvict | ClientFlags.ReplyOff | ClientFlags.ReplySkipNext);
        // A pending CLIENT REPLY SKIP still swallows this reply, as in Redis.
        c.Reply.Enabled = !c.HasFlag(ClientFlags.ReplySkip);
        c.Reply.Status("RESET"u8);
    }
}

/// <summary>Shared validation for client names (CLIENT SETNAME, HELLO SETNAME).</summary>
public static class ClientCommandsValidation
{
    /// <summary>Names may not contain spaces or characters outside '!'..'~'.</summary>
    public static bool IsValidName(string name)
    {
        foreach (char ch in name)
            if (ch < '!' || ch > '~') return false;
        return true;
    }
}
