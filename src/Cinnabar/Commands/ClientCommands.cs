// CLIENT subcommands (Redis's clientCommand in networking.c): introspection (ID, INFO, LIST,
// GETNAME), connection control (SETNAME, KILL, REPLY, NO-EVICT, UNBLOCK) and server-wide
// CLIENT PAUSE/UNPAUSE. The info line is catClientInfoString's field order of Redis 7.0.15;
// state owned by other mechanisms (MULTI, Pub/Sub, tracking) is read from the client's typed fields.
using System.Globalization;
using System.Text;
using Cinnabar.Networking;

namespace Cinnabar.Commands;

public static class ClientCommands
{
    /// <summary>getClientTypeByName.</summary>
    static bool TryParseClientType(string name, out ClientType type)
    {
        switch (name.ToLowerInvariant())
        {
            case "normal": type = ClientType.Normal; return true;
            case "slave" or "replica": type = ClientType.Replica; return true;
            case "pubsub": type = ClientType.PubSub; return true;
            case "master": type = ClientType.Master; return true;
            default: type = default; return false;
        }
    }

    [Command("client|id")]
    static void Id(Client c) => c.Reply.Integer(c.Id);

    [Command("client|info")]
    static void Info(Client c) => c.Reply.Verbatim(InfoString(c) + "\n");

    [Command("client|list")]
    static void List(Client c)
    {
        var args = c.Args;
        IEnumerable<Client> selected;
        if (args.Count == 2)
            selected = c.Server.Clients.All;
        else if (args.Count == 4 && args.Is(2, "type"))
        {
            string name = args.ToStringAt(3);
            if (!TryParseClientType(name, out var type))
            {
                c.Reply.Error($"Unknown client type '{name}'");
                return;
            }
            selected = c.Server.Clients.All.Where(x => ClientEviction.TypeOf(x) == type);
        }
        else if (args.Count > 3 && args.Is(2, "id"))
        {
            var ids = new List<Client>();
            for (int j = 3; j < args.Count; j++)
            {
                if (!Arguments.TryGetLong(c, j, out long id, "Invalid client ID")) return;
                if (c.Server.Clients.TryGet(id, out var target)) ids.Add(target);
            }
            // Listed in argument order, duplicates included, as Redis does.
            var sbIds = new StringBuilder();
            foreach (var t in ids) sbIds.Append(InfoString(t)).Append('\n');
            c.Reply.Verbatim(sbIds.ToString());
            return;
        }
        else
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        var sb = new StringBuilder();
        foreach (var x in selected.OrderBy(x => x.Id)) sb.Append(InfoString(x)).Append('\n');
        c.Reply.Verbatim(sb.ToString());
    }

    [Command("client|getname")]
    static void GetName(Client c)
    {
        if (c.Name == null) c.Reply.Null();
        else c.Reply.Bulk(c.Name);
    }

    [Command("client|setname")]
    static void SetName(Client c)
    {
        if (SetNameOrReply(c, c.Args.ToStringAt(2))) c.Reply.Ok();
    }

    /// <summary>clientSetNameOrReply: an empty name removes the name; otherwise only '!'..'~' is allowed.</summary>
    public static bool SetNameOrReply(Client c, string name)
    {
        if (name.Length == 0)
        {
            c.Name = null;
            return true;
        }
        if (!ClientCommandsValidation.IsValidName(name))
        {
            c.Reply.Error("Client names cannot contain spaces, newlines or special characters.");
            return false;
        }
        c.Name = name;
        return true;
    }

    [Command("client|kill")]
    static void Kill(Client c)
    {
        var args = c.Args;
        string? addr = null, laddr = null, user = null;
        long id = 0;
        ClientType? type = null;
        bool skipme = true;
        if (args.Count == 3)
        {
            addr = args.ToStringAt(2);
            skipme = false; // with the old form a client may kill itself
        }
        else if (args.Count > 3)
        {
            for (int i = 2; i < args.Count; i += 2)
            {
                if (i + 1 >= args.Count)
                {
                    c.Reply.Error(Errors.Syntax); // an option without its value
                    return;
                }
                string value = args.ToStringAt(i + 1);
                if (args.Is(i, "id"))
                {
                    if (!Arguments.TryGetLongInRange(c, i + 1, 1, long.MaxValue, out id, "client-id should be greater than 0")) return;
                }
                else if (args.Is(i, "type"))
                {
                    if (!TryParseClientType(value, out var t))
                    {
                        c.Reply.Error($"Unknown client type '{value}'");
                        return;
                    }
                    type = t;
                }
                else if (args.Is(i, "addr")) addr = value;
                else if (args.Is(i, "laddr")) laddr = value;
                else if (args.Is(i, "user"))
                {
                    if (c.Server.Acl.GetUser(value) == null)
                    {
                        c.Reply.Error($"No such user '{value}'");
                        return;
                    }
                    user = value;
                }
                else if (args.Is(i, "skipme"))
                {
                    if (args.Is(i + 1, "yes")) skipme = true;
                    else if (args.Is(i + 1, "no")) skipme = false;
                    else
                    {
                        c.Reply.Error(Errors.Syntax);
                        return;
                    }
                }
                else
                {
                    c.Reply.Error(Errors.Syntax);
                    return;
                }
            }
        }
        else
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }

        long killed = 0;
        bool closeThisClient = false;
        foreach (var target in c.Server.Clients.All.OrderBy(x => x.Id).ToList())
        {
            if (addr != null && target.RemoteAddress != addr) continue;
            if (laddr != null && target.LocalAddress != laddr) continue;
            if (type != null && ClientEviction.TypeOf(target) != type) continue;
            if (id != 0 && target.Id != id) continue;
            if (user != null && target.User?.Name != user) continue;
            if (target == c && skipme) continue;
            if (target == c) closeThisClient = true;
            else c.Server.Clients.FreeClient(target);
            killed++;
        }
        if (args.Count == 3)
        {
            if (killed == 0) c.Reply.Error("No such client");
            else c.Reply.Ok();
        }
        else c.Reply.Integer(killed);
        if (closeThisClient) c.Flags |= ClientFlags.CloseAfterReply;
    }

    [Command("client|pause")]
    static void Pause(Client c)
    {
        bool writesOnly = false;
        if (c.Args.Count == 4)
        {
            if (c.Args.Is(3, "write")) writesOnly = true;
            else if (!c.Args.Is(3, "all"))
            {
                c.Reply.Error("CLIENT PAUSE mode must be WRITE or ALL");
                return;
            }
        }
        else if (c.Args.Count > 4)
        {
            SubcommandSyntaxError(c);
            return;
        }
        if (!Arguments.TryGetTimeoutMs(c, 2, out long endMs)) return;
        c.Server.Pause.PauseClients(endMs, writesOnly);
        c.Reply.Ok();
    }

    /// <summary>addSubcommandSyntaxError: the subcommand exists but not with this many arguments.</summary>
    static void SubcommandSyntaxError(Client c) =>
        c.Reply.Error($"unknown subcommand or wrong number of arguments for '{c.Args.ToStringAt(1)}'. Try {c.Args.ToStringAt(0).ToUpperInvariant()} HELP.");

    [Command("client|unpause")]
    static void Unpause(Client c)
    {
        c.Server.Pause.UnpauseClients();
        c.Reply.Ok();
    }

    [Command("client|reply")]
    static void ReplyMode(Client c)
    {
        if (c.Args.Is(2, "on"))
        {
            c.Flags &= ~(ClientFlags.ReplySkip | ClientFlags.ReplyOff);
            c.Reply.Enabled = true;
            c.Reply.Ok();
        }
        else if (c.Args.Is(2, "off"))
        {
            c.Flags |= ClientFlags.ReplyOff;
            c.Reply.Enabled = false;
        }
        else if (c.Args.Is(2, "skip"))
        {
            if (!c.HasFlag(ClientFlags.ReplyOff)) c.Flags |= ClientFlags.ReplySkipNext;
        }
        else c.Reply.Error(Errors.Syntax);
    }

    [Command("client|no-evict")]
    static void NoEvict(Client c)
    {
        if (c.Args.Is(2, "on")) c.Flags |= ClientFlags.NoEvict;
        else if (c.Args.Is(2, "off")) c.Flags &= ~ClientFlags.NoEvict;
        else
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        c.Reply.Ok();
    }

    [Command("client|unblock")]
    static void Unblock(Client c)
    {
        if (c.Args.Count > 4)
        {
            SubcommandSyntaxError(c);
            return;
        }
        bool asError = false;
        if (c.Args.Count == 4)
        {
            if (c.Args.Is(3, "error")) asError = true;
            else if (!c.Args.Is(3, "timeout"))
            {
                c.Reply.Error("CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
                return;
            }
        }
        if (!Arguments.TryGetLong(c, 2, out long id)) return;
        bool unblocked = c.Server.Clients.TryGet(id, out var target) && target.HasFlag(ClientFlags.Blocked)
            && c.Server.Blocking.Unblock(target, asError);
        c.Reply.Integer(unblocked ? 1 : 0);
    }

    static readonly string[] HelpLines =
    [
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CACHING (YES|NO)",
        "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
        "GETREDIR",
        "    Return the client ID we are redirecting to when tracking is enabled.",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Return clients of specified type.",
        "UNPAUSE",
        "    Stop the current client pause, resuming traffic.",
        "PAUSE <timeout> [WRITE|ALL]",
        "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
        "         [OPTIN] [OPTOUT] [NOLOOP]",
        "    Control server assisted client side caching.",
        "TRACKINGINFO",
        "    Report tracking status for the current connection.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        "HELP",
        "    Prints this help.",
    ];

    [Command("client|help")]
    static void Help(Client c)
    {
        c.Reply.ArrayLen(HelpLines.Length);
        foreach (var line in HelpLines) c.Reply.Status(line);
    }

    /// <summary>catClientInfoString: one CLIENT LIST line, fields in Redis 7.0.15's order.</summary>
    public static string InfoString(Client c)
    {
        long now = c.Server.NowMs;
        int multi = c.HasFlag(ClientFlags.Multi) ? Transactions.Multi.QueuedCount(c) : -1;
        var (sub, psub, ssub) = PubSub.PubSub.SubscriptionCounts(c);
        var eviction = c.Server.ClientEviction;
        long argvMem = eviction.ArgvLengthSum(c);
        long multiMem = Transactions.Multi.QueuedMemory(c);
        long totMem = eviction.MemoryUsage(c, out long omem);
        // sdslen(querybuf): the running client's batch so far; another's bytes not yet parsed into arguments.
        int qbuf = ReferenceEquals(c.Server.Dispatcher.CurrentClient, c) ? c.QueryBufferUsed : c.QueryBufferLength;
        string events = c.WriteHandlerInstalled ? "rw" : "r";
        var sb = new StringBuilder(256);
        var ci = CultureInfo.InvariantCulture;
        sb.Append(ci, $"id={c.Id} addr={c.RemoteAddress} laddr={c.LocalAddress} fd={Fd(c)} name={c.Name} ");
        sb.Append(ci, $"age={(now - c.CreatedMs) / 1000} idle={(now - c.LastInteractionMs) / 1000} flags={FlagsString(c)} db={c.Db.Id} ");
        sb.Append(ci, $"sub={sub} psub={psub} ssub={ssub} multi={multi} qbuf={qbuf} qbuf-free={c.QueryBufferCapacity - c.QueryBufferUsed} ");
        sb.Append(ci, $"argv-mem={argvMem} multi-mem={multiMem} rbs={c.Output.FixedBufferSize} rbp={c.Output.FixedBufferPeak} ");
        sb.Append(ci, $"obl={c.Output.BufferBytes} oll={c.Output.ChunkCount} omem={omem} tot-mem={totMem} events={events} ");
        sb.Append(ci, $"cmd={c.LastCmd?.FullName ?? "NULL"} user={c.User?.Name ?? "(superuser)"} redir={Tracking.Tracking.RedirectOf(c)} resp={c.Reply.Protocol}");
        return sb.ToString();
    }

    static long Fd(Client c) => c.Socket == null ? -1 : (long)c.Socket.SafeHandle.DangerousGetHandle();

    /// <summary>The flags= letters in catClientInfoString's order; "N" when none applies.</summary>
    static string FlagsString(Client c)
    {
        var sb = new StringBuilder();
        if (c.HasFlag(ClientFlags.Monitor)) sb.Append('O');
        else if (c.HasFlag(ClientFlags.Replica)) sb.Append('S');
        if (c.HasFlag(ClientFlags.Master)) sb.Append('M');
        if (c.HasFlag(ClientFlags.PubSub)) sb.Append('P');
        if (c.HasFlag(ClientFlags.Multi)) sb.Append('x');
        if (c.HasFlag(ClientFlags.Blocked) || c.Server.Pause.IsPostponed(c)) sb.Append('b');
        if (c.HasFlag(ClientFlags.Tracking)) sb.Append('t');
        sb.Append(Tracking.Tracking.FlagLetters(c));
        if (c.HasFlag(ClientFlags.DirtyCas)) sb.Append('d');
        if (c.HasFlag(ClientFlags.CloseAfterReply)) sb.Append('c');
        if (c.HasFlag(ClientFlags.Unblocked)) sb.Append('u');
        if (c.IsUnixSocket) sb.Append('U');
        if (c.HasFlag(ClientFlags.CloseAsap)) sb.Append('A');
        if (c.HasFlag(ClientFlags.NoEvict)) sb.Append('e');
        if (sb.Length == 0) sb.Append('N');
        return sb.ToString();
    }
}
