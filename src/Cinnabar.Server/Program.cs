// cinnabar-server: the executable. Parses `cinnabar-server [/path/to/redis.conf] [--name value ...]`
// as redis-server does, prints the banner and serves until SHUTDOWN, SIGINT or SIGTERM.
using System.Runtime.InteropServices;
using Cinnabar;
using Cinnabar.Server;

var config = new ServerConfig();
try
{
    ConfigLoader.LoadFromCommandLine(config, args);
}
catch (ConfigException e)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}

var server = new CinnabarServer(config);
server.BeforeLoadingData = () => Banner.PrintLogo(server);
try
{
    server.Start();
}
catch (InvalidOperationException e)
{
    if (e.Message.Length > 0) server.Log.Warning(e.Message); // an AOF failure's last line is Redis's own
    return 1;
}
Banner.PrintReady(server);

using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx =>
{
    ctx.Cancel = true;
    server.RequestShutdown("SIGINT");
});
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
{
    ctx.Cancel = true;
    server.RequestShutdown("SIGTERM");
});
server.WaitForShutdown();
return 0;
