// A replica facing a primary that misbehaves: a fake primary on a loopback socket answers the
// handshake and then sends a corrupt RDB, an abort, or garbage. The replica must log Redis's
// line, keep no half-loaded dataset, stay up and try again; and a primary without PSYNC gets
// SYNC. Each fake primary is a TcpListener the test drives request by request.
using System.Net;
using System.Net.Sockets;
using System.Text;
using Cinnabar.Tests.Support;
using static Cinnabar.Tests.Support.ReplicationWait;

namespace Cinnabar.Tests.Replication;

public class ReplicaHandshakeFailureTests
{
    sealed class FakePrimary : IDisposable
    {
        readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public FakePrimary() => _listener.Start();

        /// <summary>Accepts the replica and answers its handshake lines; returns the socket after the PSYNC (or SYNC) line.</summary>
        public (Socket Socket, string SyncLine) AcceptThroughHandshake(Func<string, string?> answer)
        {
            var accept = _listener.AcceptSocketAsync();
            if (!accept.Wait(TimeSpan.FromSeconds(15))) throw new Xunit.Sdk.XunitException("the replica did not connect");
            var s = accept.Result;
            s.ReceiveTimeout = 10_000;
            while (true)
            {
                string line = ReadCommand(s);
                string? reply = answer(line);
                if (reply == null) return (s, line);
                s.Send(Encoding.ASCII.GetBytes(reply));
            }
        }

        /// <summary>One request as a line: inline (PING), or multibulk (the rest of the handshake) joined by spaces.</summary>
        static string ReadCommand(Socket s)
        {
            string line = ReadLine(s);
            if (!line.StartsWith('*')) return line;
            int n = int.Parse(line[1..]);
            var args = new string[n];
            for (int i = 0; i < n; i++)
            {
                ReadLine(s); // $len
                args[i] = ReadLine(s);
            }
            return string.Join(' ', args);
        }

        static string ReadLine(Socket s)
        {
            var sb = new StringBuilder();
            var one = new byte[1];
            while (s.Receive(one) == 1 && one[0] != '\n') sb.Append((char)one[0]);
            return sb.ToString().TrimEnd('\r');
        }

        public void Dispose() => _listener.Stop();
    }

    static string? Handshake(string line) =>
        line.StartsWith("PING") ? "+PONG\r\n" : line.StartsWith("REPLCONF") ? "+OK\r\n" : null;

    [Fact]
    public void A_corrupt_RDB_leaves_an_empty_dataset_and_the_replica_retries()
    {
        using var primary = new FakePrimary();
        using var fx = new ServerFixture();
        using var r = fx.Connect();
        r.Call("SET", "before", "1");
        r.Call("REPLICAOF", "127.0.0.1", primary.Port.ToString());
        var (s, psync) = primary.AcceptThroughHandshake(Handshake);
        Assert.Equal("PSYNC " + Info(r, "master_replid") + " 1", psync); // our own history, after REPLICAOF from a primary
        byte[] rdb = [.. "REDIS0010"u8, 0xFA, 9, .. "redis-ver"u8, 6, .. "7.0.15"u8, 0, 3, .. "key"u8, 0xFF, 0xFF, 0xFF, .. " garbage"u8];
        s.Send(Encoding.ASCII.GetBytes($"+FULLRESYNC {new string('a', 40)} 0\r\n${rdb.Length}\r\n"));
        s.Send(rdb);
        // The load fails: nothing half-loaded is served, the old data was flushed as Redis does.
        WaitFor(() => r.CallS("DBSIZE") == ":0", "the failed load to leave an empty dataset");
        Assert.Equal("down", Info(r, "master_link_status"));
        Assert.Equal("+PONG", r.CallS("PING"));
        s.Dispose();
        // cron reconnects: the fake primary sees a second handshake.
        var (again, _) = primary.AcceptThroughHandshake(Handshake);
        again.Dispose();
        r.Call("REPLICAOF", "NO", "ONE");
    }

    [Fact]
    public void An_aborted_transfer_and_a_bad_first_byte_cancel_the_sync()
    {
        using var primary = new FakePrimary();
        using var fx = new ServerFixture();
        using var r = fx.Connect();
        r.Call("REPLICAOF", "127.0.0.1", primary.Port.ToString());
        var (s, _) = primary.AcceptThroughHandshake(Handshake);
        s.Send(Encoding.ASCII.GetBytes($"+FULLRESYNC {new string('b', 40)} 0\r\n\n\n-ERR out of disk\r\n"));
        // The replica closes that link and comes back.
        var (s2, _) = primary.AcceptThroughHandshake(Handshake);
        s.Dispose();
        s2.Send(Encoding.ASCII.GetBytes($"+FULLRESYNC {new string('b', 40)} 0\r\nHELLO\r\n"));
        var (s3, _) = primary.AcceptThroughHandshake(Handshake);
        s2.Dispose();
        s3.Dispose();
        Assert.Equal("+PONG", r.CallS("PING"));
        Assert.Equal("down", Info(r, "master_link_status"));
        r.Call("REPLICAOF", "NO", "ONE");
    }

    [Fact]
    public void A_primary_without_PSYNC_gets_SYNC_and_its_RDB_loads()
    {
        using var primary = new FakePrimary();
        using var source = new ServerFixture();
        using var src = source.Connect();
        src.Call("SET", "from-old-primary", "yes");
        src.Call("SAVE");
        var rdb = File.ReadAllBytes(Path.Combine(source.Dir, "dump.rdb"));
        using var fx = new ServerFixture();
        using var r = fx.Connect();
        r.Call("REPLICAOF", "127.0.0.1", primary.Port.ToString());
        var (s, psync) = primary.AcceptThroughHandshake(line => line.StartsWith("PSYNC") ? "-ERR unknown command 'PSYNC'\r\n" : Handshake(line));
        Assert.Equal("SYNC", psync);
        s.Send(Encoding.ASCII.GetBytes($"${rdb.Length}\r\n"));
        s.Send(rdb);
        WaitFor(() => Info(r, "master_link_status") == "up", "the SYNC transfer to load");
        Assert.Equal("\"yes\"", r.CallS("GET", "from-old-primary"));
        s.Dispose();
        r.Call("REPLICAOF", "NO", "ONE");
    }
}
