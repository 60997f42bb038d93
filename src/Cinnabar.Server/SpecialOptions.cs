// The first arguments redis-server answers without starting (main() in server.c): -v/--version
// prints the version line (Cinnabar's version, then the Redis version it matches, in
// redis-server's key=value form), -h/--help the usage, and --test-memory / --check-system,
// which test redis-server's own allocator and kernel settings, are refused as unsupported.
using Cinnabar;

namespace Cinnabar.Server;

static class SpecialOptions
{
    /// <summary>The exit code when args[0] is one of them (the text already written), else null.</summary>
    public static int? Handle(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0) return null;
        switch (args[0])
        {
            case "-v" or "--version":
                stdout.WriteLine(VersionLine());
                return 0;
            case "-h" or "--help":
                stderr.Write(Usage);
                return 1;
            case "--test-memory" or "--check-system":
                stderr.WriteLine($"{args[0]} is not supported by cinnabar-server: it checks redis-server's memory allocator and fork-related kernel settings, which Cinnabar does not use.");
                return 1;
            default:
                return null;
        }
    }

    /// <summary>"Cinnabar server v=0.1.0 redis=7.0.15 sha=...:0 bits=64", as redis-server's "Redis server v=7.0.15 sha=...".</summary>
    public static string VersionLine()
    {
        string sha = typeof(CinnabarServer).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            is [System.Reflection.AssemblyInformationalVersionAttribute a] && a.InformationalVersion.IndexOf('+') is int plus and >= 0
            ? a.InformationalVersion[(plus + 1)..] : "";
        sha = sha.Length >= 8 ? sha[..8] : "00000000";
        return $"Cinnabar server v={CinnabarServer.CinnabarVersion} redis={CinnabarServer.RedisVersion} sha={sha}:0 bits={IntPtr.Size * 8}";
    }

    const string Usage = """
        Usage: cinnabar-server [/path/to/redis.conf] [options] [-]
               cinnabar-server - (read config from stdin)
               cinnabar-server -v or --version
               cinnabar-server -h or --help

        Examples:
               cinnabar-server (run the server with default conf)
               echo 'maxmemory 128mb' | cinnabar-server -
               cinnabar-server /etc/redis/6379.conf
               cinnabar-server --port 7777
               cinnabar-server --port 7777 --replicaof 127.0.0.1 8888
               cinnabar-server /etc/myredis.conf --loglevel verbose -
               cinnabar-server /etc/myredis.conf --loglevel verbose

        Sentinel mode:
               cinnabar-server /etc/sentinel.conf --sentinel

        """;
}
