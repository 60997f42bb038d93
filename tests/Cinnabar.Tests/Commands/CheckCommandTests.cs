// processCommand's checks are one function (Dispatcher.CheckCommand) that a script's
// redis.call will reuse: a client and a script get Redis's errors for the checks that apply to
// each (noscript only for scripts; protected commands, auth, MULTI and loading only for clients;
// OOM and the read-only replica for both), and a script's check never evicts.
using Cinnabar.Commands;
using Cinnabar.Networking;
using Cinnabar.Tests.Performance;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Commands;

public class CheckCommandTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    string? Check(string command, CommandCaller caller, Action<Client>? prepare = null) =>
        HotPathAllocationTests.OnLoop(fx.Server, () =>
        {
            var c = fx.Server.Clients.CreateDetachedClient();
            prepare?.Invoke(c);
            var cmd = fx.Server.Commands.LookupAny(command)!;
            return fx.Server.Dispatcher.CheckCommand(c, cmd, caller);
        });

    [Fact]
    public void NoscriptCommandsAreRefusedToScriptsOnly()
    {
        Assert.Equal("This Redis command is not allowed from script", Check("watch", CommandCaller.Script));
        Assert.Null(Check("watch", CommandCaller.Client));
        Assert.Null(Check("set", CommandCaller.Script));
    }

    [Fact]
    public void MultiRestrictionsApplyToClientsOnly()
    {
        static void InMulti(Client c) => c.Flags |= ClientFlags.Multi;
        Assert.Equal("Command not allowed inside a transaction", Check("sync", CommandCaller.Client, InMulti));
        Assert.Null(Check("sync", CommandCaller.Client));
    }

    [Fact]
    public void OutOfMemoryRefusesDenyoomCommandsForBothWithoutEvictingForAScript()
    {
        using var c = fx.Connect();
        c.Call("SET", "oom:key", "v");
        c.Call("CONFIG", "SET", "maxmemory-policy", "noeviction");
        c.Call("CONFIG", "SET", "maxmemory", "1");
        try
        {
            Assert.Equal("-OOM command not allowed when used memory > 'maxmemory'.", Check("set", CommandCaller.Script));
            Assert.Equal("-OOM command not allowed when used memory > 'maxmemory'.", Check("set", CommandCaller.Client));
            Assert.Null(Check("get", CommandCaller.Script));
            // Under an evicting policy a client's check evicts; a script's does not.
            c.Call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru");
            Check("get", CommandCaller.Script);
            Assert.True(HotPathAllocationTests.OnLoop(fx.Server, () => fx.Server.Databases[0].Exists("oom:key"u8)));
            Check("get", CommandCaller.Client);
            Assert.False(HotPathAllocationTests.OnLoop(fx.Server, () => fx.Server.Databases[0].Exists("oom:key"u8)));
        }
        finally
        {
            c.Call("CONFIG", "SET", "maxmemory", "0");
            c.Call("CONFIG", "SET", "maxmemory-policy", "noeviction");
        }
    }
}
