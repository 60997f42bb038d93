// redis.conf and command-line parsing (config.c loadServerConfig/loadServerConfigFromString):
// `cinnabar-server [config-file] [--name value ...] [-]` (- reads stdin), one directive per
// line, arguments split with sdssplitargs quoting, `include` of other files, and memory units
// (100mb, 1gb) handled by the typed entries. Errors are reported in Redis's "FATAL CONFIG FILE
// ERROR" format.
using System.Text;
using Cinnabar.Protocol;

namespace Cinnabar.Server;

public sealed class ConfigException(string message) : Exception(message);

public static class ConfigLoader
{
    /// <summary>
    /// redis-server's main() over its arguments: a first argument not starting with "-" is the
    /// config file; "-" as the first or the last argument reads more configuration from stdin
    /// (after the file); every "--name" starts a directive and the arguments after it are its
    /// values, quoted, appended last so they override both. A "--name" with no value yet takes
    /// the next argument as its value even if that starts with "--", except after --save, which
    /// then means save "". stdin is Console.In unless given.
    /// </summary>
    public static void LoadFromCommandLine(ServerConfig config, string[] args, TextReader? stdin = null)
    {
        int j = 0;
        string? file = null;
        if (args.Length > 0 && !args[0].StartsWith('-'))
        {
            file = args[0];
            config.ConfigFile = Path.GetFullPath(file);
            j = 1;
        }
        var options = new StringBuilder();
        bool fromStdin = false, lastHasValue = true;
        for (; j < args.Length; j++)
        {
            string a = args[j];
            if (a == "-" && (j == 0 || j == args.Length - 1)) fromStdin = true;
            else if (lastHasValue && a.StartsWith("--", StringComparison.Ordinal))
            {
                if (options.Length > 0) options.Append('\n');
                options.Append(a, 2, a.Length - 2).Append(' ');
                var parts = new List<byte[]>();
                lastHasValue = !(InlineSplitter.Split(Encoding.UTF8.GetBytes(a), parts) && parts.Count == 1); // "--port 6380" as one argument has its value
                if (!lastHasValue && a.Equals("--save", StringComparison.OrdinalIgnoreCase)
                    && (j == args.Length - 1 || args[j + 1].StartsWith("--", StringComparison.Ordinal)))
                {
                    // `--save --port 7000` and a trailing `--save` mean save "" (pre-7.0.1 behaviour kept by Redis).
                    options.Append("\"\"");
                    lastHasValue = true;
                }
            }
            else
            {
                options.Append(Quote(a)).Append(' ');
                lastHasValue = true;
            }
        }
        var text = new StringBuilder();
        if (file != null) text.Append(ReadFile(file));
        if (fromStdin)
        {
            new Logger(config) { Role = 'C' }.Warning("Reading config from stdin");
            text.Append((stdin ?? Console.In).ReadToEnd());
        }
        text.Append('\n').Append(options);
        LoadFromString(config, text.ToString(), baseDir: file != null ? Path.GetDirectoryName(config.ConfigFile)! : Directory.GetCurrentDirectory());
    }

    static string ReadFile(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException e)
        {
            throw new ConfigException($"Fatal error, can't open config file '{path}': {e.Message}");
        }
        catch (UnauthorizedAccessException e)
        {
            throw new ConfigException($"Fatal error, can't open config file '{path}': {e.Message}");
        }
    }

    static string Quote(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (char ch in s)
        {
            if (ch is '"' or '\\') sb.Append('\\').Append(ch);
            else if (ch == '\n') sb.Append("\\n");
            else if (ch == '\r') sb.Append("\\r");
            else sb.Append(ch);
        }
        return sb.Append('"').ToString();
    }

    public static void LoadFromString(ServerConfig config, string text, string baseDir) =>
        LoadFromString(config, text, baseDir, new LoadState());

    /// <summary>What one load remembers across its lines and included files.</summary>
    sealed class LoadState
    {
        public bool SaveLoaded;
    }

    static void LoadFromString(ServerConfig config, string text, string baseDir, LoadState state)
    {
        var lines = text.Split('\n');
        for (int ln = 0; ln < lines.Length; ln++)
        {
            string line = lines[ln].Trim(' ', '\t', '\r', '\n');
            if (line.Length == 0 || line[0] == '#') continue;
            var parts = new List<byte[]>();
            if (!InlineSplitter.Split(Encoding.UTF8.GetBytes(line), parts))
                throw Fatal(ln, line, "Unbalanced quotes in configuration line");
            if (parts.Count == 0) continue;
            string name = Encoding.UTF8.GetString(parts[0]).ToLowerInvariant();
            var values = parts.Skip(1).Select(p => Encoding.UTF8.GetString(p)).ToList();
            if (name == "include" && values.Count == 1)
            {
                string path = Path.IsPathRooted(values[0]) ? values[0] : Path.Combine(baseDir, values[0]);
                LoadFromString(config, ReadFile(path), Path.GetDirectoryName(Path.GetFullPath(path))!, state);
                continue;
            }
            if (name == "rename-command" && values.Count == 2)
            {
                config.RenameCommands.Add(new RenameCommandDirective(values[0], values[1], ln + 1, line));
                continue;
            }
            if (name == "user" && values.Count >= 1)
            {
                // ACLAppendUserForLoading: checked now, loaded by the ACL at start-up.
                var argv = parts.Select(p => Encoding.Latin1.GetString(p)).ToArray();
                argv[0] = "user";
                if (config.UserDeclarations.Any(u => u[1] == argv[1]))
                    throw Fatal(ln, line, $"Error in user declaration '{argv[1]}': {Security.Acl.RuleErrorText(Security.AclRuleError.DuplicateUser)}");
                if (Security.Acl.ValidateUserDeclaration(argv, out int errorIndex) is { } userError)
                    throw Fatal(ln, line, $"Error in user declaration '{argv[errorIndex]}': {userError}");
                config.UserDeclarations.Add(argv);
                continue;
            }
            if (name == "sentinel")
            {
                // A bare "sentinel" is the --sentinel switch (handled before the file is read).
                if (values.Count == 0) continue;
                if (!config.SentinelMode) throw Fatal(ln, line, "sentinel directive while not in sentinel mode");
                config.SentinelDirectives.Add(new SentinelDirective([.. values], ln + 1, line));
                continue;
            }
            var entry = config.Find(name);
            if (entry == null)
            {
                if (IgnoredDirective(name)) continue;
                throw Fatal(ln, line, "Bad directive or wrong number of arguments");
            }
            // replicaof/slaveof takes exactly two arguments, or one that splits into two
            // (--replicaof "127.0.0.1 6379" on the command line), as Redis's loader does.
            if (entry.Name == "replicaof" && values.Count != 2 && (values.Count != 1 || values[0].Split(' ', StringSplitOptions.RemoveEmptyEntries).Length != 2))
                throw Fatal(ln, line, "wrong number of arguments");
            if (values.Count == 0 && entry.Kind != ConfigKind.String && name != "save" && !entry.EnumMulti)
                throw Fatal(ln, line, "wrong number of arguments");
            // MULTI_ARG_CONFIG: the special ones, bind, save and the flag sets of shutdown-on-sig*
            // ("shutdown-on-sigterm nosave now", as CONFIG REWRITE writes it).
            string value = entry.Kind is ConfigKind.Special || entry.EnumMulti || name is "bind" or "save"
                ? string.Join(' ', values)
                : values.Count == 1 ? values[0] : values.Count == 0 ? "" : throw Fatal(ln, line, "wrong number of arguments");
            // setConfigSaveOption while reading a file: the first save line replaces the defaults,
            // later ones add their points, a bare "save" adds none and save "" removes them all.
            if (name == "save")
            {
                bool reset = values is [""];
                if (state.SaveLoaded && !reset) value = (config.GetString("save") + " " + value).Trim();
                state.SaveLoaded = true;
            }
            var err = config.Set(name, value, startup: true);
            if (err != null) throw Fatal(ln, line, err);
        }
    }

    /// <summary>Directives accepted for compatibility whose mechanism is not configurable here.</summary>
    static bool IgnoredDirective(string name) => name is "loadmodule";

    static ConfigException Fatal(int line, string text, string error) => FatalAt(line + 1, text, error);

    /// <summary>Redis's "FATAL CONFIG FILE ERROR" text for a line (1-based), also used for the queued sentinel lines.</summary>
    public static ConfigException FatalAt(int lineNumber, string text, string error) => new(
        $"\n*** FATAL CONFIG FILE ERROR (Redis {CinnabarServer.RedisVersion}) ***\nReading the configuration file, at line {lineNumber}\n>>> '{text}'\n{error}");
}
