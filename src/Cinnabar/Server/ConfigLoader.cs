// redis.conf and command-line parsing (config.c loadServerConfig/loadServerConfigFromString):
// `cinnabar-server [config-file] [--name value ...]`, one directive per line, arguments split
// with sdssplitargs quoting, `include` of other files, and memory units (100mb, 1gb) handled
// by the typed entries. Errors are reported in Redis's "FATAL CONFIG FILE ERROR" format.
using System.Text;
using Cinnabar.Protocol;

namespace Cinnabar.Server;

public sealed class ConfigException(string message) : Exception(message);

public static class ConfigLoader
{
    public static void LoadFromCommandLine(ServerConfig config, string[] args)
    {
        int i = 0;
        var text = new StringBuilder();
        if (args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal))
        {
            config.ConfigFile = args[0] == "-" ? null : Path.GetFullPath(args[0]);
            text.Append(args[0] == "-" ? Console.In.ReadToEnd() : ReadFile(args[0])).Append('\n');
            i = 1;
        }
        bool first = true;
        for (; i < args.Length; i++)
        {
            var a = args[i];
            if (a.StartsWith("--", StringComparison.Ordinal) && a.Length > 2)
            {
                if (!first) text.Append('\n');
                text.Append(a[2..]).Append(' ');
                first = false;
            }
            else
            {
                text.Append(Quote(a)).Append(' ');
            }
        }
        LoadFromString(config, text.ToString(), baseDir: config.ConfigFile != null ? Path.GetDirectoryName(config.ConfigFile)! : Directory.GetCurrentDirectory());
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
            if (values.Count == 0 && entry.Kind != ConfigKind.String && name != "save")
                throw Fatal(ln, line, "wrong number of arguments");
            string value = entry.Kind is ConfigKind.Special || name is "bind" or "save"
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
    static bool IgnoredDirective(string name) => name is "rename-command" or "loadmodule";

    static ConfigException Fatal(int line, string text, string error) => FatalAt(line + 1, text, error);

    /// <summary>Redis's "FATAL CONFIG FILE ERROR" text for a line (1-based), also used for the queued sentinel lines.</summary>
    public static ConfigException FatalAt(int lineNumber, string text, string error) => new(
        $"\n*** FATAL CONFIG FILE ERROR (Redis {CinnabarServer.RedisVersion}) ***\nReading the configuration file, at line {lineNumber}\n>>> '{text}'\n{error}");
}
