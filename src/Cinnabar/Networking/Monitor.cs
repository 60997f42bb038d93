// MONITOR (Redis's monitorCommand and replicationFeedMonitors): every command a client runs is
// sent to monitoring clients as a status line "+<unix>.<usec> [<db> <addr>] "arg" ...", with
// arguments escaped as sdscatrepr does. call() feeds it after each command, so like Redis 7.0
// only commands that reached call() are shown, never admin or skip_monitor ones.
using System.Text;
using Cinnabar.Commands;

namespace Cinnabar.Networking;

public sealed class Monitor
{
    readonly CinnabarServer _server;
    readonly List<Client> _monitors = new();

    public Monitor(CinnabarServer server) => _server = server;

    /// <summary>replicationFeedMonitors: after call(), unless no one monitors or the command is admin/skip_monitor.</summary>
    public void AfterCall(Client c, CommandDef cmd)
    {
        if (_monitors.Count == 0) return;
        if (cmd.Has(CommandFlags.SkipMonitor | CommandFlags.Admin) || (cmd.Parent?.Has(CommandFlags.SkipMonitor | CommandFlags.Admin) ?? false)) return;
        Feed(FormatLine(DateTimeOffset.UtcNow, c.Db.Id, c.HasFlag(ClientFlags.Script) ? null : c.RemoteAddress, c.Args));
    }

    /// <summary>
    /// EVAL and FCALL are skip_monitor, so call() does not show them after they ran: like Redis
    /// 7.0 they are shown as they start, ahead of the commands the script runs ("[db lua]").
    /// </summary>
    public void BeforeScript(Client c)
    {
        if (_monitors.Count == 0) return;
        Feed(FormatLine(DateTimeOffset.UtcNow, c.Db.Id, c.HasFlag(ClientFlags.Script) ? null : c.RemoteAddress, c.Args));
    }

    void Feed(byte[] line)
    {
        foreach (var m in _monitors)
        {
            m.Reply.Protocol_(line);
            _server.Clients.QueueReplyWrite(m);
            _server.Clients.CheckOutputBufferLimitsAsync(m);
        }
    }

    /// <summary>freeClient and RESET: a monitor stops monitoring.</summary>
    public void Remove(Client c)
    {
        if (!c.HasFlag(ClientFlags.Monitor)) return;
        _monitors.Remove(c);
        c.Flags &= ~ClientFlags.Monitor;
    }

    [Command("monitor")]
    static void MonitorCommand(Client c)
    {
        // A client that expects a reply per command (inside MULTI or a script) cannot monitor.
        if (c.HasFlag(ClientFlags.Multi | ClientFlags.Script))
        {
            c.Reply.Error("MONITOR isn't allowed for DENY BLOCKING client");
            return;
        }
        if (c.HasFlag(ClientFlags.Monitor | ClientFlags.Replica)) return; // already a monitor or replica: ignored
        c.Flags |= ClientFlags.Monitor;
        c.Server.Monitors._monitors.Add(c);
        c.Reply.Ok();
    }

    /// <summary>The status line a monitor receives; a null address is a script ("lua").</summary>
    public static byte[] FormatLine(DateTimeOffset time, int db, string? address, Protocol.CommandArgs args)
    {
        long us = time.ToUnixTimeMilliseconds() * 1000 + time.Ticks / 10 % 1000;
        var sb = new StringBuilder(64);
        sb.Append('+').Append(us / 1_000_000).Append('.').Append((us % 1_000_000).ToString("D6", System.Globalization.CultureInfo.InvariantCulture));
        sb.Append(" [").Append(db).Append(' ').Append(address ?? "lua").Append("] ");
        var bytes = new List<byte>(Encoding.ASCII.GetBytes(sb.ToString()));
        for (int i = 0; i < args.Count; i++)
        {
            if (i > 0) bytes.Add((byte)' ');
            AppendRepr(bytes, Server.SlowLog.IsRedacted(args, i) ? "(redacted)"u8 : args[i]);
        }
        bytes.Add((byte)'\r');
        bytes.Add((byte)'\n');
        return bytes.ToArray();
    }

    /// <summary>sdscatrepr: a quoted string with C escapes and \xHH for non-printable bytes.</summary>
    public static void AppendRepr(List<byte> o, ReadOnlySpan<byte> s)
    {
        o.Add((byte)'"');
        foreach (byte b in s)
        {
            switch (b)
            {
                case (byte)'\\': o.Add((byte)'\\'); o.Add((byte)'\\'); break;
                case (byte)'"': o.Add((byte)'\\'); o.Add((byte)'"'); break;
                case (byte)'\n': o.Add((byte)'\\'); o.Add((byte)'n'); break;
                case (byte)'\r': o.Add((byte)'\\'); o.Add((byte)'r'); break;
                case (byte)'\t': o.Add((byte)'\\'); o.Add((byte)'t'); break;
                case (byte)'\a': o.Add((byte)'\\'); o.Add((byte)'a'); break;
                case (byte)'\b': o.Add((byte)'\\'); o.Add((byte)'b'); break;
                default:
                    if (b >= 0x20 && b < 0x7f) o.Add(b);
                    else
                    {
                        o.Add((byte)'\\');
                        o.Add((byte)'x');
                        o.Add((byte)"0123456789abcdef"[b >> 4]);
                        o.Add((byte)"0123456789abcdef"[b & 15]);
                    }
                    break;
            }
        }
        o.Add((byte)'"');
    }
}
